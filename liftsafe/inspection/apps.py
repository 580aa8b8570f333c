from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionConfig(AppConfig):
    name = "liftsafe.inspection"
    label = "inspection"
    verbose_name = _("Inspection and self-testing")

    def ready(self):
        from liftsafe.core import flows
        from liftsafe.registry import holds

        from .services import validity_holds

        # an expired or failed inspection holds the elevator out of service (every status change consults it)
        holds.register("inspection.invalid", validity_holds)
        flows.declare(
            "inspection.invalid", required=False,
            doc="An elevator's inspection became invalid (failed or expired): raise a hazard lead. kwargs: elevator, "
                "state ('failed'|'expired'), ref (str, unique per event), title (str), occurred_on (date); idempotent per ref.")

        from liftsafe.core import panels as file_panels

        from . import panels

        # the elevator file's section of inspections, findings and validity
        file_panels.register(file_panels.Panel(key="inspection", title=_("Inspections and validity"), order=60,
                                               template="inspection/panel.html",
                                               context=panels.inspection_context, export=panels.inspection_export))
        flows.declare("inspection.validity_changed", required=False,
                      doc="The inspection validity state of some lifts changed (an inspection recorded, a validity "
                          "expired). kwargs: elevator_ids (list[int]). Reacting: risk recomputes those lifts.")
