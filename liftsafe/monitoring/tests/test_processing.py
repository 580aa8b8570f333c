"""Message processing: schema, dead letters, idempotency, detection, hygiene, offline race, correlation."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from liftsafe.monitoring import services
from liftsafe.monitoring.codes import EVENT_CODES, AlarmType
from liftsafe.monitoring.models import Alarm, DeadLetter, Incident, MonitoringDevice, ProcessedMessage
from liftsafe.monitoring.services import RawMessage, process_batch

from .helpers import msg, raw, status

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)


def at(s: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=s)


@pytest.fixture
def dev(world):
    return services.bind_device(world.elevators["a1"], "DEV-A1")


def run(*bodies, now=NOW, **kw):
    return process_batch([b if isinstance(b, RawMessage) else raw(b, received_at=now, **kw) for b in bodies], now=now)


def test_schema_file_lists_every_event_code():
    schema = json.loads(services.SCHEMA_PATH.read_text())
    assert schema["definitions"]["event"]["properties"]["code"]["enum"] == list(EVENT_CODES)
    for code in ("01", "05", "41", "61", "62", "63", "64", "65", "90", "93", "power_loss", "overspeed"):
        assert code in EVENT_CODES


def test_binding_refused_for_scrapped_elevator(world):
    e = world.elevators["a2"]
    e.status = "scrapped"
    e.save()
    with pytest.raises(ValidationError) as exc:
        services.bind_device(e, "DEV-X")
    assert "elevator" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.bind_device(world.elevators["a1"], "bad id with spaces")
    assert "device_id" in exc.value.message_dict
    assert not MonitoringDevice.objects.exists()


def test_valid_messages_update_device_and_keep_times_apart(dev):
    r = run(status("DEV-A1", ts=at(-2)), msg("DEV-A1", "heartbeat", ts=at(-1)),
            msg("DEV-A1", "stats", {"run_count": 12, "run_hours": 3.5}, ts=at(-1)), now=NOW)
    assert r.outcomes == ["accepted"] * 3
    dev.refresh_from_db()
    assert dev.online and dev.last_seen == NOW and dev.last_device_time == at(-2)
    assert dev.last_status["floor"] == 3 and dev.last_stats["run_count"] == 12
    assert dev.messages_accepted == 3


@pytest.mark.parametrize("payload,reason", [
    (b"{not json", "malformed_json"),
    (b"[1,2]", "schema"),
    (json.dumps({"v": 1, "type": "status", "device": "DEV-A1", "id": "1", "ts": "2026-11-29T10:00:00+00:00",
                 "data": {"mode": "normal", "running": 0, "door_zone": 1, "floor": 1, "door": 1, "passenger": 2, "power": 1}}).encode(), "schema"),
    (json.dumps({"v": 1, "type": "event", "device": "DEV-A1", "id": "1", "ts": "2026-11-29T10:00:00+00:00", "data": {"code": "77"}}).encode(), "schema"),
    (json.dumps({"v": 2, "type": "heartbeat", "device": "DEV-A1", "id": "1", "ts": "2026-11-29T10:00:00+00:00"}).encode(), "schema"),
    (b'{"v":1,"pad":"' + b"x" * 9000 + b'"}', "too_large"),
])
def test_bad_payloads_are_dead_lettered_with_reason(dev, payload, reason):
    r = process_batch([RawMessage(payload, topic="liftsafe/v1/DEV-A1/status", received_at=NOW)], now=NOW)
    assert r.outcomes == [f"dead:{reason}"]
    dl = DeadLetter.objects.get()
    assert dl.reason == reason and dl.detail and dl.payload


def test_device_reasons_and_time_window(world, dev):
    e = world.elevators["a2"]
    services.bind_device(e, "DEV-A2")
    e.status = "scrapped"
    e.save()
    r = run(msg("NOPE", "heartbeat", ts=at(0)), msg("DEV-A2", "heartbeat", ts=at(0)),
            msg("DEV-A1", "heartbeat", ts=at(3600)), msg("DEV-A1", "heartbeat", ts=at(-30 * 86400)),
            raw(msg("DEV-A1", "heartbeat", ts=at(0)), topic="liftsafe/v1/OTHER/heartbeat", received_at=NOW))
    assert r.outcomes == ["dead:unknown_device", "dead:scrapped_elevator", "dead:device_time_future",
                          "dead:device_time_past", "dead:topic_mismatch"]
    assert dict(r.dead) == {"unknown_device": 1, "scrapped_elevator": 1, "device_time_future": 1, "device_time_past": 1, "topic_mismatch": 1}
    assert DeadLetter.objects.count() == 5
    assert not Alarm.objects.exists()


def test_flood_is_capped_and_counted(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_flood_max_messages": 5}
    r = run(*[msg("DEV-A1", "heartbeat", ts=at(0)) for _ in range(8)])
    assert r.count("accepted") == 5 and r.dead["flood"] == 3
    assert DeadLetter.objects.filter(reason="flood").count() == 3


def test_flood_cap_never_drops_an_entrapment_and_a_capped_message_can_be_resent(dev, settings):
    """Issue 18 item 2: past the cap, the alarm button (code 90) and statuses still go through; a capped heartbeat
    is not in the ledger, so its resend (once the window has moved on) is processed, not a duplicate."""
    settings.LIFTSAFE_RULES = {"iot_flood_max_messages": 5}
    beats = [msg("DEV-A1", "heartbeat", ts=at(0), mid=f"hb{i}") for i in range(8)]
    alarm = msg("DEV-A1", "event", {"code": "90"}, ts=at(0), mid="button")
    st = status("DEV-A1", ts=at(0), mid="st", passenger=1, door_zone=2)  # (still trapped: clears nothing)
    r = run(*beats, alarm, st)
    assert r.outcomes[:8].count("accepted") == 5 and r.dead == {"flood": 3}
    assert r.outcomes[8:] == ["accepted", "accepted"]
    a = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    assert a.code == "90"
    capped = [b for b, o in zip(beats, r.outcomes) if o == "dead:flood"]
    assert not ProcessedMessage.objects.filter(message_id__in=[b["id"] for b in capped]).exists()
    # the device resends them a minute later (device time moved on): processed
    resent = [{**b, "ts": at(61).isoformat()} for b in capped]
    r2 = run(*resent, now=at(61))
    assert r2.outcomes == ["accepted"] * 3
    # and a flood of entrapment events is never capped either (the alarm repeats, the case stays one)
    r3 = run(*[msg("DEV-A1", "event", {"code": "90"}, ts=at(62)) for _ in range(20)], now=at(62))
    assert r3.outcomes == ["accepted"] * 20
    assert Alarm.objects.get(type=AlarmType.ENTRAPMENT).occurrences == 21


def test_backlog_drain_after_an_outage_is_not_capped(dev):
    """5,000 heartbeats a device sent once a second during an 83-minute consumer outage arrive within seconds:
    the cap counts device time, so none is dropped (120 per minute is the limit, these are 60)."""
    drained_at = NOW
    beats = [msg("DEV-A1", "heartbeat", ts=drained_at - dt.timedelta(seconds=5000 - i)) for i in range(5000)]
    accepted = 0
    for i in range(0, 5000, 1000):  # batches of 1,000 as the worker takes them, all received at the same instant
        accepted += run(*beats[i:i + 1000], now=drained_at).count("accepted")
    assert accepted == 5000 and not DeadLetter.objects.exists()
    # while 200 heartbeats stamped in one device minute are still capped at 120
    r = run(*[msg("DEV-A1", "heartbeat", ts=at(100)) for _ in range(200)], now=at(100))
    assert r.count("accepted") == 120 and r.dead["flood"] == 80


def test_redelivery_has_no_second_effect(dev):
    body = msg("DEV-A1", "event", {"code": "90"}, ts=at(0), mid="alarm-1")
    r1 = run(body, body)  # duplicated inside one batch
    assert r1.outcomes == ["accepted", "duplicate"]
    r2 = run(body, now=at(5))  # redelivered later (worker killed before the ack)
    assert r2.outcomes == ["duplicate"]
    a = Alarm.objects.get()
    assert a.type == AlarmType.ENTRAPMENT and a.occurrences == 1
    assert ProcessedMessage.objects.count() == 1
    dev.refresh_from_db()
    assert dev.messages_accepted == 1
    # a rejected message redelivered is not dead-lettered twice either
    bad = msg("GHOST", "heartbeat", ts=at(0), mid="g1")
    run(bad)
    run(bad)
    assert DeadLetter.objects.filter(reason="unknown_device").count() == 1


def test_entrapment_by_timer_at_and_away_from_landing(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_entrapment_s": 20}
    run(status("DEV-A1", ts=at(0), passenger=1, door=1, running=0, door_zone=2))
    run(status("DEV-A1", ts=at(10), passenger=1, door=1, running=0, door_zone=2), now=at(10))
    assert not Alarm.objects.exists()
    run(status("DEV-A1", ts=at(21), passenger=1, door=1, running=0, door_zone=2), now=at(21))
    a = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    assert "away from a landing" in a.detail
    assert a.snapshot["passenger_status"] == 1 and a.snapshot["door_zone"] == 2 and a.snapshot["service_mode"] == 1
    assert a.device_time == at(21) and a.raised_at == at(21)
    # repeats stay one alarm
    run(status("DEV-A1", ts=at(30), passenger=1, door=1, running=0, door_zone=2), now=at(30))
    assert Alarm.objects.filter(type=AlarmType.ENTRAPMENT).count() == 1
    # released at a landing → cleared
    run(status("DEV-A1", ts=at(60), passenger=1, door=2, running=0, door_zone=1), now=at(60))
    a.refresh_from_db()
    assert a.cleared_at == at(60) and a.cleared_reason == "passenger released"


def test_entrapment_timer_fires_without_new_message(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_entrapment_s": 20}
    run(status("DEV-A1", ts=at(0), passenger=1, door=1, running=0, door_zone=1))
    assert services.fire_due_timers(now=at(10)) == 0
    assert services.fire_due_timers(now=at(25)) == 1
    a = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    assert "at a landing" in a.detail


def test_fault_detection_from_status_and_codes(world, dev):
    world.elevators["a1"].rated_speed_mps = 1.0
    world.elevators["a1"].save()
    run(status("DEV-A1", ts=at(0), running=0, door=2))
    run(status("DEV-A1", ts=at(1), running=1, door=2, speed=1.0), now=at(1))  # moved away with doors open
    run(status("DEV-A1", ts=at(2), running=1, door=2, speed=1.0), now=at(2))  # still running, door open
    run(status("DEV-A1", ts=at(3), running=1, door=1, up_limit=1, speed=1.5), now=at(3))
    run(status("DEV-A1", ts=at(4), running=0, door=1, power=2, door_zone=1), now=at(4))
    run(msg("DEV-A1", "event", {"code": "10"}, ts=at(5)), msg("DEV-A1", "event", {"code": "04"}, ts=at(5)), now=at(5))
    types = set(Alarm.objects.values_list("type", flat=True))
    assert types == {AlarmType.UNINTENDED_MOVEMENT, AlarmType.DOOR_OPEN_RUNNING, AlarmType.OVER_TRAVEL_TOP, AlarmType.OVERSPEED,
                     AlarmType.POWER_LOSS, AlarmType.OVER_TRAVEL_BOTTOM, AlarmType.STOP_OUTSIDE_ZONE}
    # event 40 (back to normal) clears fault alarms; power clears on power normal
    run(msg("DEV-A1", "event", {"code": "40"}, ts=at(6)), status("DEV-A1", ts=at(7)), now=at(7))
    assert set(Alarm.objects.filter(cleared_at__isnull=True).values_list("type", flat=True)) == set()


def test_stop_outside_zone_timer(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_stop_outside_door_zone_s": 45}
    run(status("DEV-A1", ts=at(0), running=0, door_zone=2, door=1))
    run(status("DEV-A1", ts=at(44), running=0, door_zone=2, door=1), now=at(44))
    assert not Alarm.objects.exists()
    run(status("DEV-A1", ts=at(46), running=0, door_zone=2, door=1), now=at(46))
    assert Alarm.objects.get().type == AlarmType.STOP_OUTSIDE_ZONE


def test_out_of_order_status_not_applied(dev):
    run(status("DEV-A1", ts=at(10), floor=7))
    r = run(status("DEV-A1", ts=at(5), floor=2), now=at(11))
    assert r.outcomes == ["out_of_order"]
    dev.refresh_from_db()
    assert dev.last_status["floor"] == 7 and dev.last_device_time == at(10)


def test_inspection_mode_suppresses_alarms(dev):
    r = run(status("DEV-A1", ts=at(0), mode=2, running=1, door=2, up_limit=1), msg("DEV-A1", "event", {"code": "90"}, ts=at(1)))
    assert not Alarm.objects.exists() and r.suppressed >= 3
    # a checked-in maintenance visit suppresses too (flow monitoring.maintenance_visit_open, maintenance app)
    from liftsafe.maintenance.models import Visit
    visit = Visit.objects.create(elevator_id=dev.elevator_id, maintenance_unit_id=dev.elevator.contracts.first().maintenance_unit_id,
                                 tier="half_monthly", state="checked_in", checked_in_at=at(1))
    run(status("DEV-A1", ts=at(2), mode=1), msg("DEV-A1", "event", {"code": "01"}, ts=at(3)), now=at(3))
    assert not Alarm.objects.exists()
    Visit.objects.filter(pk=visit.pk).update(state="checked_out", checked_out_at=at(3.5))  # check-out ends it
    run(msg("DEV-A1", "event", {"code": "01"}, ts=at(4)), now=at(4))
    assert Alarm.objects.get().type == AlarmType.SAFETY_CIRCUIT


def test_alarm_rate_cap(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_alarm_rate_max": 3}
    codes = ["01", "02", "05", "06", "09", "62"]
    r = run(*[msg("DEV-A1", "event", {"code": c}, ts=at(i)) for i, c in enumerate(codes)])
    assert Alarm.objects.count() == 3 and r.rate_capped == 3  # six distinct alarm types, cap 3


def test_one_active_alarm_per_type_in_db(world, dev):
    services.raise_alarm(world.elevators["a1"], AlarmType.POWER_LOSS, now=NOW)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Alarm.objects.create(elevator=world.elevators["a1"], type=AlarmType.POWER_LOSS, raised_at=NOW, last_occurred_at=NOW)
    a, created = services.raise_alarm(world.elevators["a1"], AlarmType.POWER_LOSS, now=NOW)
    assert not created and a.occurrences == 2


def test_offline_detection_and_clear(dev, settings):
    settings.LIFTSAFE_RULES = {"iot_offline_after_s": 180}
    run(msg("DEV-A1", "heartbeat", ts=at(0)))
    assert services.detect_offline(now=at(100)) == 0
    assert services.detect_offline(now=at(200)) == 1
    assert services.detect_offline(now=at(300)) == 0  # already offline: no second alarm
    a = Alarm.objects.get(type=AlarmType.OFFLINE)
    dev.refresh_from_db()
    assert not dev.online
    run(msg("DEV-A1", "heartbeat", ts=at(301)), now=at(301))
    a.refresh_from_db()
    dev.refresh_from_db()
    assert a.cleared_at == at(301) and dev.online


def test_offline_race_message_wins(dev, settings):
    """The job picked the device as a candidate, then a message arrived before its conditional update."""
    settings.LIFTSAFE_RULES = {"iot_offline_after_s": 180}
    run(msg("DEV-A1", "heartbeat", ts=at(0)))
    real_filter = MonitoringDevice.objects.filter
    calls = {"n": 0}

    def racing_filter(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # between candidate selection and the conditional update
            run(msg("DEV-A1", "heartbeat", ts=at(199)), now=at(199))
        return real_filter(*a, **kw)

    MonitoringDevice.objects.filter = racing_filter
    try:
        assert services.detect_offline(now=at(200)) == 0
    finally:
        MonitoringDevice.objects.filter = real_filter
    dev.refresh_from_db()
    assert dev.online and not Alarm.objects.filter(type=AlarmType.OFFLINE).exists()


def test_power_cut_correlated_into_one_incident(world):
    e1, e2 = world.elevators["a1"], world.elevators["a2"]
    services.bind_device(e1, "P1")
    services.bind_device(e2, "P2")
    eb = world.elevators["b1"]
    services.bind_device(eb, "P3")
    run(status("P1", ts=at(0), power=2), now=at(0))
    run(status("P2", ts=at(30), power=2), msg("P3", "event", {"code": "41"}, ts=at(30)), now=at(30))
    inc_a = Incident.objects.get(area=world.district_a)
    assert inc_a.alarm_count == 2 and inc_a.alarms.count() == 2
    assert Incident.objects.get(area=world.district_b).alarm_count == 1
    # an entrapment on a powerless car joins the incident
    run(msg("P1", "event", {"code": "90"}, ts=at(31)), now=at(31))
    assert Alarm.objects.get(type=AlarmType.ENTRAPMENT).incident_id == inc_a.pk
    # after the window a new cut is a new incident
    run(status("P1", ts=at(40)), status("P2", ts=at(40)), now=at(40))
    run(status("P1", ts=at(400), power=2), now=at(400))
    assert Incident.objects.filter(area=world.district_a).count() == 2


def test_simulator_traffic_flows_in_process(world):
    from liftsafe.monitoring.simulator import Simulator, devices_for_simulation

    devices = devices_for_simulation(4)
    assert len(devices) == 4
    sim = Simulator(devices, seed=3, fault_rate=200, bad_rate=0.02)
    total = {"accepted": 0, "dead": 0}
    t = NOW - dt.timedelta(seconds=600)
    for _ in range(600):
        t += dt.timedelta(seconds=1)
        out = sim.step(t, 1.0)
        r = process_batch([RawMessage(p, topic=tp, received_at=t) for tp, p in out], now=t)
        total["accepted"] += r.count("accepted") + r.count("out_of_order")
        total["dead"] += sum(r.dead.values())
    assert total["accepted"] > 500
    assert total["dead"] == DeadLetter.objects.count() > 0
    assert Alarm.objects.exists()
    assert not DeadLetter.objects.exclude(reason__in=["malformed_json", "schema", "unknown_device"]).exists()


def test_entrapment_opens_one_case_with_snapshot(world, dev):
    from liftsafe.emergency.models import EmergencyCase

    body = msg("DEV-A1", "event", {"code": "90"}, ts=at(0), mid="btn-1")
    run(status("DEV-A1", ts=at(-1), passenger=1, door=1, door_zone=2, floor=5), body)
    a = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    case = EmergencyCase.objects.get()
    assert a.case_id == case.pk and case.channel == "iot" and case.case_type == "entrapment"
    assert case.details["service_mode"] == 1 and case.details["door_zone"] == 2 and case.details["passenger_status"] == 1
    assert case.details["power_status"] == 1 and case.details["door_status"] == 1 and case.car_position == "5"
    run(body, now=at(3))  # redelivery
    run(msg("DEV-A1", "event", {"code": "90"}, ts=at(4)), now=at(4))  # pressed again: same active alarm
    assert EmergencyCase.objects.count() == 1 and Alarm.objects.filter(type=AlarmType.ENTRAPMENT).count() == 1


def test_power_cut_trapping_many_cars_is_one_incident_with_cases(world):
    from liftsafe.testing import make_elevator
    from liftsafe.emergency.models import EmergencyCase

    cars = [make_elevator(f"PC{i}", world.district_a) for i in range(6)]
    for e in cars:
        services.bind_device(e, f"PC-{e.pk}")
    bodies = []
    for e in cars:
        bodies += [status(f"PC-{e.pk}", ts=at(0), power=2, passenger=1, door=1, door_zone=2),
                   msg(f"PC-{e.pk}", "event", {"code": "90"}, ts=at(1))]
    run(*bodies, now=at(2))
    inc = Incident.objects.get()
    assert inc.alarm_count == 6
    assert inc.alarms.filter(type=AlarmType.ENTRAPMENT).count() == 6
    assert EmergencyCase.objects.filter(elevator__in=cars).count() == 6
    assert set(inc.alarms.filter(type=AlarmType.ENTRAPMENT).values_list("case_id", flat=True)) == set(
        EmergencyCase.objects.values_list("pk", flat=True))


def test_simulate_command_in_process(world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("simulate", "--elevators", "3", "--duration", "120", "--in-process", "--fault-rate", "300",
                 "--faults", "entrapment,power_cut", stdout=out)
    assert out.getvalue().startswith("3 devices,")
    assert MonitoringDevice.objects.filter(device_id__startswith="SIM-", online=True).count() == 3
    assert Alarm.objects.filter(type__in=[AlarmType.ENTRAPMENT, AlarmType.POWER_LOSS]).exists()
