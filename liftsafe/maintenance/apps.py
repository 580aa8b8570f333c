from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "liftsafe.maintenance"
    label = "maintenance"
    verbose_name = "maintenance"

    def ready(self):
        from liftsafe.core import flows

        from .services import visit_open

        # monitoring suppresses alarms while a visit is checked in and not yet checked out
        flows.register("monitoring.maintenance_visit_open", visit_open)
