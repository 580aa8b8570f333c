from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("elevators/", views.elevator_list, name="elevator_list"),
    path("elevators/<int:pk>/", views.elevator_detail, name="elevator_detail"),
]
