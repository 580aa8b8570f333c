from django.urls import path

from . import views

app_name = "rating"
urlpatterns = [
    path("", views.home, name="home"),
    path("run/", views.run, name="run"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/do/<str:action>/", views.action, name="action"),
    path("objections/<int:pk>/file/", views.objection_file, name="objection_file"),
    path("sheets/", views.sheets, name="sheets"),
    path("credit/", views.credit, name="credit"),
    path("credit/<int:pk>/do/<str:action>/", views.credit_action, name="credit_action"),
]
