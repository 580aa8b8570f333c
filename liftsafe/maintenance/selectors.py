"""Maintenance reads, scoped through :func:`liftsafe.registry.selectors.scope_elevators`:
maintenance unit → visits of lifts it holds a current contract for; use unit → its lifts; regulator and
96333 operator → their area; inspection agency / insurer → their lifts, read-only (writes check roles in
:data:`liftsafe.core.permissions.ACTIONS`)."""
from __future__ import annotations

import datetime as dt

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import current_contracts, scope_elevators
from liftsafe.rules import rule

from .models import Visit


def visits_for(user) -> QuerySet[Visit]:
    """Every visit ``user`` may see."""
    return scope_elevators(scope_of(user), Visit.objects.all(), prefix="elevator__")


def visit_get(user, pk: int) -> Visit:
    """One visit in scope. Raises NotFound (missing or outside the scope, indistinguishable)."""
    v = visits_for(user).select_related("elevator", "maintenance_unit", "worker1", "worker2", "countersigned_by").filter(pk=pk).first()
    if v is None:
        raise NotFound(_("visit not found"))
    return v


def todays_visits(user, today: dt.date | None = None) -> QuerySet[Visit]:
    """A worker's list: open visits of their unit planned up to today (planned or checked in), oldest first."""
    today = today or timezone.localdate()
    prof = getattr(user, "profile", None)
    if prof is None or prof.organisation_id is None:
        return Visit.objects.none()
    return visits_for(user).filter(maintenance_unit_id=prof.organisation_id, planned_date__lte=today,
                                   state__in=[Visit.State.PLANNED, Visit.State.CHECKED_IN]) \
        .select_related("elevator").order_by("planned_date", "id")


def awaiting_countersign(user) -> QuerySet[Visit]:
    """Checked-out visits of the user's own use unit's lifts (empty for other roles)."""
    prof = getattr(user, "profile", None)
    if prof is None or prof.role != "use_unit":
        return Visit.objects.none()
    return visits_for(user).filter(state=Visit.State.CHECKED_OUT, elevator__use_unit_id=prof.organisation_id) \
        .select_related("elevator", "maintenance_unit").order_by("checked_out_at")


def flagged_visits(user) -> QuerySet[Visit]:
    """Visits with at least one evidence flag, newest first."""
    return visits_for(user).exclude(flags=[]).select_related("elevator", "maintenance_unit", "elevator__area") \
        .order_by("-checked_out_at", "-id")


def overdue_lifts(user, today: dt.date | None = None) -> QuerySet[Elevator]:
    """In-use lifts in scope whose last completed visit ended more than ``maintenance_overdue_days`` (15)
    calendar days ago, or never (docs/domain §15.1). Annotated ``last_visit_at`` and ``unit_name`` (current
    maintenance unit)."""
    today = today or timezone.localdate()
    cutoff = _overdue_cutoff(today)
    unit = current_contracts(today).filter(elevator=OuterRef("pk")).order_by("-start_date").values("maintenance_unit__name")[:1]
    return scope_elevators(scope_of(user)).filter(status="in_use") \
        .annotate(last_visit_at=Max("maintenance_visits__checked_out_at"), unit_name=Subquery(unit)) \
        .filter(Q(last_visit_at__isnull=True) | Q(last_visit_at__lt=cutoff))


def _overdue_cutoff(today: dt.date) -> dt.datetime:
    """Local midnight ``maintenance_overdue_days`` (15) days before ``today``: a last visit ending before it is overdue."""
    return timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=rule("maintenance_overdue_days")), dt.time.min))


def overdue_q(today: dt.date | None = None) -> Q:
    """:func:`overdue_lifts` (same definition, docs/domain §15.1) as a ``Q`` over :class:`Elevator` rows, without the
    whole-fleet aggregate: in use and no visit checked out since the cutoff (a correlated NOT EXISTS on the
    ``visit_elev_state_out_idx`` index), so a map can count it per grid cell over a million lifts. Not scoped:
    combine it with a scoped queryset."""
    from django.db.models import Exists

    cutoff = _overdue_cutoff(today or timezone.localdate())
    return Q(status="in_use") & ~Exists(Visit.objects.filter(elevator=OuterRef("pk"), checked_out_at__gte=cutoff))


def overdue_summary(user, today: dt.date | None = None) -> list[dict]:
    """``[{"unit": name or "", "area": area name, "count": n}, …]``, most overdue lifts first."""
    counts: dict[tuple, int] = {}
    for unit, area in overdue_lifts(user, today).values_list("unit_name", "area__name"):
        counts[(unit or "", area)] = counts.get((unit or "", area), 0) + 1
    return [{"unit": u, "area": a, "count": n} for (u, a), n in sorted(counts.items(), key=lambda kv: -kv[1])]
