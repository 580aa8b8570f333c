from django.urls import path

from . import views

app_name = "command"
urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("wall/", views.wall_page, name="wall"),
]
