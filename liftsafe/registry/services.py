"""Registry writes and their invariants.

Every write goes through here (views, API, admin actions, the importer's
single-row path) so that validation and audit history happen once. Each
function validates fully before writing and writes in one transaction:
nothing is half-written.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from liftsafe.core.history import REASON_MAX, save_with_history, stamp
from liftsafe.core.messages import decode, encode, fit
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of

from . import messages as msg
from .models import Elevator, LifecycleEvent, MaintenanceContract, Organisation
from .selectors import elevator_get



def _attribute(obj, user) -> None:
    """Record ``user`` as the author of ``obj``'s next history row (API tokens included,
    where simple-history's request middleware cannot see the user)."""
    stamp(obj, user)


def require_registry_editor(user) -> None:
    """Raise PermissionDenied unless ``user`` is a regulator or an administrator."""
    require(user, "registry.edit")  # regulators edit in their area; the importer runs as an admin or a regulator


@transaction.atomic
def elevator_create(user, **fields: Any) -> Elevator:
    """Register one elevator after full validation (used by modules that learn of an elevator
    outside a registry import, e.g. an incident report naming only a device number).

    ``fields`` are Elevator field names; ``source``, ``source_id``, ``area``,
    ``jurisdiction`` and ``category`` are required. ``user`` None = a system
    process (imports, replays); otherwise a regulator or administrator.

    Raises:
        PermissionDenied: if ``user`` may not edit the registry.
        ValidationError: naming each bad field; nothing is written.
    """
    if user is not None:
        require_registry_editor(user)
    reason = fields.pop("_reason", "")
    elevator = Elevator(**fields)
    elevator.full_clean()
    return save_with_history(elevator, user, reason)


@transaction.atomic
def elevator_update(user, elevator: Elevator, changes: dict[str, Any], reason: str = "") -> Elevator:
    """Apply ``changes`` (field → value) to ``elevator`` after full validation; keeps audit history.

    Raises:
        PermissionDenied: if ``user`` may not edit this elevator.
        ValidationError: naming each bad field (the row is left untouched).
    """
    require_registry_editor(user)
    elevator = elevator_get(user, elevator.pk)
    locked = Elevator.objects.select_for_update().get(pk=elevator.pk)
    for field, value in changes.items():
        Elevator._meta.get_field(field)  # FieldDoesNotExist for a typo
        setattr(locked, field, value)
    locked.full_clean()
    scope = scope_of(user)
    if "area" in changes and scope.area_path and not locked.area.path.startswith(scope.area_path):
        raise ValidationError({"area": _("%(area)s is outside your area") % {"area": locked.area}})
    return save_with_history(locked, user, reason)


@transaction.atomic
def contract_create(user, *, elevator: Elevator, maintenance_unit: Organisation, start_date: dt.date,
                    end_date: dt.date | None = None, contract_no: str = "", generated: bool = False) -> MaintenanceContract:
    """Record that ``maintenance_unit`` maintains ``elevator`` from ``start_date`` to ``end_date`` (None = open).

    An open-ended earlier contract is closed the day before ``start_date``
    (the unit changed); any other overlap is an error.

    Raises:
        ValidationError: wrong organisation kind, end before start, or an overlap.
    """
    if user is not None:
        require_registry_editor(user)
    if maintenance_unit.kind != Organisation.Kind.MAINTENANCE_UNIT:
        raise ValidationError({"maintenance_unit": _("%(org)s is not a maintenance unit") % {"org": maintenance_unit}})
    if end_date and end_date < start_date:
        raise ValidationError({"end_date": _("end date is before start date")})
    Elevator.objects.select_for_update().filter(pk=elevator.pk).first()
    existing = MaintenanceContract.objects.filter(elevator=elevator)
    open_before = existing.filter(end_date__isnull=True, start_date__lt=start_date)
    for c in open_before:
        c.end_date = start_date - dt.timedelta(days=1)
        c._change_reason = encode(msg.CONTRACT_SUPERSEDED)
        _attribute(c, user)
        c.save()
    contract = MaintenanceContract(elevator=elevator, maintenance_unit=maintenance_unit, start_date=start_date,
                                   end_date=end_date, contract_no=contract_no, generated=generated)
    contract.full_clean()  # MaintenanceContract.clean: no overlap with the elevator's other contracts
    _attribute(contract, user)
    contract.save()
    return contract


_CONTRACT_EDITABLE = ("maintenance_unit", "contract_no", "start_date", "end_date", "generated")


@transaction.atomic
def contract_update(user, contract: MaintenanceContract, changes: dict[str, Any], reason: str = "") -> MaintenanceContract:
    """Correct a recorded contract (unit, number, period) after full validation; keeps audit history.

    The elevator's row is locked while the period is checked, so two corrections
    cannot together create an overlap (on SQLite the IMMEDIATE transaction is the lock).

    Raises:
        PermissionDenied: ``user`` may not edit the registry.
        ValidationError: a field that cannot be changed, end before start, an overlap, a non-maintenance unit.
    """
    if user is not None:
        require_registry_editor(user)
    bad = sorted(set(changes) - set(_CONTRACT_EDITABLE))
    if bad:
        raise ValidationError({f: _("this field cannot be changed") for f in bad})
    Elevator.objects.select_for_update().filter(pk=contract.elevator_id).first()
    locked = MaintenanceContract.objects.select_for_update().get(pk=contract.pk)
    for field, value in changes.items():
        setattr(locked, field, value)
    if locked.maintenance_unit.kind != Organisation.Kind.MAINTENANCE_UNIT:
        raise ValidationError({"maintenance_unit": _("%(org)s is not a maintenance unit") % {"org": locked.maintenance_unit}})
    locked.full_clean()
    locked._change_reason = fit(reason, REASON_MAX) if reason else reason
    _attribute(locked, user)
    locked.save()
    return locked


@transaction.atomic
def lifecycle_event_add(user, elevator: Elevator, kind: str, occurred_on: dt.date, note: str = "", source: str = "manual") -> LifecycleEvent:
    """Append a traceability event; events of the same kind, date and source are recorded once. ``note``: a
    person's words (kept as typed) or a platform note ``liftsafe.core.messages.encode(kind, **params)`` (stored
    as ``note_kind`` + ``note_params``, translated when shown).

    Raises:
        ValidationError: unknown kind or a future date.
    """
    if user is not None:
        require_registry_editor(user)
    from .validators import validate_not_future

    if kind not in LifecycleEvent.Kind.values:
        raise ValidationError({"kind": _("unknown lifecycle event %(k)r") % {"k": kind}})
    try:
        validate_not_future(occurred_on)
    except ValidationError as exc:
        raise ValidationError({"occurred_on": exc.messages}) from exc
    parsed = decode(note)  # a note the platform wrote (liftsafe.core.messages): kept as kind + parameters
    defaults = {"note": "", "note_kind": parsed[0], "note_params": parsed[1]} if parsed else {"note": note[:255]}
    event, _created = LifecycleEvent.objects.get_or_create(elevator=elevator, kind=kind, occurred_on=occurred_on, source=source, defaults=defaults)
    return event


def elevator_set_status(user, elevator: Elevator, status: str, *, on: dt.date, reason: str) -> Elevator:
    """Change an elevator's status (in use / stopped / sealed / scrapped) and record the lifecycle event.

    Later modules (hazards' stop-use orders) call this; a scrapped elevator
    cannot come back into use.

    Raises:
        ValidationError: unknown status, or leaving the scrapped state.
    """
    if status not in Elevator.Status.values:
        raise ValidationError({"status": _("unknown status %(s)r") % {"s": status}})
    if elevator.status == Elevator.Status.SCRAPPED and status != Elevator.Status.SCRAPPED:
        raise ValidationError({"status": _("a scrapped elevator cannot change status")})
    with transaction.atomic():
        updated = elevator_update(user, elevator, {"status": status, "status_date": on}, reason=reason)
        kind = {"stopped": "stopped", "sealed": "stopped", "scrapped": "scrapped", "in_use": "resumed"}[status]
        lifecycle_event_add(user, updated, kind, on, note=reason, source="status")
    return updated


