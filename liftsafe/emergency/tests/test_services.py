"""Intake, dispatch, milestones, cause, durations and status codes (services + derivation)."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from liftsafe.emergency import selectors, services
from liftsafe.emergency.models import EmergencyCase, Milestone

S = dt.timedelta(seconds=1)


def test_intake_opens_one_case_and_attaches_the_second_call(world, t0):
    e = world.elevators["a1"]
    r1 = services.intake_alarm(e, channel="car_alarm", case_type="fault_report", received_at=t0)
    r2 = services.intake_alarm(e, channel="phone_96333", case_type="entrapment", received_at=t0 + 30 * S,
                               actor=world.users["operator"], caller_phone="13900001111", trapped_count=3)
    assert r1.created and not r2.created and r2.case.pk == r1.case.pk
    case = EmergencyCase.objects.get(pk=r1.case.pk)
    assert case.case_type == "entrapment"  # upgraded by the entrapment call
    assert case.trapped_count == 3 and case.caller_phone == "13900001111"
    assert list(case.milestones.values_list("kind", flat=True)) == ["received", "call_attached"]
    assert EmergencyCase.objects.filter(elevator=e).count() == 1
    assert selectors.derive(case.milestones.all()).calls == 2


def test_intake_idempotency_key_records_once(world, t0):
    e = world.elevators["a1"]
    a = services.intake_alarm(e, channel="qr_report", case_type="fault_report", received_at=t0, idempotency_key="k-1")
    b = services.intake_alarm(e, channel="qr_report", case_type="fault_report", received_at=t0, idempotency_key="k-1")
    assert a.created and b.duplicate and a.case.pk == b.case.pk
    assert Milestone.objects.filter(case=a.case).count() == 1


@pytest.mark.parametrize("kw,field", [
    ({"channel": "fax"}, "channel"), ({"case_type": "party"}, "case_type"),
    ({"trapped_count": -1}, "trapped_count"), ({"received_at": dt.datetime(2026, 1, 1)}, "received_at"),
])
def test_intake_bad_input_names_the_field(world, t0, kw, field):
    args = dict(channel="phone_96333", case_type="entrapment", received_at=t0) | kw
    with pytest.raises(ValidationError) as exc:
        services.intake_alarm(world.elevators["a1"], **args)
    assert field in exc.value.message_dict
    assert not EmergencyCase.objects.exists()


def test_intake_by_a_non_operator_or_outside_the_area_is_refused(world, t0):
    with pytest.raises(PermissionDenied):
        services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0,
                              actor=world.users["regulator"])
    with pytest.raises(Http404):
        services.intake_alarm(world.elevators["b1"], channel="phone_96333", case_type="entrapment", received_at=t0,
                              actor=world.users["operator"])


def test_full_rescue_durations_and_status_codes(world, t0, open_case):
    op, mu = world.users["operator"], world.users["maintenance_unit"]
    c = open_case
    assert selectors.upload_status_code(c) == "01"
    c = services.dispatch_case(op, c, 1, at=t0 + 60 * S)
    assert c.level == 1 and c.responder == world.orgs[("maintenance_unit", "a")] and c.state == "dispatched"
    services.record_milestone(mu, c, "responded", at=t0 + 120 * S)
    assert selectors.upload_status_code(c) == "02"
    services.record_milestone(mu, c, "arrived", at=t0 + 60 * S + 14 * 60 * S)
    assert selectors.upload_status_code(c) == "04"
    services.record_milestone(mu, c, "released", at=t0 + 60 * S + 20 * 60 * S, released_count=2)
    services.report_cause(mu, c, "external", "power_cut")
    services.record_milestone(op, c, "completed", at=t0 + 60 * S + 25 * 60 * S)
    c.refresh_from_db()
    assert c.state == "completed" and c.released_count == 2 and c.cause_item == "power_cut"
    assert selectors.upload_status_code(c) == "00"
    assert selectors.durations(c) == {"response": 60.0, "arrival": 14 * 60.0, "on_site_rescue": 6 * 60.0, "total": 21 * 60.0}
    assert c.history.count() >= 5  # audit history of every change
    # the case's time cache (read by reports) is exactly what the milestones derive
    d = selectors.derive(c.milestones.all())
    assert (c.dispatched_at, c.responded_at, c.arrived_at, c.released_at, c.closed_at) == (
        d.dispatched_at, d.responded_at, d.arrived_at, d.released_at, d.closed_at)
    assert c.dispatched_at == t0 + 60 * S and c.closed_at == t0 + 60 * S + 25 * 60 * S


def test_dispatch_is_idempotent_and_never_downgrades(world, t0, open_case):
    op = world.users["operator"]
    services.dispatch_case(op, open_case, 1, at=t0 + S)
    services.dispatch_case(op, open_case, 1, at=t0 + 2 * S)
    assert open_case.milestones.filter(kind="dispatched").count() == 1
    c = services.dispatch_case(op, open_case, 2, at=t0 + 3 * S)
    assert c.level == 2 and c.responder == world.orgs[("rescue_station", "a")]
    with pytest.raises(ValidationError) as exc:
        services.dispatch_case(op, c, 1)
    assert "level" in exc.value.message_dict
    c = services.dispatch_case(op, c, 3, at=t0 + 4 * S)
    assert c.responder == world.orgs[("fire_brigade", "city")]


def test_level2_is_the_nearest_rescue_station(world, t0, open_case):
    from liftsafe.registry.models import Organisation

    near = Organisation.objects.create(kind="rescue_station", name="near", area=world.district_b, latitude=32.041, longitude=118.791)
    assert services.responder_for(world.elevators["a1"], 2, t0.date()) == near
    assert 100 < services.haversine_m(32.04, 118.79, 32.041, 118.791) < 200


def test_dispatch_wrong_responder_kind_and_missing_level1(world, t0, open_case):
    op = world.users["operator"]
    with pytest.raises(ValidationError) as exc:
        services.dispatch_case(op, open_case, 1, responder=world.orgs[("rescue_station", "a")])
    assert "responder" in exc.value.message_dict
    world.elevators["a1"].contracts.all().delete()
    with pytest.raises(ValidationError) as exc:
        services.dispatch_case(op, open_case, 1)
    assert "level" in exc.value.message_dict


def test_out_of_order_and_bad_release(world, t0, open_case):
    op = world.users["operator"]
    with pytest.raises(ValidationError) as exc:
        services.record_milestone(op, open_case, "arrived", at=t0 + S)  # before any dispatch
    assert "kind" in exc.value.message_dict
    services.dispatch_case(op, open_case, 1, at=t0 + 60 * S)
    with pytest.raises(ValidationError) as exc:
        services.record_milestone(op, open_case, "arrived", at=t0 + 30 * S)  # earlier than the dispatch
    assert "at" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.record_milestone(op, open_case, "released", at=t0 + 90 * S, released_count=1)  # not arrived
    services.record_milestone(op, open_case, "arrived", at=t0 + 600 * S)
    with pytest.raises(ValidationError) as exc:
        services.record_milestone(op, open_case, "released", at=t0 + 900 * S, released_count=3)  # 2 trapped
    assert "released_count" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.record_milestone(op, open_case, "teleported")
    assert "kind" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.report_cause(op, open_case, "external", "door_operator")
    assert "cause_item" in exc.value.message_dict
    assert open_case.milestones.count() == 3  # received, dispatched, arrived: nothing half-written


def test_double_tap_records_once(world, t0, open_case):
    op, mu = world.users["operator"], world.users["maintenance_unit"]
    services.dispatch_case(op, open_case, 1, at=t0 + S)
    a = services.record_milestone(mu, open_case, "arrived", at=t0 + 60 * S)
    b = services.record_milestone(mu, open_case, "arrived", at=t0 + 61 * S)
    c = services.record_milestone(mu, open_case, "released", at=t0 + 70 * S, released_count=2, idempotency_key="tap")
    d = services.record_milestone(mu, open_case, "released", at=t0 + 71 * S, released_count=2, idempotency_key="tap")
    assert a.pk == b.pk and c.pk == d.pk
    assert open_case.milestones.filter(kind__in=["arrived", "released"]).count() == 2


def test_responder_not_dispatched_is_refused(world, t0, open_case):
    from liftsafe.testing import make_user

    op = world.users["operator"]
    services.dispatch_case(op, open_case, 1, at=t0 + S)
    other_mu = make_user("mu_b", "maintenance_unit", organisation=world.orgs[("maintenance_unit", "b")])
    with pytest.raises((PermissionDenied, Http404)):
        services.record_milestone(other_mu, open_case, "arrived")
    # the rescue station of A was not dispatched: it cannot even see the case
    with pytest.raises(Http404):
        services.record_milestone(world.users["rescue_station"], open_case, "arrived")
    with pytest.raises(PermissionDenied):
        services.record_milestone(world.users["maintenance_unit"], open_case, "cancelled")
    with pytest.raises(PermissionDenied):
        services.record_milestone(world.users["regulator"], open_case, "arrived")
    assert open_case.milestones.count() == 2


def test_closed_case_frees_the_elevator_for_a_new_case(world, t0, open_case):
    op = world.users["operator"]
    services.record_milestone(op, open_case, "false_alarm", at=t0 + S)
    r = services.intake_alarm(world.elevators["a1"], channel="iot", case_type="entrapment", received_at=t0 + 60 * S)
    assert r.created and r.case.pk != open_case.pk
    assert selectors.upload_status_code(open_case) == "05"


def test_fault_report_closed_on_the_phone(world, t0):
    op = world.users["operator"]
    c = services.intake_alarm(world.elevators["a2"], channel="phone_96333", case_type="enquiry", received_at=t0, actor=op).case
    services.record_milestone(op, c, "completed", at=t0 + 60 * S)
    c.refresh_from_db()
    assert c.state == "completed"


def test_intake_with_dispatch_writes_both_milestones_or_keeps_the_alarm(world, t0):
    e = world.elevators["a1"]
    r = services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0, dispatch=True)
    assert r.case.level == 1 and r.case.state == "dispatched"
    assert [m.kind for m in r.case.milestones.all()] == ["received", "dispatched"]
    assert selectors.derive(r.case.milestones.all()).state == EmergencyCase.objects.get(pk=r.case.pk).state
    # an elevator without a contracted maintenance unit: the alarm is kept, not dispatched
    e2 = world.elevators["a2"]
    e2.contracts.all().delete()
    r2 = services.intake_alarm(e2, channel="iot", case_type="entrapment", received_at=t0, dispatch=True)
    assert r2.created and r2.case.level == 0 and r2.case.state == "received"
    # a second alarm with dispatch on an undispatched open case dispatches it once a contract exists
    from liftsafe.registry.models import MaintenanceContract

    MaintenanceContract.objects.create(elevator=e2, maintenance_unit=world.orgs[("maintenance_unit", "a")], start_date=dt.date(2020, 1, 1))
    r3 = services.intake_alarm(e2, channel="car_alarm", case_type="entrapment", received_at=t0 + S, dispatch=True)
    assert not r3.created and EmergencyCase.objects.get(pk=r2.case.pk).level == 1
