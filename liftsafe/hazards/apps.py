from django.apps import AppConfig


class HazardsConfig(AppConfig):
    name = "liftsafe.hazards"
    label = "hazards"
