"""Monitoring alarms: raise (rate cap, power-loss incidents), clear, acknowledge, the area incidents
(correlation) and opening emergency cases for entrapments through the flow ``monitoring.entrapment_alarm``."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core import flows
from liftsafe.core import permissions
from liftsafe.core.history import save_with_history
from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from . import codes as C
from .codes import AlarmType
from .models import Alarm, Incident, MonitoringDevice

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- alarms
def raise_alarm(elevator: Elevator, type_: str, *, device: MonitoringDevice | None = None, code: str = "", detail: str = "",
                snapshot: dict | None = None, device_time: dt.datetime | None = None,
                now: dt.datetime | None = None) -> tuple[Alarm | None, bool]:
    """Raise an alarm, or count a repeat of the active one of the same (elevator, type).

    Atomic under concurrency: the partial unique constraint decides, the loser
    of a race becomes a repeat. A new alarm beyond the elevator's cap
    (``iot_alarm_rate_max`` per ``iot_alarm_rate_window_s``) is not created.
    New power-loss alarms are correlated into an area incident; entrapments
    open (or attach to) an emergency case. Must run inside a transaction.

    Returns ``(alarm, created)``; ``(None, False)`` when rate-capped, or for an entrapment on an
    elevator without a passenger car (dumbwaiter 3430, escalator 33xx: :func:`codes.can_trap_passengers`).
    """
    now = now or timezone.now()
    if type_ == AlarmType.ENTRAPMENT and not C.can_trap_passengers(elevator.category):
        return None, False
    active = Alarm.objects.filter(elevator_id=elevator.pk, type=type_, cleared_at__isnull=True)
    if active.update(occurrences=F("occurrences") + 1, last_occurred_at=now):
        return active.first(), False
    window = now - dt.timedelta(seconds=float(rule("iot_alarm_rate_window_s")))
    if type_ != AlarmType.ENTRAPMENT and Alarm.objects.filter(elevator_id=elevator.pk, raised_at__gte=window).count() >= int(rule("iot_alarm_rate_max")):
        return None, False
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(elevator=elevator, device=device, type=type_, code=code[:32], detail=detail[:255],
                                         snapshot=snapshot or {}, device_time=device_time, raised_at=now, last_occurred_at=now)
    except IntegrityError:
        active.update(occurrences=F("occurrences") + 1, last_occurred_at=now)
        return active.first(), False
    if type_ == AlarmType.POWER_LOSS:
        _correlate(alarm, now)
    elif type_ == AlarmType.ENTRAPMENT:
        power = Alarm.objects.filter(elevator_id=elevator.pk, type=AlarmType.POWER_LOSS, cleared_at__isnull=True,
                                     incident__isnull=False).values_list("incident_id", flat=True).first()
        if power:
            Alarm.objects.filter(pk=alarm.pk).update(incident_id=power)
            alarm.incident_id = power
        open_case_for(alarm)
    return alarm, True


def clear_alarms(elevator_id: int, types: Iterable[str], *, now: dt.datetime | None = None, reason: str = "") -> int:
    """Clear the active alarms of these types on the elevator; returns how many were cleared."""
    return Alarm.objects.filter(elevator_id=elevator_id, type__in=list(types), cleared_at__isnull=True).update(
        cleared_at=now or timezone.now(), cleared_reason=reason[:64])


def acknowledge_alarm(user, alarm: Alarm) -> Alarm:
    """Mark ``alarm`` acknowledged by ``user`` (first acknowledgement wins; idempotent; recorded in its history).

    Raises:
        PermissionDenied: ``user`` is not an operator of the area, the elevator's maintenance unit or an
            administrator (permission action ``alarm.handle``).
    """
    if not permissions.allowed(user, "alarm.handle", alarm):
        raise PermissionDenied(_("Only a 96333 operator, the elevator's maintenance unit or an administrator may acknowledge alarms."))
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.acknowledged_at is None:
            alarm.acknowledged_at, alarm.acknowledged_by = timezone.now(), user
            save_with_history(alarm, user, "acknowledged", update_fields=["acknowledged_at", "acknowledged_by"])
    return alarm


def clear_alarm(user, alarm: Alarm, *, reason: str) -> Alarm:
    """Clear an active alarm by hand (人工解除), e.g. a false alarm or a device that will not send the clear;
    acknowledges it too. If the condition persists the device's next message raises a new alarm. Idempotent
    on a cleared alarm. The emergency case of an entrapment is not touched (the emergency module closes it).

    Raises:
        PermissionDenied: as :func:`acknowledge_alarm`.
        ValidationError: ``{"reason": ...}`` empty or longer than 64 characters.
    """
    if not permissions.allowed(user, "alarm.handle", alarm):
        raise PermissionDenied(_("Only a 96333 operator, the elevator's maintenance unit or an administrator may clear alarms."))
    reason = " ".join((reason or "").split())
    max_len = Alarm._meta.get_field("cleared_reason").max_length
    if not reason:
        raise ValidationError({"reason": _("say why the alarm is cleared (e.g. false alarm, fault repaired on site)")})
    if len(reason) > max_len:
        raise ValidationError({"reason": _("at most %(n)d characters") % {"n": max_len}})
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.cleared_at is None:
            now = timezone.now()
            alarm.cleared_at, alarm.cleared_reason = now, reason
            fields = ["cleared_at", "cleared_reason"]
            if alarm.acknowledged_at is None:
                alarm.acknowledged_at, alarm.acknowledged_by = now, user
                fields += ["acknowledged_at", "acknowledged_by"]
            save_with_history(alarm, user, "cleared", update_fields=fields)
    return alarm


def _correlate(alarm: Alarm, now: dt.datetime) -> Incident:
    """Attach a new power-loss alarm to its area's open incident (or open one), atomically."""
    area_id = alarm.elevator.area_id
    window = dt.timedelta(seconds=float(rule("iot_correlation_window_s")))
    for _ in range(3):
        inc = Incident.objects.filter(area_id=area_id, kind=alarm.type, closed_at__isnull=True).first()
        if inc is not None and inc.last_alarm_at < now - window:
            Incident.objects.filter(pk=inc.pk, closed_at__isnull=True).update(closed_at=inc.last_alarm_at)
            inc = None
        if inc is None:
            try:
                with transaction.atomic():
                    inc = Incident.objects.create(area_id=area_id, kind=alarm.type, opened_at=now, last_alarm_at=now)
            except IntegrityError:
                continue
        Incident.objects.filter(pk=inc.pk).update(alarm_count=F("alarm_count") + 1, last_alarm_at=now)
        Alarm.objects.filter(pk=alarm.pk).update(incident=inc)
        alarm.incident = inc
        return inc
    raise RuntimeError("could not correlate alarm")  # pragma: no cover - three lost races in a row


def open_case_for(alarm: Alarm) -> bool:
    """Open (or attach to) the elevator's emergency case for an entrapment alarm via the flow
    ``monitoring.entrapment_alarm`` (emergency registers the handler at start-up; see :mod:`liftsafe.core.flows`).

    Idempotent (``idempotency_key = "iot-alarm-<id>"``). A failure (including a
    missing handler, :class:`~liftsafe.core.flows.FlowNotConnected`) is logged,
    recorded in ``case_error`` and retried by the periodic job, never raised:
    the alarm itself must not be lost. Returns True when the alarm is linked to a case.
    """
    details = {**(alarm.snapshot or {}), "alarm_id": alarm.pk, "code": alarm.code, "detail": alarm.detail,
               "device": alarm.device.device_id if alarm.device_id else "",
               "device_time": alarm.device_time.isoformat() if alarm.device_time else None}
    floor = (alarm.snapshot or {}).get("car_position")
    elevator = Elevator.objects.select_related("area").get(pk=alarm.elevator_id)
    try:
        with transaction.atomic():
            case_id = flows.call("monitoring.entrapment_alarm", elevator=elevator, received_at=alarm.raised_at,
                                 details=details, source_ref=f"monitoring.alarm:{alarm.pk}",
                                 idempotency_key=f"iot-alarm-{alarm.pk}", car_position="" if floor is None else str(floor))
    except Exception as exc:  # noqa: BLE001 - the alarm stands; the job retries
        log.exception("intake_alarm failed for alarm %s", alarm.pk)
        Alarm.objects.filter(pk=alarm.pk).update(case_error=f"{type(exc).__name__}: {exc}"[:255])
        return False
    Alarm.objects.filter(pk=alarm.pk).update(case_id=case_id, case_error="")
    alarm.case_id = case_id
    return True



def close_stale_incidents(now: dt.datetime | None = None) -> int:
    """Close open incidents whose last alarm is older than the correlation window and whose alarms are all cleared."""
    now = now or timezone.now()
    window = now - dt.timedelta(seconds=float(rule("iot_correlation_window_s")))
    n = 0
    for inc in Incident.objects.filter(closed_at__isnull=True, last_alarm_at__lt=window):
        if not inc.alarms.filter(cleared_at__isnull=True).exists():
            n += Incident.objects.filter(pk=inc.pk, closed_at__isnull=True).update(closed_at=now)
    return n


def retry_case_links() -> int:
    """Open cases for active entrapment alarms that have none yet (intake failed or arrived later)."""
    n = 0
    for alarm in Alarm.objects.select_related("elevator", "device").filter(type=AlarmType.ENTRAPMENT, cleared_at__isnull=True, case_id__isnull=True)[:500]:
        n += open_case_for(alarm)
    return n
