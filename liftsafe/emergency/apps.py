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

        from liftsafe.core import panels as file_panels

        from . import panels

        # the elevator file's section of 96333 cases (false alarms included)
        file_panels.register(file_panels.Panel(key="cases", title=_("96333 cases"), order=30, template="emergency/panel_cases.html",
                                               context=panels.cases_context, export=panels.cases_export))
        flows.declare("emergency.case_closed", required=False,
                      doc="A case was closed (completed, false alarm or cancelled). kwargs: elevator_id, case_id, state, received_at. "
                          "Reacting: risk recomputes the lift's score.")
