"""Reports count a case in its own area (``EmergencyCase.area``, where it happened), not its elevator's current area.

The same numbers as the former filter through the elevator while no elevator was re-coded (checked cell by cell on
the hand-built dataset of ``test_indicators``); after a re-coding the old cases stay in the old area while the
elevator (the fleet) moves.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from liftsafe.emergency import services as emergency
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry import services as registry
from liftsafe.reports import selectors as S

from .test_indicators import NOW, RULES, SH, build_dataset, ind


def _through_elevator(self, period):
    """The former ``_Base.cases``: the area filter through the elevator's current area (a join of elevators)."""
    qs = EmergencyCase.objects.filter(received_at__gte=period.start_at, received_at__lt=period.end_at)
    return self._narrow(qs, "elevator__").order_by()


def _report(world, user, area, period="2023-05"):
    data = S.report_data(world.users[user], area_code=area, period=period, language="en", now=NOW)
    return json.loads(json.dumps({k: v for k, v in data.items() if k != "generated_at"}, default=str))


@pytest.fixture
def dataset(world, settings):
    settings.LIFTSAFE_RULES = dict(RULES)
    settings.TIME_ZONE = "Asia/Shanghai"
    return build_dataset(world)


@pytest.mark.parametrize("user,area", [("admin", None), ("admin", "320100"), ("regulator", "320102"),
                                       ("city_regulator", "320104"), ("maintenance_unit", None),
                                       ("maintenance_unit", "320102"), ("use_unit", None)])
def test_same_numbers_as_the_filter_through_the_elevator(dataset, monkeypatch, user, area):
    new = [_report(dataset, user, area, p) for p in ("2023-05", "2023-Q2")]
    assert ind(new[0], "cases")["value"] > 0  # the comparison is not vacuous
    monkeypatch.setattr(S._Base, "cases", _through_elevator)
    old = [_report(dataset, user, area, p) for p in ("2023-05", "2023-Q2")]
    assert new == old


def test_a_recoded_elevator_leaves_its_old_cases_in_the_old_area(world, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    a1, A, B = world.elevators["a1"], world.district_a, world.district_b
    at = dt.datetime(2023, 5, 3, 8, 0, tzinfo=SH)
    case = emergency.intake_alarm(a1, channel="phone_96333", case_type="entrapment", received_at=at).case
    assert case.area_id == A.pk
    a1 = registry.elevator_update(world.users["admin"], a1, {"area": B}, reason="re-coded to district B")
    case.refresh_from_db()
    assert case.area_id == A.pk  # the case keeps the area where it happened

    def may(area):
        return S.report_data(world.users["admin"], area_code=area, period="2023-05", language="en", now=NOW)

    in_a, in_b = may(A.code), may(B.code)
    assert (ind(in_a, "cases")["value"], ind(in_a, "entrapments")["value"], ind(in_a, "elevators_in_use")["value"]) == (1, 1, 1)
    assert (ind(in_b, "cases")["value"], ind(in_b, "entrapments")["value"], ind(in_b, "elevators_in_use")["value"]) == (0, 0, 3)
    # the city report: the fault in A's row, the re-coded elevator in B's fleet
    by_area = {r[1]: r[2:5] for r in S.table(may("320100"), "by_area")["rows"]}
    assert by_area == {A.code: [1, 1, 1], B.code: [3, 0, 0]}
    # a call attached to the open case does not move it; a new case after the re-coding is B's
    again = emergency.intake_alarm(a1, channel="iot", case_type="entrapment", received_at=at + dt.timedelta(minutes=5))
    assert (again.created, again.case.pk, again.case.area_id) == (False, case.pk, A.pk)
    emergency.record_milestone(None, case, "cancelled", at=at + dt.timedelta(minutes=10))
    later = emergency.intake_alarm(a1, channel="iot", case_type="fault_report", received_at=at + dt.timedelta(days=1))
    assert later.created and later.case.area_id == B.pk


def test_case_without_area_is_an_unknown_row_in_an_unfiltered_report(world, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    at = dt.datetime(2023, 5, 3, 8, 0, tzinfo=SH)
    EmergencyCase.objects.create(elevator=world.elevators["a1"], order_number="NOAREA1", channel="phone_96333",
                                 case_type="entrapment", state="completed", received_at=at)
    data = S.report_data(world.users["admin"], area_code=None, period="2023-05", language="en", now=NOW)
    assert ind(data, "entrapments")["value"] == 1
    rows = S.table(data, "by_area")["rows"]
    assert rows[-1][0] == "Unknown" and rows[-1][2:5] == [0, 1, 1]
    assert sum(r[3] for r in rows) == ind(data, "faults")["value"]
    # an area report does not count it (its area is unknown)
    city = S.report_data(world.users["admin"], area_code="320100", period="2023-05", language="en", now=NOW)
    assert ind(city, "cases")["value"] == 0
