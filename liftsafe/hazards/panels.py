"""The hazards app's section of the elevator file: the lift's hazards (newest 20) and its stop-use orders.

Shown to the roles that supervise or rectify hazards (admin, regulator, use unit, maintenance unit, inspection
agency), as the registry's elevator page links the problem-elevator file; the 96333 operator, rescue stations and
insurers see no section.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from liftsafe.core.models import Role
from liftsafe.core.scoping import scope_of

from . import selectors
from .models import Hazard, StopUseOrder

PANEL_ROWS = 20
NO_SECTION = {Role.OPERATOR, Role.RESCUE_STATION, Role.INSURER}


def hazards_context(user, elevator) -> dict | None:
    """``{"e", "hazards": [Hazard], "hazards_total", "orders": [StopUseOrder], "active_order"}`` or ``None``."""
    scope = scope_of(user)
    if scope.sees_nothing or scope.role in NO_SECTION:
        return None
    qs = selectors.with_overdue(selectors.hazards_for(user).filter(elevator_id=elevator.pk)).select_related(
        "responsible_unit").order_by("-filed_at", "-pk")
    hazards = list(qs[:PANEL_ROWS])
    orders = list(StopUseOrder.objects.filter(elevator_id=elevator.pk, hazard__in=selectors.hazards_for(user)).order_by("-ordered_at")[:PANEL_ROWS])
    return {"e": elevator, "hazards": hazards, "hazards_total": qs.count(), "orders": orders,
            "active_order": next((o for o in orders if o.lifted_at is None), None)}


def hazards_export(user, elevator) -> tuple[list[str], list[list]]:
    """The hazards the section shows, then its stop-use orders (``kind`` column tells them apart)."""
    ctx = hazards_context(user, elevator) or {"hazards": [], "orders": []}
    f = Hazard._meta.get_field
    headers = [_("Record"), "#", str(f("title").verbose_name), str(f("level").verbose_name), str(f("state").verbose_name),
               str(f("responsible_unit").verbose_name), str(f("deadline").verbose_name), _("Date"), _("Lifted at")]
    rows = [[_("hazard"), h.pk, h.title, h.get_level_display(), h.get_state_display(),
             h.responsible_unit.name if h.responsible_unit_id else None, h.deadline, h.filed_at, None] for h in ctx["hazards"]]
    rows += [[_("stop-use order"), o.hazard_id, o.reason, None, None, None, None, o.ordered_on, o.lifted_at] for o in ctx["orders"]]
    return headers, rows
