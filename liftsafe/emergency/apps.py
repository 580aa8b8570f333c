from django.apps import AppConfig


class EmergencyConfig(AppConfig):
    name = "liftsafe.emergency"
    label = "emergency"

    def ready(self):
        from liftsafe.core import flows

        from .flows import intake_entrapment_alarm

        flows.register("monitoring.entrapment_alarm", intake_entrapment_alarm)
