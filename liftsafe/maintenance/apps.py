from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceConfig(AppConfig):
    name = "liftsafe.maintenance"
    label = "maintenance"
    verbose_name = _("Maintenance records")

    def ready(self):
        from liftsafe.core import flows

        from .services import visit_open

        # monitoring suppresses alarms while a visit is checked in and not yet checked out
        flows.register("monitoring.maintenance_visit_open", visit_open)

        from liftsafe.core import panels as file_panels

        from . import panels

        # the elevator file's section of maintenance visits and their evidence flags
        file_panels.register(file_panels.Panel(key="maintenance", title=_("Maintenance visits"), order=50, template="maintenance/panel.html",
                                               context=panels.maintenance_context, export=panels.maintenance_export))
