"""The maintenance app's section of the elevator file: the lift's visits (newest 20) with their evidence flags.

Worker locations (the check-in position and its accuracy) are the worker's personal data (issue 15): shown to
the regulator, the administrator and the visit's own maintenance unit only — a maintenance unit holding the
lift now does not see where the previous unit's workers stood.
"""
from __future__ import annotations

from liftsafe.core.models import Role
from liftsafe.core.scoping import scope_of

from . import domain, selectors
from .models import Visit

PANEL_ROWS = 20


def sees_location(user, visit: Visit) -> bool:
    """Whether ``user`` may see ``visit``'s check-in location (regulator, admin, the visit's own unit)."""
    scope = scope_of(user)
    if scope.is_admin or scope.role == Role.REGULATOR:
        return True
    return scope.role == Role.MAINTENANCE_UNIT and scope.organisation_id == visit.maintenance_unit_id


def maintenance_context(user, elevator) -> dict:
    """``{"e", "rows": [{"v", "flags": [label], "location": (lat, lon, accuracy_m) | None}], "total", "flagged_total"}``."""
    qs = selectors.visits_for(user).filter(elevator_id=elevator.pk).select_related("maintenance_unit").order_by(
        "-planned_date", "-checked_out_at", "-pk")
    rows = []
    for v in qs[:PANEL_ROWS]:
        loc = (v.latitude, v.longitude, v.accuracy_m) if sees_location(user, v) and v.latitude is not None else None
        rows.append({"v": v, "flags": [str(domain.FLAG_LABELS.get(f, f)) for f in v.flags], "location": loc,
                     "location_hidden": v.latitude is not None and not sees_location(user, v)})
    return {"e": elevator, "rows": rows, "total": qs.count(), "flagged_total": qs.exclude(flags=[]).count()}


def maintenance_export(user, elevator) -> tuple[list[str], list[list]]:
    """The visits the section shows; the location columns are empty where the section hides them."""
    f = Visit._meta.get_field
    headers = [str(f(n).verbose_name) for n in ("planned_date", "tier", "maintenance_unit", "state", "checked_in_at", "checked_out_at",
                                                 "abnormal_count", "flags", "latitude", "longitude", "accuracy_m")]
    out = []
    for r in maintenance_context(user, elevator)["rows"]:
        v, loc = r["v"], r["location"] or (None, None, None)
        out.append([v.planned_date, v.get_tier_display(), v.maintenance_unit.name, v.get_state_display(), v.checked_in_at,
                    v.checked_out_at, v.abnormal_count, "; ".join(r["flags"]), *loc])
    return headers, out
