from django.urls import path

from . import views

app_name = "maintenance"
urlpatterns = [
    path("", views.home, name="home"),
    path("today/", views.today, name="today"),
    path("scan/<str:code>/", views.scan, name="scan"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/do/<str:action>/", views.visit_action, name="action"),
    path("countersign/", views.countersign_list, name="countersign_list"),
    path("overdue/", views.overdue, name="overdue"),
    path("flagged/", views.flagged, name="flagged"),
]
