"""Rating reads, always scoped to the caller (:mod:`liftsafe.core.scoping`), and the public projection.

- admin: everything; regulator: ratings run in its area or below (``Rating.area``) and credit entries of units
  of its area; maintenance unit: its own ratings (published ones, never drafts) and entries; others nothing.
- :func:`public_ratings`: published ratings only, as whitelisted fields (no items, no evidence, no objection text).
"""
from __future__ import annotations

from django.db.models import Q, QuerySet

from liftsafe.core.models import Role
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Organisation
from liftsafe.registry.selectors import organisations_for

from .models import PUBLIC_STATES, CreditEntry, Objection, Rating, Sheet

PUBLIC_FIELDS = ("unit_name", "grade", "rated", "period_start", "period_end", "published_on", "reply", "sheet_name", "under_review")


def ratings_for(user) -> QuerySet[Rating]:
    scope = scope_of(user)
    qs = Rating.objects.select_related("unit", "sheet", "area")
    if scope.is_admin:
        return qs
    if scope.role == Role.REGULATOR and scope.area_path:
        return qs.filter(area__path__startswith=scope.area_path)
    if scope.role == Role.MAINTENANCE_UNIT and scope.organisation_id:
        return qs.filter(unit_id=scope.organisation_id, state__in=PUBLIC_STATES)
    return qs.none()


def rating_get(user, pk: int) -> Rating:
    from liftsafe.core.errors import NotFound

    r = ratings_for(user).filter(pk=pk).first()
    if r is None:
        raise NotFound("rating not found")
    return r


def objections_for(user) -> QuerySet[Objection]:
    return Objection.objects.filter(rating__in=ratings_for(user)).select_related("rating__unit", "filed_by", "decided_by")


def pending_objections(user) -> QuerySet[Objection]:
    """Objections awaiting a decision, oldest deadline first."""
    return objections_for(user).filter(decision="").order_by("decide_by", "pk")


def credit_entries_for(user) -> QuerySet[CreditEntry]:
    scope = scope_of(user)
    qs = CreditEntry.objects.select_related("unit", "rating")
    if scope.is_admin:
        return qs
    if scope.role == Role.REGULATOR and scope.area_path:
        return qs.filter(Q(unit__area__path__startswith=scope.area_path) | Q(rating__area__path__startswith=scope.area_path))
    if scope.role == Role.MAINTENANCE_UNIT and scope.organisation_id:
        return qs.filter(unit_id=scope.organisation_id)
    return qs.none()


def units_to_rate(user) -> QuerySet[Organisation]:
    """Maintenance units a regulator may rate: those of its area (:func:`registry.selectors.organisations_for`)."""
    return organisations_for(user, kind=Organisation.Kind.MAINTENANCE_UNIT).order_by("name")


def sheets(active_only: bool = True) -> QuerySet[Sheet]:
    qs = Sheet.objects.all()
    return qs.filter(active=True) if active_only else qs


def public_ratings(*, sheet: str | None = None) -> list[dict]:
    """The public projection (issue 13 "Public"; docs/domain §15.4 right to reply): for each unit and sheet its
    latest published rating, as ``{unit_name, grade ("" when not rated), rated, period_start, period_end,
    published_on, reply, sheet_name, under_review}`` — nothing else (no score items, evidence, objection text, ids
    of people). A grade under objection keeps showing, marked ``under_review``."""
    qs = Rating.objects.filter(state__in=PUBLIC_STATES, published_on__isnull=False)
    if sheet:
        qs = qs.filter(sheet__code=sheet)
    rows = qs.order_by("unit__name", "sheet_id", "-period_end").values_list(
        "unit_id", "sheet_id", "unit__name", "grade", "rated", "period_start", "period_end", "published_on", "reply",
        "sheet__name", "state")
    out, seen = [], set()
    for unit_id, sheet_id, name, grade, rated, ps, pe, pub, reply, sheet_name, state in rows:
        if (unit_id, sheet_id) in seen:
            continue
        seen.add((unit_id, sheet_id))
        out.append({"unit_name": name, "grade": grade if rated else "", "rated": rated, "period_start": ps, "period_end": pe,
                    "published_on": pub, "reply": reply, "sheet_name": sheet_name, "under_review": state == "objected"})
    return out
