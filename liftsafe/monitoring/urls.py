"""Monitoring pages."""
from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("devices/", views.device_list, name="devices"),
    path("elevators/<int:pk>/", views.elevator_monitoring, name="elevator"),
    path("elevators/<int:pk>/devices/bind/", views.device_bind, name="device_bind"),
    path("devices/<int:pk>/unbind/", views.device_unbind, name="device_unbind"),
    path("alarms/<int:pk>/acknowledge/", views.alarm_acknowledge, name="alarm_acknowledge"),
    path("alarms/<int:pk>/clear/", views.alarm_clear, name="alarm_clear"),
]
