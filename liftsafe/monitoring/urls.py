"""Monitoring pages."""
from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("elevators/<int:pk>/", views.elevator_monitoring, name="elevator"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm_acknowledge"),
]
