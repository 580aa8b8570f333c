from django.urls import path

from . import views

app_name = "publicity"
urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("new/", views.article_new, name="article_new"),
    path("calendar/", views.calendar, name="calendar"),
    path("<int:pk>/", views.article_detail, name="article_detail"),
    path("<int:pk>/edit/", views.article_edit, name="article_edit"),
    path("<int:pk>/image/", views.article_image, name="article_image"),
    path("<int:pk>/action/<str:action>/", views.article_action, name="article_action"),
]
