from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    name = "liftsafe.emergency"
    label = "emergency"
    verbose_name = _("96333 emergency response")

    def ready(self):
        from liftsafe.core import flows

        from .flows import intake_entrapment_alarm

        flows.register("monitoring.entrapment_alarm", intake_entrapment_alarm)
        flows.declare("emergency.case_closed", required=False,
                      doc="A case was closed (completed, false alarm or cancelled). kwargs: elevator_id, case_id, state, received_at. "
                          "Reacting: risk recomputes the lift's score.")
