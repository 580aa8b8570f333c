"""Key periods (validation, uplift start and expiry recorded), red-list tasks (idempotent), flows (incremental)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from liftsafe.core.errors import PermissionDenied
from liftsafe.emergency import services as emergency_services
from liftsafe.hazards import services as hazard_services
from liftsafe.hazards.models import Hazard
from liftsafe.inspection.models import Validity
from liftsafe.risk import services
from liftsafe.risk.compute import recompute
from liftsafe.risk.models import KeyPeriod, RiskChange, RiskScore, RiskTask

from .conftest import make_case

pytestmark = pytest.mark.django_db


def _period(w, user=None, **kw):
    now = timezone.now()
    values = dict(name="高考", starts_at=now + dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=2),
                  areas=[w.district_a.pk], place_types=[], uplift_kind="band", uplift_points=0)
    values.update(kw)
    return services.key_period_create(user or w.users["regulator"], **values)


def test_key_period_validation_names_fields(rw):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        _period(rw, starts_at=now, ends_at=now - dt.timedelta(hours=1), place_types=[99], uplift_kind="points", uplift_points=0,
                name=" ")
    errs = exc.value.message_dict
    assert {"ends_at", "place_types", "uplift_points", "name"} <= set(errs)
    with pytest.raises(ValidationError) as exc:
        _period(rw, starts_at=now.replace(tzinfo=None))
    assert "starts_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # district B is outside regulator A's area
        _period(rw, areas=[rw.district_b.pk])
    assert "areas" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        _period(rw, user=rw.users["maintenance_unit"])
    assert not KeyPeriod.objects.exists()


def test_key_period_uplift_starts_and_ends_by_itself_recorded_in_history(rw):
    recompute(trigger="nightly")
    p = _period(rw)
    a1 = rw.elevators["a1"]
    assert p.applied_at is None and RiskScore.objects.get(elevator=a1).colour == "blue"
    start = p.starts_at + dt.timedelta(minutes=1)
    assert services.apply_key_periods(start) == {"started": 1, "ended": 0}
    assert services.apply_key_periods(start) == {"started": 0, "ended": 0}  # idempotent
    s = RiskScore.objects.get(elevator=a1)
    assert s.colour == "yellow" and s.base_colour == "blue" and s.key_period == p and s.raised and s.score == 20
    assert RiskScore.objects.get(elevator=rw.elevators["b1"]).key_period is None  # other district untouched
    c = RiskChange.objects.filter(elevator=a1).first()
    assert c.trigger == "key_period_start" and c.key_period == p and (c.old_colour, c.new_colour) == ("blue", "yellow")
    end = p.ends_at + dt.timedelta(minutes=1)
    assert services.apply_key_periods(end) == {"started": 0, "ended": 1}
    s.refresh_from_db()
    assert s.colour == "blue" and s.key_period is None
    c = RiskChange.objects.filter(elevator=a1).first()
    assert c.trigger == "key_period_end" and (c.old_colour, c.new_colour) == ("yellow", "blue")
    p.refresh_from_db()
    assert p.applied_at == start and p.expired_at == end
    assert [h.history_change_reason for h in p.history.order_by("history_id")][-2:] == ["@risk.key_period_started", "@risk.key_period_ended"]


def test_points_uplift_and_place_types(rw):
    a1, a2 = rw.elevators["a1"], rw.elevators["a2"]
    a1.place_type = 1
    a1.save()
    recompute(trigger="nightly")
    base_a1 = RiskScore.objects.get(elevator=a1).score
    now = timezone.now()
    p = _period(rw, starts_at=now - dt.timedelta(hours=1), place_types=[1, 2], uplift_kind="points", uplift_points=7.5)
    p.refresh_from_db()
    assert p.applied_at is not None  # already in force: started at once
    s = RiskScore.objects.get(elevator=a1)
    assert s.score == base_a1 + 7.5 and s.base_score == base_a1 and s.key_period == p
    assert RiskScore.objects.get(elevator=a2).key_period is None  # not a school


def test_key_period_update_conflict_and_rearm(rw):
    p = _period(rw)
    with pytest.raises(ValidationError) as exc:
        services.key_period_update(rw.users["regulator"], p, version=99, areas=[rw.district_a.pk], name="x",
                                   starts_at=p.starts_at, ends_at=p.ends_at, uplift_kind="band")
    assert "version" in exc.value.message_dict
    p2 = services.key_period_update(rw.users["regulator"], p, version=1, areas=[rw.district_a.pk], name="国庆",
                                    starts_at=p.starts_at, ends_at=p.ends_at + dt.timedelta(days=1), uplift_kind="band")
    assert p2.version == 2 and p2.name == "国庆"


def test_red_tasks_created_once_per_red_episode(rw):
    a2 = rw.elevators["a2"]  # 25 years
    Validity.objects.create(elevator=a2, policy="x", state="failed")
    a2.place_type = 3
    a2.save()
    for _ in range(3):
        make_case(a2, at=timezone.now() - dt.timedelta(days=5))
    recompute(trigger="nightly")
    assert RiskScore.objects.get(elevator=a2).colour == "red"
    reg = rw.users["regulator"]
    made = services.red_tasks_create(reg)
    assert len(made) == 1 and made[0].hazard.state == "lead" and made[0].hazard.elevator == a2
    assert services.red_tasks_create(reg) == []  # idempotent
    assert services.red_tasks_create(rw.users["city_regulator"]) == []
    # not red any more, then red again: a new episode, a new task
    Validity.objects.filter(elevator=a2).update(state="valid")
    recompute([a2.pk], trigger="t")
    Validity.objects.filter(elevator=a2).update(state="failed")
    recompute([a2.pk], trigger="t", now=timezone.now() + dt.timedelta(seconds=2))
    assert len(services.red_tasks_create(reg)) == 1 and RiskTask.objects.count() == 2
    with pytest.raises(ValidationError) as exc:
        services.red_tasks_create(reg, elevator_ids=[rw.elevators["b1"].pk])
    assert "elevator_ids" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.red_tasks_create(rw.users["operator"])


def test_flows_recompute_one_lift_when_an_input_changes(rw):
    recompute(trigger="nightly")
    a1 = rw.elevators["a1"]
    reg = rw.users["regulator"]
    h = hazard_services.hazard_file(reg, elevator=a1, source="spot_check", title="门锁", level="general",
                                    responsible_unit=rw.orgs[("use_unit", "a")])
    s = RiskScore.objects.get(elevator=a1)
    assert s.factors["hazards_open"]["raw"] == 1 and s.factors["hazards_open"]["evidence"]["hazards"] == [h.pk]
    assert RiskChange.objects.filter(elevator=a1).first().trigger == "flow:hazards.changed"
    case = make_case(a1, case_type="fault_report", state="received", at=timezone.now() - dt.timedelta(minutes=5))
    emergency_services.record_milestone(rw.users["operator"], case, "completed")  # a fault report closed on the phone
    s.refresh_from_db()
    assert s.factors["faults"]["raw"] == 1 and s.factors["faults"]["evidence"]["cases"] == [case.pk] and RiskChange.objects.filter(elevator=a1).first().trigger == "flow:emergency.case_closed"
    assert Hazard.objects.filter(pk=h.pk).exists()
    n = RiskChange.objects.count()
    old = make_case(a1, case_type="fault_report", state="received", at=timezone.now() - dt.timedelta(days=400))
    emergency_services.record_milestone(rw.users["operator"], old, "completed")  # outside the window: nothing to recompute
    assert RiskChange.objects.count() == n


def test_an_inspection_recorded_recomputes_the_lift(rw):
    from liftsafe.inspection import services as insp

    recompute(trigger="nightly")
    a1 = rw.elevators["a1"]
    insp.inspection_record(None, elevator=a1, kind="periodic", inspected_on=timezone.localdate(), conclusion="fail",
                           findings=[{"clause": "M1", "text": "制动器", "finding_class": "minor", "deadline_days": 30}])
    s = RiskScore.objects.get(elevator=a1)
    assert s.factors["inspection"]["raw"] == "failed" and s.factors["inspection"]["points"] == 20
    assert RiskChange.objects.filter(elevator=a1).first().trigger == "flow:inspection.validity_changed"
