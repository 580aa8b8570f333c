"""Facts owned by modules built in parallel, each read in ONE function (wiring points for the integrator).

- :func:`unit_grades` reads ``registry.Organisation.grade`` today; **to read rating's published grade**
  (the ``rating`` app's public projection of published ratings) once it lands.
- :func:`insurance_in_force` reads nothing today (every lift "unknown"); **to read the ``insurance`` app's
  policies in force** once it lands.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from liftsafe.registry.selectors import current_contracts


def unit_grades(elevator_ids: Iterable[int], today: dt.date) -> dict[int, tuple[int, str]]:
    """``{elevator_id: (maintenance unit id, grade "A"–"D")}`` for lifts with a current contract whose unit has a
    grade. Lifts without a contract or a graded unit are absent (the factor reads "unknown").

    Today: ``Organisation.grade`` (a label the registry holds; docs/domain §9). To read rating's published
    grade (the rating app's published, not-draft grade of the unit) once the rating module is merged."""
    out: dict[int, tuple[int, str]] = {}
    rows = (current_contracts(today).filter(elevator_id__in=list(elevator_ids)).exclude(maintenance_unit__grade="")
            .order_by("elevator_id", "start_date").values_list("elevator_id", "maintenance_unit_id", "maintenance_unit__grade"))
    for eid, unit, grade in rows:
        g = (grade or "").strip().upper()[:1]
        if g:
            out[eid] = (unit, g)
    return out


def insurance_in_force(elevator_ids: Iterable[int], today: dt.date) -> dict[int, bool]:
    """``{elevator_id: True if a safety-liability policy is in force}``; absent = unknown.

    Today: always empty — no insurance records exist in the platform (the ``Elevator.insurer`` field names an
    insurer, not a policy in force). To read the insurance app's policies in force on ``today`` once merged."""
    del elevator_ids, today
    return {}

