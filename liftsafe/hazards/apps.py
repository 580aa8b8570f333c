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
        flows.declare("hazards.changed", required=False,
                      doc="A hazard was filed, changed state or closed. kwargs: elevator_id, hazard_id, state. "
                          "Reacting: risk recomputes the lift's score.")
