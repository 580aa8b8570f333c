from django.urls import path

from . import views

app_name = "publicity_public"
urlpatterns = [
    path("", views.public_list, name="list"),
    path("<int:pk>/", views.public_article, name="article"),
    path("<int:pk>/image", views.public_image, name="image"),
]
