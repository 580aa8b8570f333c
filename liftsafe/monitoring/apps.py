from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "liftsafe.monitoring"
    label = "monitoring"
