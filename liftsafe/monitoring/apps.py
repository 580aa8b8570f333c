from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "liftsafe.monitoring"
    label = "monitoring"
    verbose_name = _("IoT monitoring")

    def ready(self):
        from liftsafe.core import flows

        flows.declare(
            "monitoring.entrapment_alarm", required=True,
            doc="An IoT entrapment alarm was raised: open or attach to the elevator's emergency case. "
                "kwargs: elevator, received_at (aware), details (JSON dict), source_ref, idempotency_key, "
                "car_position (str); returns the case's primary key; idempotent per idempotency_key.")
