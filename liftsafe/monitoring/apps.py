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
        flows.declare(
            "monitoring.maintenance_visit_open", required=False,
            doc="Is a maintenance visit open (checked in, not checked out) on the elevator at a time? "
                "kwargs: elevator_id (int), at (aware datetime); returns bool. No handler: False.")

        from liftsafe.core import panels as file_panels

        from . import panels

        # the elevator file's section of IoT devices, alarms and last status
        file_panels.register(file_panels.Panel(key="iot", title=_("IoT device and alarms"), order=40, template="monitoring/panel_iot.html",
                                               context=panels.iot_context, export=panels.iot_export))
