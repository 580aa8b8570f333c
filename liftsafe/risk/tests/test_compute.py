"""Each factor with real objects of the owning apps; unknown share; history only on change; incremental = full."""
from __future__ import annotations

import datetime as dt

import pytest

from liftsafe.hazards.models import Hazard
from liftsafe.inspection.models import Validity
from liftsafe.maintenance.models import Visit
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, MonitoringDevice
from liftsafe.risk.compute import recompute
from liftsafe.risk.config import model
from liftsafe.risk.models import RiskChange, RiskScore

from .conftest import NOW, make_case

pytestmark = pytest.mark.django_db


def _f(e, key):
    return RiskScore.objects.get(elevator=e).factors[key]


def test_a_lift_with_no_data_reads_unknown_and_says_how_much(rw):
    recompute(trigger="test", now=NOW)
    s = RiskScore.objects.get(elevator=rw.elevators["b2"])  # no installation date, place type, inspection, visits, grade
    unknown = {k for k, f in s.factors.items() if f["value"] is None}
    assert unknown == {"age", "inspection", "crowded_place", "maintenance_overdue", "maintenance_flagged", "unit_grade", "insurance"}
    w = {f.key: f.weight for f in model().factors}
    assert s.unknown_share == pytest.approx(sum(w[k] for k in unknown) / model().total_weight, abs=1e-4)
    # known: no entrapments, no faults, no hazards, and no IoT device (a known fact: it adds the weight)
    assert s.factors["iot_coverage"]["points"] == w["iot_coverage"] and s.score == w["iot_coverage"]
    assert s.colour == "blue" and not s.replacement


def test_age_and_replacement_flag(rw):
    recompute(trigger="test", now=NOW)
    a1, a2, b1 = (RiskScore.objects.get(elevator=rw.elevators[k]) for k in ("a1", "a2", "b1"))
    assert a1.factors["age"]["raw"] == 6 and a1.factors["age"]["value"] == 0.2 and not a1.replacement
    assert a2.factors["age"]["raw"] == 25 and a2.factors["age"]["points"] == 15 and a2.replacement
    assert b1.factors["age"]["raw"] == 10 and not b1.replacement


def test_entrapments_and_faults_use_emergency_definitions_and_iot_alarms(rw):
    e = rw.elevators["a1"]
    ent = [make_case(e) for _ in range(2)]
    make_case(e, state="false_alarm")  # a false alarm is no entrapment (emergency.domain)
    make_case(e, at=NOW - dt.timedelta(days=400))  # outside the 365-day window
    fault = make_case(e, case_type="fault_report")
    make_case(e, case_type="enquiry")
    alarm = Alarm.objects.create(elevator=e, type=AlarmType.DOOR_FAULT, raised_at=NOW - dt.timedelta(days=3), last_occurred_at=NOW)
    Alarm.objects.create(elevator=e, type=AlarmType.POWER_LOSS, raised_at=NOW - dt.timedelta(days=3), last_occurred_at=NOW)
    recompute(trigger="test", now=NOW)
    f = _f(e, "entrapments")
    assert f["raw"] == 2 and sorted(f["evidence"]["cases"]) == sorted(c.pk for c in ent) and f["points"] == pytest.approx(10)
    g = _f(e, "faults")
    assert g["raw"] == 2 and g["evidence"] == {"cases": [fault.pk], "alarms": [alarm.pk]}


def test_inspection_validity_states(rw):
    e = rw.elevators
    Validity.objects.create(elevator=e["a1"], policy="x", state="failed")
    Validity.objects.create(elevator=e["a2"], policy="x", state="expired")
    Validity.objects.create(elevator=e["b1"], policy="x", state="valid")
    recompute(trigger="test", now=NOW)
    assert _f(e["a1"], "inspection")["points"] == 20 and _f(e["a2"], "inspection")["points"] == 12
    assert _f(e["b1"], "inspection")["points"] == 0 and _f(e["b2"], "inspection")["value"] is None


def test_open_and_overdue_hazards(rw):
    e = rw.elevators["a1"]
    kw = dict(elevator=e, area=e.area, source="spot_check", title="t")
    h1 = Hazard.objects.create(state="open", deadline=dt.date(2026, 11, 1), **kw)  # overdue on NOW
    h2 = Hazard.objects.create(state="rectifying", deadline=dt.date(2027, 1, 1), **kw)
    Hazard.objects.create(state="closed", deadline=dt.date(2026, 1, 1), **kw)
    Hazard.objects.create(state="lead", **kw)
    recompute(trigger="test", now=NOW)
    assert _f(e, "hazards_open")["raw"] == 2 and sorted(_f(e, "hazards_open")["evidence"]["hazards"]) == sorted([h1.pk, h2.pk])
    assert _f(e, "hazards_overdue")["raw"] == 1 and _f(e, "hazards_overdue")["evidence"]["hazards"] == [h1.pk]


def test_crowded_place_by_place_type(rw):
    e = rw.elevators
    e["a1"].place_type = 3  # hospital
    e["a1"].save()
    e["a2"].place_type = 11  # residential
    e["a2"].save()
    recompute(trigger="test", now=NOW)
    assert _f(e["a1"], "crowded_place")["raw"] is True and _f(e["a1"], "crowded_place")["points"] == 10
    assert _f(e["a2"], "crowded_place")["raw"] is False
    assert _f(e["b1"], "crowded_place")["value"] is None


def test_maintenance_overdue_and_flagged_visits(rw):
    e, unit = rw.elevators, rw.orgs[("maintenance_unit", "a")]
    Visit.objects.create(elevator=e["a1"], maintenance_unit=unit, tier="half_monthly", state="checked_out",
                         checked_out_at=NOW - dt.timedelta(days=40), flags=["short_dwell"])
    v = Visit.objects.create(elevator=e["a2"], maintenance_unit=unit, tier="half_monthly", state="checked_out",
                             checked_out_at=NOW - dt.timedelta(days=3))
    recompute(trigger="test", now=NOW)
    assert _f(e["a1"], "maintenance_overdue")["raw"] is True and _f(e["a1"], "maintenance_flagged")["raw"] == 1
    assert _f(e["a2"], "maintenance_overdue")["raw"] is False and _f(e["a2"], "maintenance_flagged")["raw"] == 0
    assert _f(e["b1"], "maintenance_overdue")["value"] is None  # no visit data at all: unknown, not "overdue"
    assert v.pk


def test_unit_grade_iot_and_insurance(rw):
    """The unit's grade is the rating module's PUBLISHED grade (a label on the organisation or a draft counts for
    nothing); insurance reads the insurance module's policies: in force, lapsed, or never on record (unknown)."""
    from liftsafe.insurance.models import Policy
    from liftsafe.rating.models import Rating, Sheet

    e = rw.elevators
    unit = rw.orgs[("maintenance_unit", "a")]
    unit.grade = "A"  # the registry's generated label: ignored
    unit.save()
    sheet = Sheet.objects.get(code="city_monthly")
    draft = dict(unit=unit, sheet=sheet, sheet_config={}, area=e["a1"].area, rated=True, score=50.0)
    Rating.objects.create(**draft, period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30), grade="A")  # draft
    MonitoringDevice.objects.create(device_id="D-1", elevator=e["a1"])
    recompute(trigger="test", now=NOW)
    assert _f(e["a1"], "unit_grade")["value"] is None  # only a draft: not published, unknown
    Rating.objects.create(**draft, period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31), grade="D",
                          state="published", published_on=dt.date(2026, 11, 10))
    insurer = rw.orgs[("insurer", "a")]
    live = Policy.objects.create(insurer=insurer, policy_no="P-1", insured_party=unit, limit_per_person=300000, limit_per_accident=1000000, start_date=dt.date(2026, 1, 1),
                                 end_date=dt.date(2026, 12, 31))
    live.elevators.add(e["a1"])
    lapsed = Policy.objects.create(insurer=insurer, policy_no="P-0", insured_party=unit, limit_per_person=300000, limit_per_accident=1000000, start_date=dt.date(2025, 1, 1),
                                   end_date=dt.date(2025, 12, 31))
    lapsed.elevators.add(e["a2"])
    recompute(trigger="test", now=NOW)
    assert _f(e["a1"], "unit_grade")["raw"] == "D" and _f(e["a1"], "unit_grade")["points"] == 5
    assert _f(e["a1"], "iot_coverage")["raw"] is False and _f(e["a2"], "iot_coverage")["raw"] is True
    assert _f(e["b1"], "unit_grade")["value"] is None
    assert _f(e["a1"], "insurance")["raw"] is False and _f(e["a1"], "insurance")["points"] == 0  # in force: not "uninsured"
    assert _f(e["a2"], "insurance")["raw"] is True and _f(e["a2"], "insurance")["points"] > 0  # lapsed: uninsured
    assert _f(e["b1"], "insurance")["value"] is None  # no policy on record at all: unknown, never guessed


def test_history_only_when_colour_or_factors_change_and_runs_are_idempotent(rw):
    e = rw.elevators["a1"]
    first = recompute(trigger="nightly", now=NOW)
    assert first["lifts"] == 4 and first["changed"] == 4
    assert recompute(trigger="nightly", now=NOW + dt.timedelta(hours=1))["changed"] == 0
    assert RiskChange.objects.count() == 4
    Validity.objects.create(elevator=e, policy="x", state="failed")
    for _ in range(3):
        make_case(e)
    recompute(trigger="nightly", now=NOW + dt.timedelta(hours=2))
    c = RiskChange.objects.filter(elevator=e).first()
    assert c.old_colour == "blue" and c.new_colour == "orange" and c.trigger == "nightly"
    assert c.old_factors["inspection"]["value"] is None and c.new_factors["inspection"]["raw"] == "failed"
    s = RiskScore.objects.get(elevator=e)
    assert s.colour_since == NOW + dt.timedelta(hours=2)


def test_incremental_and_full_recompute_agree(rw):
    e = rw.elevators
    Validity.objects.create(elevator=e["a2"], policy="x", state="expired")
    make_case(e["a2"])
    e["a2"].place_type = 6
    e["a2"].save()
    recompute(trigger="full", now=NOW)
    full = {s.elevator_id: (s.score, s.colour, s.factors, s.unknown_share) for s in RiskScore.objects.all()}
    RiskScore.objects.all().delete()
    for x in e.values():
        recompute([x.pk], trigger="one", now=NOW)
    one = {s.elevator_id: (s.score, s.colour, s.factors, s.unknown_share) for s in RiskScore.objects.all()}
    assert one == full
    assert full[e["a2"].pk][0] == 47 and full[e["a2"].pk][1] == "orange"  # 15 age + 5 entrapment + 12 inspection + 10 crowded + 5 no IoT
