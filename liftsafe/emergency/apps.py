from django.apps import AppConfig


class EmergencyConfig(AppConfig):
    name = "liftsafe.emergency"
    label = "emergency"
