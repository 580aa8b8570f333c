"""The monitoring app's section of the elevator file: the lift's IoT devices with their last status, and its
alarms (newest 20; the monitoring page of the lift has the rest)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from . import selectors
from .models import Alarm

PANEL_ROWS = 20


def iot_context(user, elevator) -> dict:
    """``{"e", "devices": [MonitoringDevice], "alarms": [Alarm], "alarms_total", "active_total"}`` (scoped)."""
    alarms = selectors.alarms_for(user, elevator_id=elevator.pk)
    return {"e": elevator, "devices": list(selectors.devices_for(user).filter(elevator_id=elevator.pk).order_by("-active", "device_id")),
            "alarms": list(alarms[:PANEL_ROWS]), "alarms_total": alarms.count(),
            "active_total": alarms.filter(cleared_at__isnull=True).count()}


def iot_export(user, elevator) -> tuple[list[str], list[list]]:
    """The alarms the section shows (type, code, detail, raised, occurrences, cleared, device)."""
    f = Alarm._meta.get_field
    headers = [str(f(n).verbose_name) for n in ("type", "code", "detail", "raised_at", "occurrences", "cleared_at")] + [_("Device")]
    return headers, [[a.get_type_display(), a.code, a.detail, a.raised_at, a.occurrences, a.cleared_at,
                      a.device.device_id if a.device_id else None] for a in iot_context(user, elevator)["alarms"]]
