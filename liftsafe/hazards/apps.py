from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "liftsafe.hazards"
    label = "hazards"
    verbose_name = _("Hazards and problem elevators")

    def ready(self):
        from liftsafe.registry import holds

        from .services import stop_use_holds

        # an active stop-use order holds the elevator out of service (every status change consults it)
        holds.register("hazards.stop_use", stop_use_holds)

        from liftsafe.core import flows

        from .services import raise_inspection_lead

        # a failed or expired inspection raises a lead here (hazards owns its lead creation)
        flows.register("inspection.invalid", raise_inspection_lead)
        flows.declare(
            "hazards.stop_use_ordered", required=False,
            doc="A regulator ordered an elevator out of use for a hazard: issue the numbered stop-use document. "
                "kwargs: user (the regulator), order (StopUseOrder); runs in the order's transaction.")

        from liftsafe.core import panels as file_panels

        from . import panels

        # the elevator file's section of hazards and stop-use orders
        file_panels.register(file_panels.Panel(key="hazards", title=_("Hazards and stop-use orders"), order=70, template="hazards/panel.html",
                                               context=panels.hazards_context, export=panels.hazards_export))
        flows.declare("hazards.changed", required=False,
                      doc="A hazard was filed, changed state or closed. kwargs: elevator_id, hazard_id, state. "
                          "Reacting: risk recomputes the lift's score.")
