"""Risk reads, always scoped through :func:`liftsafe.registry.selectors.scope_elevators`."""
from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.models import Area
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import Colour, KeyPeriod, RiskChange, RiskScore, RiskTask


def scores_for(user) -> QuerySet[RiskScore]:
    """Every current score ``user`` may see."""
    return scope_elevators(scope_of(user), RiskScore.objects.all(), prefix="elevator__")


def score_get(user, elevator_id: int) -> RiskScore:
    """One lift's score in scope. Raises NotFound (missing, not computed yet, or outside the scope)."""
    s = scores_for(user).select_related("elevator", "elevator__area", "key_period").filter(elevator_id=elevator_id).first()
    if s is None:
        raise NotFound(_("risk score not found"))
    return s


def changes_for(user, elevator_id: int) -> QuerySet[RiskChange]:
    return scope_elevators(scope_of(user), RiskChange.objects.filter(elevator_id=elevator_id), prefix="elevator__") \
        .select_related("triggered_by", "key_period")


def filtered_scores(user, *, colour: str = "", area: Area | None = None, raised: bool | None = None,
                    replacement: bool | None = None) -> QuerySet[RiskScore]:
    """The list's rows (see :mod:`liftsafe.risk.filters`), highest score first."""
    qs = scores_for(user).select_related("elevator", "elevator__area", "key_period")
    if colour:
        qs = qs.filter(colour=colour)
    if area is not None:
        qs = qs.filter(elevator__area__path__startswith=area.path)
    if raised is True:
        qs = qs.filter(key_period__isnull=False).exclude(colour=F("base_colour"))
    elif raised is False:
        qs = qs.filter(Q(key_period__isnull=True) | Q(colour=F("base_colour")))
    if replacement is not None:
        qs = qs.filter(replacement=replacement)
    return qs.order_by("-score", "elevator_id")


def counts_by_area(qs: QuerySet[RiskScore]) -> list[dict]:
    """``[{"area": name, "area_id", "blue": n, "yellow": n, "orange": n, "red": n, "total": n}]`` for the rows of ``qs``."""
    agg = {c: Count("pk", filter=Q(colour=c)) for c in Colour.values}
    rows = qs.order_by().values("elevator__area_id", "elevator__area__name").annotate(total=Count("pk"), **agg) \
        .order_by("elevator__area__name")
    return [{"area_id": r["elevator__area_id"], "area": r["elevator__area__name"], "total": r["total"],
             **{c: r[c] for c in Colour.values}} for r in rows]


def key_periods_for(user) -> QuerySet[KeyPeriod]:
    """Key periods touching the caller's area (admins: all): one of its areas is the caller's area, above it or below it."""
    scope = scope_of(user)
    qs = KeyPeriod.objects.all()
    if scope.is_admin:
        return qs
    if scope.sees_nothing or not scope.area_path:
        return qs.none()
    path = scope.area_path
    below = Q(areas__path__startswith=path)
    above = Q(pk__in=[])
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        above |= Q(areas__path="/".join(parts[:i]) + "/")
    return qs.filter(below | above).distinct()


def key_period_get(user, pk: int) -> KeyPeriod:
    p = key_periods_for(user).filter(pk=pk).first()
    if p is None:
        raise NotFound(_("key period not found"))
    return p


def tasks_for(user) -> QuerySet[RiskTask]:
    return scope_elevators(scope_of(user), RiskTask.objects.all(), prefix="elevator__").select_related("elevator", "hazard")
