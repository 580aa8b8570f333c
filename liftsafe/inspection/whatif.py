"""Classified-cycle what-if (issue 12; the seed's 试点分类调整定期检验周期, docs/domain §6): evaluate a candidate
policy over the caller's fleet before a regulator adopts it.

A candidate is a policy code of :data:`liftsafe.inspection.schedule.POLICIES` applied to the lifts matching
``criteria`` (the others keep their current policy); criteria are keyed on what the work plan names:
maintenance-unit grade, IoT monitoring, age and place type (crowded places). For every lift the number of
periodic INSPECTIONS due in the next ``years`` years is counted under both policies (assuming each is done on
time; self-tests are not inspections). Returns the fleet totals per year and the touched lifts, riskiest first.

"Risk" here is a stated proxy until a risk module exists: crowded place first, then age (docs/domain §8 names
age and place among the risk factors).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import current_contracts, scope_elevators
from liftsafe.rules import rule

from . import schedule


def inspections_between(policy: schedule.Policy, base: dt.date, start: dt.date, end: dt.date) -> int:
    """How many inspections ``policy`` schedules with a due date in ``[start, end)`` from ``base`` (pure)."""
    if not policy.anchored:
        n, k = 0, 1
        while True:
            due = schedule.add_months(base, policy.interval_months * k)
            if due >= end:
                return n
            n += due >= start
            k += 1
    n, k = 0, 1
    while True:
        occ = schedule.occurrence(policy, base, k)
        if occ.due >= end:
            return n
        n += occ.kind == schedule.INSPECTION and occ.due >= start
        k += 1


@dataclass
class Criteria:
    """Which lifts the candidate applies to (None = any). ``max_age_years``: years since the base (or installation)."""

    grades: set[str] | None = None
    iot: bool | None = None
    max_age_years: int | None = None
    crowded_place: bool | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class WhatIf:
    lifts: int
    touched: int
    years: int
    current_per_year: float
    candidate_per_year: float
    delta_per_year: float
    top: list[dict]


def what_if(user, *, candidate: str, criteria: Criteria | None = None, years: int = 10, today: dt.date | None = None,
            limit: int = 50) -> WhatIf:
    """Evaluate ``candidate`` over the lifts ``user`` may see (scoped). ``years`` 1-30.

    Raises:
        KeyError: unknown policy code.
    """
    cand = schedule.POLICIES[candidate]
    criteria = criteria or Criteria()
    today = today or timezone.localdate()
    end = schedule.add_months(today, 12 * years)
    table = rule("inspection_policies")
    grade = Subquery(current_contracts(today).filter(elevator=OuterRef("pk")).values("maintenance_unit__grade")[:1])
    qs = scope_elevators(scope_of(user), Elevator.objects.exclude(status=Elevator.Status.SCRAPPED)).annotate(mu_grade=grade)
    fields = ["pk", "area__code", "category", "crowded_place", "installation_date", "supervision_pass_date",
              "inspection_validity__base_date", "mu_grade", "source_id", "address"]
    with_iot = set()
    if criteria.iot is not None and any(f.name == "monitoring_devices" for f in Elevator._meta.get_fields()):
        with_iot = set(qs.filter(monitoring_devices__isnull=False).values_list("pk", flat=True))
    lifts = touched = cur_total = cand_total = 0
    rows = []
    for pk, area, cat, crowded, inst, sup, vbase, mu_grade, sid, addr in qs.values_list(*fields).iterator(chunk_size=5000):
        base = vbase or sup or inst
        if base is None:
            continue
        lifts += 1
        current = schedule.select_policy(area, cat, table)
        n_cur = inspections_between(current, base, today, end)
        cur_total += n_cur
        age = (today - base).days // 365
        match = ((criteria.grades is None or (mu_grade or "") in criteria.grades)
                 and (criteria.iot is None or (pk in with_iot) == criteria.iot)
                 and (criteria.max_age_years is None or age <= criteria.max_age_years)
                 and (criteria.crowded_place is None or crowded == criteria.crowded_place)
                 and (not criteria.categories or any(cat.startswith(c) for c in criteria.categories)))
        if not match or current.code == cand.code:
            cand_total += n_cur
            continue
        n_new = inspections_between(cand, base, today, end)
        cand_total += n_new
        if n_new != n_cur:
            touched += 1
            rows.append({"elevator": pk, "code": sid, "address": addr, "crowded_place": crowded, "age_years": age,
                         "current": n_cur, "candidate": n_new, "delta": n_new - n_cur})
    rows.sort(key=lambda r: (not r["crowded_place"], -r["age_years"], r["elevator"]))
    return WhatIf(lifts=lifts, touched=touched, years=years, current_per_year=round(cur_total / years, 1),
                  candidate_per_year=round(cand_total / years, 1), delta_per_year=round((cand_total - cur_total) / years, 1),
                  top=rows[:limit])
