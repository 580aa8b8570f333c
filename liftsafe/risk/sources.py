"""Facts owned by other grading modules, each read in ONE function.

- :func:`unit_grades`: the maintenance unit's grade **published** by the rating module
  (:func:`liftsafe.rating.domain.published_grades`; a draft or "not rated" counts as unknown).
- :func:`insurance_in_force`: liability insurance in force from the insurance module's policies
  (:func:`liftsafe.insurance.domain.in_force`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from liftsafe.insurance.domain import in_force
from liftsafe.rating.domain import published_grades
from liftsafe.registry.selectors import current_contracts


def unit_grades(elevator_ids: Iterable[int], today: dt.date) -> dict[int, tuple[int, str]]:
    """``{elevator_id: (maintenance unit id, grade "A"–"D")}`` for lifts with a current contract whose unit has a
    grade published and in force on ``today`` (docs/domain §9, §15.4). Lifts without a contract, or whose unit was
    never rated, is "not rated" or has only drafts, are absent (the factor reads "unknown")."""
    contracts = list(current_contracts(today).filter(elevator_id__in=list(elevator_ids))
                     .order_by("elevator_id", "start_date").values_list("elevator_id", "maintenance_unit_id"))
    grades = published_grades({u for _, u in contracts}, today)
    out: dict[int, tuple[int, str]] = {}
    for eid, unit in contracts:
        g = (grades.get(unit) or "").strip().upper()[:1]
        if g:
            out[eid] = (unit, g)
    return out


def insurance_in_force(elevator_ids: Iterable[int], today: dt.date) -> dict[int, bool]:
    """``{elevator_id: True if a liability policy is in force on today}`` (docs/domain §11), from the insurance
    module's policy records: ``True`` in force, ``False`` the lift has policies on record but none in force (lapsed),
    absent (unknown) when the platform holds no policy for the lift at all — a deployment that has not loaded its
    insurers' policies must not paint every lift uninsured; the coverage-gap page lists those lifts."""
    from liftsafe.insurance.models import Policy

    ids = [int(i) for i in elevator_ids]
    covered = in_force(ids, on=today)
    on_record = set(Policy.elevators.through.objects.filter(elevator_id__in=ids)
                    .values_list("elevator_id", flat=True).distinct())
    return {i: i in covered for i in ids if i in on_record or i in covered}
