"""Monitoring devices: binding a device to an elevator and unbinding it (who may: permission action
``device.bind``, :mod:`liftsafe.core.permissions`)."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core import permissions
from liftsafe.registry.models import Elevator

from . import codes as C
from .codes import AlarmType
from .models import Alarm, MonitoringDevice

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- binding
def bind_device(elevator: Elevator, device_id: str, *, vendor: str = "") -> MonitoringDevice:
    """Bind a new monitoring device ``device_id`` to ``elevator`` (or re-bind an existing one).

    Raises:
        ValidationError: ``{"elevator": ...}`` if the elevator is scrapped;
            ``{"device_id": ...}`` if the id is empty or not ``[A-Za-z0-9_.:-]{1,64}``.
    """
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", device_id or ""):
        raise ValidationError({"device_id": "device id must be 1-64 characters of A-Z a-z 0-9 _ . : -"})
    if elevator.status == Elevator.Status.SCRAPPED:
        raise ValidationError({"elevator": "a scrapped elevator cannot have a monitoring device bound to it"})
    with transaction.atomic():
        dev, created = MonitoringDevice.objects.select_for_update().get_or_create(
            device_id=device_id, defaults={"elevator": elevator, "vendor": vendor})
        if not created and (dev.elevator_id != elevator.pk or not dev.active):
            dev.elevator = elevator
            dev.active = True
            dev.state = {}
            dev.save()
    return dev


def unbind_device(device: MonitoringDevice) -> None:
    """Deactivate a device: its later messages are dead-lettered as unknown."""
    MonitoringDevice.objects.filter(pk=device.pk).update(active=False, online=False)


# --------------------------------------------------------------------------- who may do what (docs/monitoring.md "Roles")
# declared once in liftsafe.core.permissions.ACTIONS: "device.bind" (the elevator's current maintenance unit — the
# integrator that installs the device and runs the enterprise application platform, docs/domain §4.1 — and administrators),
# "device.submit" (the same, by API token, for its own elevators), "alarm.handle" (96333 operators of the area, the
# elevator's maintenance unit, administrators; everyone else reads alarms only)


def device_bind(user, elevator: Elevator, device_id: str, *, vendor: str = "") -> MonitoringDevice:
    """Bind ``device_id`` to ``elevator`` on behalf of ``user`` (permission action ``device.bind``).

    A device id active on another elevator moves only if ``user`` may bind there too.

    Raises:
        PermissionDenied: ``user`` is not the elevator's maintenance unit or an administrator.
        ValidationError: ``{"device_id": ...}`` bad id or already bound to an elevator the user does not manage;
            ``{"elevator": ...}`` scrapped elevator (:func:`bind_device`).
    """
    if not permissions.allowed(user, "device.bind", elevator):  # on an elevator in scope (current contract)
        raise PermissionDenied(_("Only the elevator's maintenance unit or an administrator may bind monitoring devices."))
    current = MonitoringDevice.objects.filter(device_id=device_id or "", active=True).exclude(elevator_id=elevator.pk).first()
    if current is not None and not permissions.in_scope(user, current):
        raise ValidationError({"device_id": _("this device id is bound to another elevator; it must be unbound there first")})
    dev = bind_device(elevator, device_id, vendor=vendor)
    log.info("device %s bound to elevator %s by %s", dev.device_id, elevator.pk, getattr(user, "username", user))
    return dev


def device_unbind(user, device: MonitoringDevice) -> MonitoringDevice:
    """Unbind (deactivate) ``device`` on behalf of ``user``; its offline alarm is cleared. Idempotent.

    Raises:
        PermissionDenied: ``user`` is not the maintenance unit of the device's elevator or an administrator.
    """
    if not permissions.allowed(user, "device.bind", device.elevator):
        raise PermissionDenied(_("Only the elevator's maintenance unit or an administrator may unbind monitoring devices."))
    with transaction.atomic():
        unbind_device(device)
        Alarm.objects.filter(device=device, type=AlarmType.OFFLINE, cleared_at__isnull=True).update(
            cleared_at=timezone.now(), cleared_reason=C.alarm_text("cleared_unbound"))
    device.refresh_from_db()
    return device

