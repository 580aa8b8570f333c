"""Insurance reads, always scoped to the user (docs/domain §11, §15.7).

Who sees which policy / claim:

- administrator: all;
- insurer: the policies it issued and their claims (``Policy.insurer``), whatever the registry's
  ``Elevator.insurer`` says;
- regulator: policies covering at least one lift of its area, claims on lifts of its area;
- use unit / maintenance unit: policies covering one of its lifts (``scope_elevators``) or held by it
  (the insured party), claims on its lifts;
- everyone else (96333 operator, inspection agency, rescue station, no role): nothing (``insurance.view``).
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.models import Role
from liftsafe.core.permissions import role_allowed
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import scope_elevators

from .domain import in_force_q
from .models import Claim, Policy


def policies_for(user) -> QuerySet[Policy]:
    """Every policy ``user`` may see (see the module docstring)."""
    scope = scope_of(user)
    if not role_allowed(user, "insurance.view"):
        return Policy.objects.none()
    if scope.is_admin:
        return Policy.objects.all()
    if scope.role == Role.INSURER:
        return Policy.objects.filter(insurer_id=scope.organisation_id)
    lifts = scope_elevators(scope, Elevator.objects.all()).filter(insurance_policies=OuterRef("pk"))
    q = Q(Exists(lifts))
    if scope.role in (Role.USE_UNIT, Role.MAINTENANCE_UNIT) and scope.organisation_id:
        q |= Q(insured_party_id=scope.organisation_id)
    return Policy.objects.filter(q)


def policy_get(user, pk: int) -> Policy:
    """One policy in scope. Raises NotFound (missing or outside the scope, indistinguishable)."""
    p = policies_for(user).select_related("insurer", "insured_party").filter(pk=pk).first()
    if p is None:
        raise NotFound(_("policy not found"))
    return p


def policy_lifts(user, policy: Policy) -> QuerySet[Elevator]:
    """The lifts a policy covers that ``user`` may see: all of them for its insurer and admins (the policy's
    schedule), the user's own otherwise."""
    scope = scope_of(user)
    qs = policy.elevators.select_related("area").order_by("id")
    if scope.is_admin or (scope.role == Role.INSURER and scope.organisation_id == policy.insurer_id):
        return qs
    return scope_elevators(scope, qs)


def policy_list(user, *, state: str = "", on: dt.date | None = None) -> QuerySet[Policy]:
    """Policies in scope with ``lift_count``; ``state`` "in_force" / "expired" / "future" on ``on`` (today)."""
    on = on or timezone.localdate()
    qs = policies_for(user).select_related("insurer", "insured_party").annotate(lift_count=Count("elevators", distinct=True))
    if state == "in_force":
        qs = qs.filter(in_force_q(on))
    elif state == "expired":
        qs = qs.filter(end_date__lt=on)
    elif state == "future":
        qs = qs.filter(start_date__gt=on)
    return qs.order_by("-start_date", "policy_no")


def claims_for(user) -> QuerySet[Claim]:
    """Every claim ``user`` may see (see the module docstring)."""
    scope = scope_of(user)
    if not role_allowed(user, "insurance.view"):
        return Claim.objects.none()
    if scope.is_admin:
        return Claim.objects.all()
    if scope.role == Role.INSURER:
        return Claim.objects.filter(policy__insurer_id=scope.organisation_id)
    return scope_elevators(scope, Claim.objects.all(), prefix="elevator__")


def claim_get(user, pk: int) -> Claim:
    """One claim in scope. Raises NotFound."""
    c = claims_for(user).select_related("policy__insurer", "policy__insured_party", "elevator", "case").filter(pk=pk).first()
    if c is None:
        raise NotFound(_("claim not found"))
    return c


def claim_list(user, *, state: str = "") -> QuerySet[Claim]:
    qs = claims_for(user).select_related("policy__insurer", "elevator", "case")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-suggested_at", "-id")


def coverage_gaps(user, on: dt.date | None = None) -> QuerySet[Elevator]:
    """Lifts in use inside ``user``'s scope with no policy in force on ``on`` (today). Unscoped roles: none."""
    on = on or timezone.localdate()
    covered = Policy.elevators.through.objects.filter(elevator_id=OuterRef("pk")).filter(in_force_q(on, "policy__"))
    return scope_elevators(scope_of(user)).filter(status=Elevator.Status.IN_USE).exclude(Exists(covered))


def coverage_by_area(user, on: dt.date | None = None) -> list[dict]:
    """``[{"area_id", "area", "in_use", "uninsured", "share"}]`` per area of the user's scope, most uninsured first;
    ``share`` is uninsured / in use (0..1)."""
    on = on or timezone.localdate()
    in_use = scope_elevators(scope_of(user)).filter(status=Elevator.Status.IN_USE)
    totals = {r["area_id"]: r for r in in_use.values("area_id", "area__name").annotate(n=Count("id"))}
    gaps = dict(coverage_gaps(user, on).values("area_id").annotate(n=Count("id")).values_list("area_id", "n"))
    rows = [{"area_id": a, "area": r["area__name"], "in_use": r["n"], "uninsured": gaps.get(a, 0),
             "share": gaps.get(a, 0) / r["n"] if r["n"] else 0.0} for a, r in totals.items()]
    return sorted(rows, key=lambda r: (-r["uninsured"], r["area"] or ""))


def elevator_status(user, elevator: Elevator, on: dt.date | None = None) -> dict | None:
    """The insurance section of the elevator file: ``{"in_force": [policies], "other": [policies], "claims": [...],
    "insured": bool}`` for users who may read insurance, None for the others (the section is left out)."""
    if not role_allowed(user, "insurance.view"):
        return None
    on = on or timezone.localdate()
    scope = scope_of(user)
    policies = Policy.objects.filter(elevators=elevator).select_related("insurer", "insured_party").order_by("-end_date")
    insured = policies.filter(in_force_q(on)).exists()  # a fact about the lift, whoever's policy it is
    visible = policies if (scope.is_admin or scope.role != Role.INSURER) else policies.filter(insurer_id=scope.organisation_id)
    rows = list(visible[:20])
    return {"insured": insured, "on": on,
            "in_force": [p for p in rows if p.start_date <= on <= p.end_date],
            "other": [p for p in rows if not (p.start_date <= on <= p.end_date)],
            "claims": list(claims_for(user).filter(elevator=elevator).select_related("policy", "case").order_by("-suggested_at")[:20])}
