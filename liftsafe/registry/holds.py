"""Status holds: facts owned by other apps that keep an elevator out of service.

The registry owns an elevator's ``status``; other apps own the reasons it may
not go back into use (a stop-use order now; a failed or expired inspection
next). Each such app registers a *hold provider* at start-up, in its
``AppConfig.ready``::

    from liftsafe.registry import holds
    holds.register("hazards.stop_use", active_stop_use_holds)

A provider is ``f(elevator_ids: list[int]) -> {elevator_id: reason}``: one
query for any number of elevators, returning the held ones with a translated
reason (shown to the user as the ``status`` field's error). While an elevator
is held it may not be moved to a status in :data:`BLOCKED_STATUSES` (back
into use); leaving it stopped, sealing or scrapping it stays possible.

Every status change consults the table:

- one object: :meth:`Elevator.clean <liftsafe.registry.models.Elevator.clean>`
  (model validation: services, the admin form) and ``Elevator.save`` (any
  other single save) call :func:`check_status_change`;
- in bulk: the importer calls :func:`refused_status_changes` once per batch
  (one query per provider) and keeps the held rows' status as it is.

Raises nothing at registration time except when called after start-up.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from django.core.exceptions import ValidationError

#: new statuses a hold refuses (putting the elevator back into use)
BLOCKED_STATUSES = frozenset({"in_use"})

HoldProvider = Callable[[list[int]], Mapping[int, str]]

_providers: dict[str, HoldProvider] = {}


def register(name: str, provider: HoldProvider) -> None:
    """Register ``provider`` under ``name`` (``<app>.<reason>``) from an ``AppConfig.ready``.

    Registering the same name again replaces it (``ready`` may run twice in tests);
    registering after the apps are loaded is refused (the table is fixed at start-up).
    """
    from django.apps import apps

    if apps.ready:
        raise RuntimeError(f"status hold {name!r}: register holds in AppConfig.ready only")
    _providers[name] = provider


def providers() -> dict[str, HoldProvider]:
    """The registered providers by name (a copy)."""
    return dict(_providers)


def holds_on(elevator_ids: Iterable[int]) -> dict[int, list[str]]:
    """The holds on each of ``elevator_ids``: ``{elevator_id: [reason, ...]}`` (held ones only; one query per provider)."""
    ids = sorted({int(i) for i in elevator_ids if i is not None})
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    for provider in _providers.values():
        for pk, reason in provider(ids).items():
            out.setdefault(pk, []).append(str(reason))
    return out


def refused_status_changes(changes: Mapping[int, str]) -> dict[int, str]:
    """Of ``changes`` (``{elevator_id: new status}``), the ones a hold refuses: ``{elevator_id: reason}``.

    Only elevators moving to a status in :data:`BLOCKED_STATUSES` are looked up.
    """
    moving = [pk for pk, status in changes.items() if status in BLOCKED_STATUSES]
    return {pk: " ".join(reasons) for pk, reasons in holds_on(moving).items()}


def check_status_change(elevator_id: int | None, new_status: str) -> None:
    """Refuse moving elevator ``elevator_id`` to ``new_status`` while a hold is on it.

    Raises:
        ValidationError: ``{"status": [reason]}`` naming what holds the elevator.
    """
    if elevator_id is None or new_status not in BLOCKED_STATUSES:
        return
    refused = refused_status_changes({elevator_id: new_status})
    if refused:
        raise ValidationError({"status": [refused[elevator_id]]})
