"""Inspection reads, scoped to the caller through :func:`liftsafe.registry.selectors.scope_elevators`.

An elevator outside the scope is :class:`~liftsafe.core.errors.NotFound` (like a missing one).
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import QuerySet
from django.utils import timezone

from liftsafe.core.errors import NotFound
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import scope_elevators

from . import schedule
from .models import Finding, FindingState, InspectionRecord, Validity


def elevator_for(user, elevator_id: int) -> Elevator:
    """The elevator if ``user`` may see it. Raises NotFound otherwise."""
    e = scope_elevators(scope_of(user), Elevator.objects.select_related("area")).filter(pk=elevator_id).first()
    if e is None:
        raise NotFound()
    return e


def validity_of(user, elevator_id: int) -> tuple[Elevator, Validity | None]:
    """``(elevator, its Validity row or None before the first recompute)``. Raises NotFound."""
    e = elevator_for(user, elevator_id)
    return e, Validity.objects.filter(elevator=e).first()


def records_of(user, elevator_id: int) -> QuerySet[InspectionRecord]:
    """The elevator's records, newest first, with their findings and agency. Raises NotFound."""
    e = elevator_for(user, elevator_id)
    return InspectionRecord.objects.filter(elevator=e).select_related("agency").prefetch_related("findings")


def due_list(user, *, months: int = 3, today: dt.date | None = None) -> tuple[QuerySet[Validity], list[tuple[str, int]]]:
    """Lifts in the caller's scope due within ``months`` months (overdue ones included), soonest first, and the
    workload per month ``[("overdue", count), ("YYYY-MM", count), …]``: everything due before the current month is
    one ``"overdue"`` row (an agency plans it now), then one row per month of the horizon."""
    today = today or timezone.localdate()
    until = schedule.month_end(schedule.add_months(today, months))
    this_month = today.replace(day=1)
    qs = scope_elevators(scope_of(user), Validity.objects.all(), prefix="elevator__").filter(
        next_due__isnull=False, next_due__lte=until).select_related("elevator", "elevator__area").order_by("next_due", "elevator_id")
    per_month = Counter("overdue" if d < this_month else d.strftime("%Y-%m") for d in qs.values_list("next_due", flat=True))
    overdue = [("overdue", per_month.pop("overdue"))] if "overdue" in per_month else []
    return qs, overdue + sorted(per_month.items())


def findings_for(user, *, open_only: bool = True) -> QuerySet[Finding]:
    """Findings on lifts in the caller's scope (open, rectified and monitored ones when ``open_only``), by deadline."""
    qs = scope_elevators(scope_of(user), Finding.objects.all(), prefix="record__elevator__").select_related(
        "record", "record__elevator")
    if open_only:
        qs = qs.exclude(state=FindingState.CLOSED)
    return qs.order_by("deadline", "pk")
