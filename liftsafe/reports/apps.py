from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "liftsafe.reports"
    label = "reports"
