"""Classified-cycle what-if (counts of inspections per policy) and the background jobs."""
import datetime as dt

import pytest

from liftsafe.core.models import Notification
from liftsafe.inspection import schedule, services
from liftsafe.inspection.tasks import escalate_overdue_findings
from liftsafe.inspection.whatif import Criteria, inspections_between, what_if
from liftsafe.registry.models import Elevator

D = dt.date


@pytest.mark.parametrize("policy,base,start,end,n,source", [
    (schedule.T7001_2023, D(2024, 5, 1), D(2024, 5, 1), D(2033, 5, 1), 3,
     "docs/domain §6: years 1, 4, 7 (2025, 2028, 2031); year 9 is due 2033-05-31, after the window"),
    (schedule.T7001_2023, D(2024, 5, 1), D(2024, 5, 1), D(2034, 6, 1), 4, "docs/domain §6: + year 9 (2033-05); year 10 self-test"),
    (schedule.LEGACY_ANNUAL, D(2024, 5, 1), D(2024, 5, 1), D(2034, 5, 1), 9, "docs/domain §6 legacy: annual (2025..2033)"),
    (schedule.NYC_ANNUAL, D(2024, 5, 1), D(2024, 5, 1), D(2034, 5, 2), 10, "docs/domain §12: every 12 months"),
    (schedule.T7001_2023, D(2005, 5, 1), D(2024, 6, 1), D(2034, 6, 1), 10, "docs/domain §6: over 15 years every year"),
    (schedule.SHANXI_2020, D(2024, 5, 1), D(2024, 5, 1), D(2034, 6, 1), 4, "docs/domain §6 Shanxi pilot: years 3, 6, 8, 10"),
])
def test_inspections_between(policy, base, start, end, n, source):
    assert inspections_between(policy, base, start, end) == n, source


def test_what_if_counts_and_touched(world):
    today = D(2026, 12, 7)
    a1, a2 = world.elevators["a1"], world.elevators["a2"]
    Elevator.objects.filter(pk=a1.pk).update(supervision_pass_date=D(2024, 1, 10), crowded_place=True)
    Elevator.objects.filter(pk=a2.pk).update(supervision_pass_date=D(2003, 1, 10))
    # the regulator of district A sees a1 and a2; candidate: legacy annual for lifts ≤ 15 years (only a1 matches)
    r = what_if(world.users["regulator"], candidate="legacy_annual", criteria=Criteria(max_age_years=15), years=10, today=today)
    cur_a1 = inspections_between(schedule.T7001_2023, D(2024, 1, 10), today, D(2036, 12, 7))
    new_a1 = inspections_between(schedule.LEGACY_ANNUAL, D(2024, 1, 10), today, D(2036, 12, 7))
    cur_a2 = inspections_between(schedule.T7001_2023, D(2003, 1, 10), today, D(2036, 12, 7))
    assert r.lifts == 2 and r.touched == 1 and [t["elevator"] for t in r.top] == [a1.pk]
    assert r.current_per_year == round((cur_a1 + cur_a2) / 10, 1) and r.candidate_per_year == round((new_a1 + cur_a2) / 10, 1)
    assert r.delta_per_year > 0 and r.top[0]["crowded_place"]
    # scoped: district B's regulator-free user sees nothing of A
    assert what_if(world.users["nobody"], candidate="legacy_annual", today=today).lifts == 0


def test_overdue_findings_escalate_once(world):
    e = world.elevators["a1"]
    services.inspection_record(None, elevator=e, kind="periodic", inspected_on=D(2026, 3, 1), conclusion="fail", today=D(2026, 12, 7),
                               findings=[{"clause": "2.8", "text": "制动器", "finding_class": "major", "deadline": D(2026, 3, 20)}])
    assert escalate_overdue_findings(today=D(2026, 3, 20)) == 0  # due that day: not yet overdue
    assert escalate_overdue_findings(today=D(2026, 3, 21)) == 1
    assert escalate_overdue_findings(today=D(2026, 3, 22)) == 0
    n = Notification.objects.get(kind="inspection.finding_overdue")
    assert n.area_id == e.area_id


def test_daily_job_announces_transitions_not_first_sightings(world):
    from liftsafe.hazards.models import Hazard
    from liftsafe.inspection.models import Validity

    e = world.elevators["a1"]
    Elevator.objects.filter(pk=e.pk).update(supervision_pass_date=D(2025, 1, 10))
    services.validity_recompute([e.pk], today=D(2026, 3, 1), announce_first=False)  # first sighting, already expired
    assert Validity.objects.get(elevator=e).state == "expired" and not Hazard.objects.filter(elevator=e).exists()
    services.inspection_record(None, elevator=e, kind="periodic", inspected_on=D(2026, 3, 1), conclusion="pass", today=D(2026, 3, 1))
    services.validity_recompute([e.pk], today=D(2027, 4, 1), announce_first=False)  # year 2 self-test (2027-01) missed
    assert Validity.objects.get(elevator=e).state == "expired"
    assert Hazard.objects.filter(elevator=e, source="inspection").count() == 1
    assert Notification.objects.filter(kind="inspection.invalid").count() == 2  # use unit + maintenance unit
    services.validity_recompute([e.pk], today=D(2027, 4, 2), announce_first=False)
    assert Hazard.objects.filter(elevator=e, source="inspection").count() == 1
