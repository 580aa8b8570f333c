from django.apps import AppConfig


class HazardsConfig(AppConfig):
    name = "liftsafe.hazards"
    label = "hazards"

    def ready(self):
        from liftsafe.registry import holds

        from .services import stop_use_holds

        # an active stop-use order holds the elevator out of service (every status change consults it)
        holds.register("hazards.stop_use", stop_use_holds)
