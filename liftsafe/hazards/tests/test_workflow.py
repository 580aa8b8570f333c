"""Hazard rules: filing, deadlines, listing, stop-use, evidence, close-out, look-back, recurrence; bad input."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from liftsafe.core.messages import parse
from liftsafe.hazards import services
from liftsafe.hazards.models import Evidence, Hazard, Level, Recheck, State, StopUseOrder
from liftsafe.registry.models import Elevator, LifecycleEvent
from liftsafe.registry.services import elevator_set_status, elevator_update
from liftsafe.rules import rule

from .helpers import days, file_hazard, pdf, png, submitted, today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_file_sets_default_deadline_per_level(world):
    for level in Level.values:
        h = file_hazard(world, level=level)
        assert h.state == State.OPEN and h.version == 1
        assert h.deadline == today() + dt.timedelta(days=rule("hazard_deadline_days")[level])
        assert h.area == world.district_a


def test_deadline_in_past_is_refused_and_nothing_written(world):
    with pytest.raises(ValidationError) as exc:
        file_hazard(world, deadline=days(-1))
    assert "deadline" in exc.value.message_dict
    assert Hazard.objects.count() == 0


def test_responsible_unit_must_be_a_use_or_maintenance_unit(world):
    with pytest.raises(ValidationError) as exc:
        file_hazard(world, unit=("insurer", "a"))
    assert "responsible_unit" in exc.value.message_dict


def test_only_regulators_file_and_only_in_their_area(world):
    with pytest.raises(PermissionDenied):
        file_hazard(world, user="use_unit")
    with pytest.raises(Http404):
        file_hazard(world, elevator="b1")  # district-A regulator, district-B elevator
    assert file_hazard(world, elevator="b1", user="city_regulator").area == world.district_b


def test_overdue_is_derived_from_the_deadline(world):
    h = file_hazard(world)
    assert not h.is_overdue()
    Hazard.objects.filter(pk=h.pk).update(deadline=days(-3))
    h.refresh_from_db()
    assert h.is_overdue() and h.days_overdue() == 3
    from liftsafe.hazards.selectors import hazard_search

    assert [x.pk for x in hazard_search(world.users["regulator"], overdue=True)] == [h.pk]
    assert hazard_search(world.users["regulator"]).get().overdue_now is True


def test_full_cycle_list_stop_use_evidence_close_lookback_recurrence(world):
    reg, unit = world.users["regulator"], world.users["use_unit"]
    a1 = world.elevators["a1"]
    h = file_hazard(world, level=Level.SIGNIFICANT)
    h = services.hazard_list(reg, h, version=h.version, authority="district")
    assert h.listed and h.listed_authority == "district"
    order = services.stop_use_order(reg, h, reason="制动器失效")
    a1.refresh_from_db()
    assert a1.status == Elevator.Status.STOPPED and order.active
    assert LifecycleEvent.objects.filter(elevator=a1, kind="stopped").exists()
    h.refresh_from_db()
    h = services.rectification_start(unit, h, version=h.version)
    ev = services.evidence_add(unit, h, png())
    assert ev.kind == Evidence.Kind.RECTIFICATION and ev.size > 0 and len(ev.sha256) == 64
    h.refresh_from_db()
    h = services.rectification_submit(unit, h, version=h.version, note="更换制动器")
    h = services.hazard_send_back(reg, h, version=h.version, reason="照片不清楚")
    assert h.state == State.RECTIFYING and h.sent_back_count == 1
    services.evidence_add(unit, h, pdf())
    h.refresh_from_db()
    h = services.rectification_submit(unit, h, version=h.version, note="重新提交")
    h = services.hazard_close(reg, h, version=h.version, note="现场核查合格")
    assert h.state == State.CLOSED and h.closed_on_time is True
    order.refresh_from_db()
    a1.refresh_from_db()
    assert order.lifted_at is not None and a1.status == Elevator.Status.IN_USE
    assert LifecycleEvent.objects.filter(elevator=a1, kind="resumed").exists()
    c = services.campaign_create(world.users["city_regulator"], name="回头看 2026", area=world.city,
                                 period_start=days(-30), period_end=today(), rate=0.1, seed=42)
    rc = Recheck.objects.get(campaign=c)
    assert rc.hazard_id == h.pk and rc.listed  # listed hazards are always included
    services.recheck_record(reg, c, h, result="recurrence", note="厅门锁再次失效")
    h.refresh_from_db()
    assert h.state == State.OPEN and h.recurrence_count == 1 and h.level == Level.MAJOR
    assert h.deadline == today() + dt.timedelta(days=rule("hazard_deadline_days")["major"])
    reasons = [parse(r.history_change_reason) for r in h.history.order_by("history_date")]
    assert reasons[0] == ("hazards.filed", {}) and ("hazards.closed", {}) in reasons and reasons[-1][0] == "hazards.reopened"


def test_submit_needs_evidence_and_close_needs_evidence(world):
    h = file_hazard(world)
    with pytest.raises(ValidationError) as exc:
        services.rectification_submit(world.users["use_unit"], h, version=h.version, note="done")
    assert "evidence" in exc.value.message_dict
    Hazard.objects.filter(pk=h.pk).update(state=State.SUBMITTED)  # e.g. a migrated record without evidence
    h.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.hazard_close(world.users["regulator"], h, version=h.version)
    assert "evidence" in exc.value.message_dict
    h.refresh_from_db()
    assert h.state == State.SUBMITTED and h.closed_at is None


def test_responsible_unit_cannot_close_out(world):
    h = submitted(world)
    with pytest.raises(PermissionDenied):
        services.hazard_close(world.users["use_unit"], h, version=h.version)
    with pytest.raises(PermissionDenied):
        services.hazard_close(world.users["maintenance_unit"], h, version=h.version)
    h.refresh_from_db()
    assert h.state == State.SUBMITTED


def test_other_unit_cannot_upload_or_submit(world):
    h = file_hazard(world)
    with pytest.raises(PermissionDenied):
        services.evidence_add(world.users["maintenance_unit"], h, png())
    assert Evidence.objects.count() == 0


@pytest.mark.parametrize("name,content,why", [
    ("virus.exe", b"MZ\x90\x00", "type"),
    ("photo.png", b"GIF89a not a png", "content"),
    ("empty.pdf", b"", "empty"),
])
def test_bad_evidence_is_refused(world, media, name, content, why):
    from django.core.files.uploadedfile import SimpleUploadedFile

    h = file_hazard(world)
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(world.users["use_unit"], h, SimpleUploadedFile(name, content))
    assert "file" in exc.value.message_dict
    assert Evidence.objects.count() == 0
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


def test_oversize_evidence_is_refused(world, settings):
    settings.LIFTSAFE_RULES = {"hazard_evidence_max_bytes": 50}
    h = file_hazard(world)
    with pytest.raises(ValidationError) as exc:
        services.evidence_add(world.users["use_unit"], h, png())
    assert "file" in exc.value.message_dict and "MB" in exc.value.message_dict["file"][0]
    assert Evidence.objects.count() == 0


def test_second_stop_use_order_is_refused(world):
    reg = world.users["regulator"]
    h1, h2 = file_hazard(world), file_hazard(world, title="曳引绳断股")
    services.stop_use_order(reg, h1, reason="停用")
    with pytest.raises(ValidationError) as exc:
        services.stop_use_order(reg, h2, reason="再次停用")
    assert "elevator" in exc.value.message_dict
    assert StopUseOrder.objects.count() == 1
    h2.refresh_from_db()
    assert h2.version == 1  # nothing half-written


def test_nothing_but_a_verified_close_out_puts_a_stopped_elevator_back_in_use(world):
    reg = world.users["regulator"]
    h = file_hazard(world)
    services.stop_use_order(reg, h, reason="停用")
    a1 = Elevator.objects.get(pk=world.elevators["a1"].pk)
    with pytest.raises(ValidationError) as exc:
        elevator_update(reg, a1, {"status": "in_use"})
    assert "status" in exc.value.message_dict
    with pytest.raises(ValidationError):
        elevator_set_status(reg, a1, "in_use", on=today(), reason="私自恢复")
    a1.refresh_from_db()
    assert a1.status == "stopped"
    elevator_update(reg, a1, {"address": "新地址 1 号"})  # other edits still work
    a1.refresh_from_db()
    assert a1.status == "stopped" and a1.address == "新地址 1 号"


def test_stale_version_is_a_conflict_not_a_lost_edit(world):
    reg, city = world.users["regulator"], world.users["city_regulator"]
    h = file_hazard(world)
    mine, theirs = Hazard.objects.get(pk=h.pk), Hazard.objects.get(pk=h.pk)
    services.hazard_update(reg, mine, version=mine.version, changes={"deadline": days(10)})
    with pytest.raises(services.HazardConflict) as exc:
        services.hazard_update(city, theirs, version=theirs.version, changes={"level": Level.MAJOR})
    assert "version" in exc.value.message_dict
    h.refresh_from_db()
    assert h.deadline == days(10) and h.level == Level.SIGNIFICANT and h.version == 2
    services.hazard_update(city, h, version=h.version, changes={"level": Level.MAJOR})  # after reload it works
    h.refresh_from_db()
    assert h.deadline == days(10) and h.level == Level.MAJOR


def test_listing_level_cannot_exceed_the_regulators_area(world):
    h = file_hazard(world)
    with pytest.raises(ValidationError) as exc:
        services.hazard_list(world.users["regulator"], h, version=h.version, authority="province")
    assert "listed_authority" in exc.value.message_dict
    h = services.hazard_list(world.users["city_regulator"], h, version=h.version, authority="city")
    assert h.listed_authority == "city"


def test_recheck_on_hazard_not_in_campaign_is_refused(world):
    reg = world.users["regulator"]
    h = submitted(world)
    h = services.hazard_close(reg, h, version=h.version)
    c = services.campaign_create(reg, name="c", area=world.district_a, period_start=days(-1), period_end=today(), rate=1, seed=1)
    other = file_hazard(world, title="另一个隐患")
    with pytest.raises(ValidationError) as exc:
        services.recheck_record(reg, c, other, result="pass")
    assert "hazard" in exc.value.message_dict
    rc = services.recheck_record(world.users["inspection_agency"], c, h, result="pass")
    assert rc.result == "pass"
    with pytest.raises(ValidationError) as exc:
        services.recheck_record(reg, c, h, result="recurrence", note="x")
    assert "result" in exc.value.message_dict


def test_campaign_bad_input(world):
    reg = world.users["regulator"]
    with pytest.raises(ValidationError) as exc:
        services.campaign_create(reg, name="c", area=world.district_b, period_start=days(-5), period_end=today())
    assert "area" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.campaign_create(reg, name="c", area=world.district_a, period_start=days(-5), period_end=today())
    assert "period_start" in exc.value.message_dict  # nothing closed yet
    with pytest.raises(ValidationError) as exc:
        services.campaign_create(reg, name="c", area=world.district_a, period_start=days(-5), period_end=today(), rate=1.5)
    assert "rate" in exc.value.message_dict


def test_sampling_is_stratified_reproducible_and_includes_listed():
    rows = [(i, ("general", "significant", "major")[i % 3], i % 50 == 0) for i in range(1, 3001)]
    a = services.sample_lookback(rows, rate=0.1, seed=7)
    b = services.sample_lookback(list(reversed(rows)), rate=0.1, seed=7)
    c = services.sample_lookback(rows, rate=0.1, seed=8)
    assert a == b and a != c
    ids = {pk for pk, _l, _x in a}
    assert {pk for pk, _l, listed in rows if listed} <= ids
    per_level = {lv: sum(1 for _p, x, _l in a if x == lv) for lv in ("general", "significant", "major")}
    assert per_level == {"general": 100, "significant": 100, "major": 100}
    assert services.sample_lookback([(1, "major", False)], rate=0.01, seed=1) == [(1, "major", False)]  # at least one per level


def test_campaign_sample_reproducible_from_recorded_seed(world):
    reg = world.users["city_regulator"]
    for i in range(12):
        h = submitted(world, elevator="a1" if i % 2 else "b1", level=Level.values[i % 3], user="city_regulator")
        services.hazard_close(reg, h, version=h.version)
    c1 = services.campaign_create(reg, name="c1", area=world.city, period_start=days(-1), period_end=today(), rate=0.5)
    c2 = services.campaign_create(reg, name="c2", area=world.city, period_start=days(-1), period_end=today(), rate=0.5, seed=c1.seed)
    ids = lambda c: sorted(c.rechecks.values_list("hazard_id", flat=True))  # noqa: E731
    assert c1.population == 12 and ids(c1) == ids(c2) and len(ids(c1)) == 6
    rows = list(services.campaign_population(world.city, days(-1), today()).values_list("id", "level", "listed"))
    expected = services.sample_lookback(rows, rate=0.5, seed=c1.seed)  # the database's sample is the pure function's
    assert ids(c1) == sorted(pk for pk, _l, _x in expected)
    assert {(r.hazard_id, r.stratum, r.listed) for r in c1.rechecks.all()} == set(expected)


def test_lead_accept_and_dismiss(world):
    a1 = world.elevators["a1"]
    lead = services.lead_raise(elevator=a1, source="complaint", source_ref="12345-1", title="投诉：电梯异响", level="general")
    assert lead.state == State.LEAD and services.lead_raise(elevator=a1, source="complaint", source_ref="12345-1", title="x", level="general") is None
    with pytest.raises(ValidationError) as exc:
        services.lead_accept(world.users["regulator"], lead, version=lead.version, responsible_unit=None)
    assert "responsible_unit" in exc.value.message_dict
    h = services.lead_accept(world.users["regulator"], lead, version=lead.version, responsible_unit=world.orgs[("maintenance_unit", "a")])
    assert h.state == State.OPEN and h.deadline is not None
    lead2 = services.lead_raise(elevator=a1, source="iot", source_ref="iot-1", title="IoT", level="general")
    with pytest.raises(ValidationError) as exc:
        services.lead_dismiss(world.users["regulator"], lead2, version=lead2.version, reason=" ")
    assert "reason" in exc.value.message_dict


def test_entrapment_leads_raised_once(world, settings):
    from django.utils import timezone

    from liftsafe.emergency.models import EmergencyCase

    a1 = world.elevators["a1"]
    now = timezone.now()
    for i in range(3):
        EmergencyCase.objects.create(elevator=a1, order_number=f"T{i}", channel="phone_96333", case_type="entrapment",
                                     received_at=now - dt.timedelta(days=10 * i), state="completed", cause_class="door_system")
    EmergencyCase.objects.create(elevator=world.elevators["a2"], order_number="T9", channel="phone_96333", case_type="entrapment",
                                 received_at=now, state="completed")
    assert services.raise_entrapment_leads(now) == 1
    assert services.raise_entrapment_leads(now) == 0
    lead = Hazard.objects.get(source="emergency")
    assert lead.elevator == a1 and lead.state == State.LEAD and lead.extra["entrapments"] == 3
    settings.LIFTSAFE_RULES = {"hazard_entrapment_lead_count": 1}
    assert services.raise_entrapment_leads(now) == 1  # a2 now qualifies; a1 still once


def test_iot_hook_raises_a_lead_once(world):
    a1 = world.elevators["a1"]
    lead = services.raise_iot_lead(elevator=a1, pattern="door_faults", ref="2026-11", title="一个月门系统故障 12 次", cause_class="door_system")
    assert lead.state == State.LEAD and lead.source == "iot" and lead.area == world.district_a
    assert services.raise_iot_lead(elevator=a1, pattern="door_faults", ref="2026-11", title="again") is None
