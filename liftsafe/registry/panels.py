"""The registry's sections of the elevator file (一梯一档): identity and codes, organisations with their contract
history, lifecycle events with the audit history. Registered in :class:`~liftsafe.registry.apps.RegistryConfig`.

Each ``*_context(user, elevator)`` reads through :mod:`.selectors` scoped to ``user`` (the file page has already
checked the elevator is in scope); each ``*_export`` returns exactly the rows its section shows.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from . import selectors
from .models import Elevator, LifecycleEvent, MaintenanceContract

PANEL_ROWS = 20  # contracts and lifecycle events shown (newest first); "show all" links to the elevator page


def identity_context(user, elevator: Elevator) -> dict:
    """``{"groups": [(title, [(label, value)])]}``: identity codes, category and place, technical data, status."""
    from .views import IDENTITY_FIELDS, PLACE_FIELDS, STATUS_FIELDS, TECH_FIELDS, _rows

    return {"groups": [(_("Identity codes"), _rows(elevator, IDENTITY_FIELDS)), (_("Category and place"), _rows(elevator, PLACE_FIELDS)),
                       (_("Technical data"), _rows(elevator, TECH_FIELDS)), (_("Status and inspection"), _rows(elevator, STATUS_FIELDS))]}


def identity_export(user, elevator: Elevator) -> tuple[list[str], list[list]]:
    groups = identity_context(user, elevator)["groups"]
    return [_("Group"), _("Field"), _("Value")], [[str(g), str(label), value] for g, rows in groups for label, value in rows]


def organisations_context(user, elevator: Elevator) -> dict:
    """The organisations on the lift now, and its maintenance contracts (newest first, at most 20)."""
    qs = selectors.contracts_for(user, elevator).select_related("maintenance_unit").order_by("-start_date", "-pk")
    current = set(selectors.current_contracts().filter(elevator=elevator).values_list("pk", flat=True))
    return {"e": elevator, "maintenance_unit": selectors.maintenance_unit_on(elevator), "contracts": list(qs[:PANEL_ROWS]),
            "contracts_total": qs.count(), "current_ids": current}


def organisations_export(user, elevator: Elevator) -> tuple[list[str], list[list]]:
    ctx = organisations_context(user, elevator)
    f = MaintenanceContract._meta.get_field
    headers = [str(f("maintenance_unit").verbose_name), str(f("contract_no").verbose_name), str(f("start_date").verbose_name),
               str(f("end_date").verbose_name), _("current")]
    return headers, [[c.maintenance_unit.name, c.contract_no, c.start_date, c.end_date, c.pk in ctx["current_ids"]]
                     for c in ctx["contracts"]]


def lifecycle_context(user, elevator: Elevator) -> dict:
    """Lifecycle events (newest first, at most 20) and the count of audit-history rows (the history has its page)."""
    qs = selectors.lifecycle_for(user, elevator).order_by("-occurred_on", "-pk")
    return {"e": elevator, "events": list(qs[:PANEL_ROWS]), "events_total": qs.count(),
            "history_total": Elevator.history.filter(id=elevator.pk).count()}


def lifecycle_export(user, elevator: Elevator) -> tuple[list[str], list[list]]:
    f = LifecycleEvent._meta.get_field
    headers = [str(f("occurred_on").verbose_name), str(f("kind").verbose_name), _("Note")]
    return headers, [[ev.occurred_on, ev.get_kind_display(), ev.note_display] for ev in lifecycle_context(user, elevator)["events"]]
