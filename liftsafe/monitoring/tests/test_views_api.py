"""Pages and API: scoping, HTTP batch intake, binding, acknowledgement."""
from __future__ import annotations


import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.core.models import ApiToken
from liftsafe.testing import PASSWORD
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, MonitoringDevice

from .helpers import msg


@pytest.fixture
def devs(world):
    return {k: services.bind_device(world.elevators[k], f"D-{k}") for k in ("a1", "b1")}


def _token(user):
    _rec, tok = ApiToken.issue(user, "test")
    return {"HTTP_AUTHORIZATION": f"Bearer {tok}"}


def test_http_batch_same_schema_scoped_and_idempotent(client, world, devs):
    h = _token(world.users["maintenance_unit"])
    now = timezone.now()
    body = {"messages": [msg("D-a1", "event", {"code": "90"}, ts=now, mid="h1"), msg("D-b1", "heartbeat", ts=now),
                         {"v": 1, "type": "status"}, "not an object"]}
    r = client.post("/api/monitoring/messages", body, content_type="application/json", **h)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["outcomes"] == ["accepted", "dead:unknown_device", "dead:schema", "dead:schema"]
    assert out["alarms_raised"] == 1
    r2 = client.post("/api/monitoring/messages", {"messages": body["messages"][:1]}, content_type="application/json", **h)
    assert r2.json()["outcomes"] == ["duplicate"]
    assert Alarm.objects.filter(type=AlarmType.ENTRAPMENT).count() == 1
    assert not MonitoringDevice.objects.get(device_id="D-b1").online  # out of scope: not applied
    big = {"messages": [msg("D-a1", "heartbeat", ts=now) for _ in range(1001)]}
    assert client.post("/api/monitoring/messages", big, content_type="application/json", **h).status_code == 413
    assert client.post("/api/monitoring/messages", body, content_type="application/json").status_code == 401


def test_bind_api_refuses_scrapped_and_out_of_scope(client, world):
    h = _token(world.users["admin"])
    e = world.elevators["a2"]
    e.status = "scrapped"
    e.save()
    r = client.post("/api/monitoring/devices", {"elevator_id": e.pk, "device_id": "X1"}, content_type="application/json", **h)
    assert r.status_code == 422 and "elevator" in r.json()["detail"]
    h2 = _token(world.users["maintenance_unit"])
    r = client.post("/api/monitoring/devices", {"elevator_id": world.elevators["b1"].pk, "device_id": "X2"}, content_type="application/json", **h2)
    assert r.status_code == 404
    r = client.post("/api/monitoring/devices", {"elevator_id": world.elevators["a1"].pk, "device_id": "X3"}, content_type="application/json", **h2)
    assert r.status_code == 201 and r.json()["device_id"] == "X3"
    # the use unit sees a1 but is not the integrator: refused, nothing bound
    r = client.post("/api/monitoring/devices", {"elevator_id": world.elevators["a1"].pk, "device_id": "X4"}, content_type="application/json",
                    **_token(world.users["use_unit"]))
    assert r.status_code == 403 and not MonitoringDevice.objects.filter(device_id="X4").exists()


def test_pages_are_scoped(client, world, devs):
    now = timezone.now()
    services.process_batch([services.RawMessage(m, transport="http") for m in (
        msg("D-a1", "event", {"code": "01"}, ts=now), msg("D-b1", "event", {"code": "02"}, ts=now))])
    client.login(username="regulator", password=PASSWORD)
    r = client.get("/monitoring/")
    assert r.status_code == 200
    html = r.content.decode()
    assert world.elevators["a1"].display_code in html and world.elevators["b1"].display_code not in html
    assert client.get(f"/monitoring/elevators/{world.elevators['a1'].pk}/").status_code == 200
    assert client.get(f"/monitoring/elevators/{world.elevators['b1'].pk}/").status_code == 404
    other = Alarm.objects.get(elevator=world.elevators["b1"])
    assert client.post(f"/monitoring/alarms/{other.pk}/acknowledge/").status_code == 404
    own = Alarm.objects.get(elevator=world.elevators["a1"])
    client.post(f"/monitoring/alarms/{own.pk}/acknowledge/")  # regulators read alarms only
    own.refresh_from_db()
    assert own.acknowledged_at is None
    r = client.get("/api/monitoring/alarms?active=true")
    assert [a["id"] for a in r.json()] == [own.pk]
    client.login(username="operator", password=PASSWORD)
    client.post(f"/monitoring/alarms/{own.pk}/acknowledge/")
    own.refresh_from_db()
    assert own.acknowledged_at is not None and own.acknowledged_by == world.users["operator"]


@pytest.mark.parametrize("lang,expected,absent", [
    ("zh-hans", ["非平层关人", "轿厢在门区外停梯", "安全回路断路"],
     ["passenger trapped", "car stopped outside the door zone", "safety circuit open"]),
    ("en", ["passenger trapped away from a landing", "car stopped outside the door zone", "safety circuit open (while running)"],
     ["非平层关人", "平层关人", "安全回路断路"]),
])
def test_alarm_details_in_one_language(client, world, devs, settings, lang, expected, absent):
    import datetime as dt

    from .helpers import status

    settings.LIFTSAFE_RULES = {"iot_entrapment_s": 20, "iot_stop_outside_door_zone_s": 20}
    t = timezone.now() - dt.timedelta(seconds=60)
    for s in (0, 30):
        at = t + dt.timedelta(seconds=s)
        services.process_batch([services.RawMessage(status("D-a1", ts=at, passenger=1, door=1, running=0, door_zone=2),
                                                    transport="http", received_at=at)], now=at)
    services.process_batch([services.RawMessage(msg("D-a1", "event", {"code": "01"}, ts=t + dt.timedelta(seconds=31)),
                                                transport="http", received_at=t + dt.timedelta(seconds=31))],
                           now=t + dt.timedelta(seconds=31))
    assert Alarm.objects.filter(elevator=world.elevators["a1"], cleared_at__isnull=True).count() == 3
    client.login(username="regulator", password=PASSWORD)
    client.cookies["django_language"] = lang
    for url in ("/monitoring/", f"/monitoring/elevators/{world.elevators['a1'].pk}/"):
        html = client.get(url).content.decode()
        for text in expected:
            assert text in html, (url, text)
        for text in absent:
            assert text not in html, (url, text)


def test_alarm_case_shown_by_order_number_and_linked_only_when_visible(client, world, devs, django_assert_max_num_queries):
    from liftsafe.emergency.models import EmergencyCase, Milestone
    from liftsafe.emergency.selectors import cases_for
    from liftsafe.monitoring import selectors

    now = timezone.now()
    services.process_batch([services.RawMessage(msg("D-a1", "event", {"code": "90"}, ts=now), transport="http")], now=now)
    alarm = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    case = EmergencyCase.objects.get(pk=alarm.case_id)
    mu = world.users["maintenance_unit"]
    # a maintenance unit sees a case only once it is dispatched to it (drop any automatic dispatch)
    Milestone.objects.filter(case=case, kind=Milestone.Kind.DISPATCHED).delete()
    assert not cases_for(mu).filter(pk=case.pk).exists()
    link = f"/emergency/cases/{case.pk}/"
    client.login(username="maintenance_unit", password=PASSWORD)
    for url in ("/monitoring/", f"/monitoring/elevators/{world.elevators['a1'].pk}/"):
        html = client.get(url).content.decode()
        assert case.order_number in html and link not in html and f"#{case.pk}<" not in html
    assert client.get(link).status_code == 404
    # the operator may see it: the order number links to the case
    client.login(username="operator", password=PASSWORD)
    for url in ("/monitoring/", f"/monitoring/elevators/{world.elevators['a1'].pk}/"):
        html = client.get(url).content.decode()
        assert f'<a href="{link}" class="mono">{case.order_number}</a>' in html
    # one query for the cases of all listed alarms, however many
    alarms = [alarm] * 30
    with django_assert_max_num_queries(1):
        refs = selectors.with_case_refs(mu, alarms)
    assert refs[0].case_ref == {"id": case.pk, "no": case.order_number, "visible": False}


def test_stats_time_parsed_and_tolerant():
    import datetime as dt

    from liftsafe.monitoring.views import _stats_time

    assert _stats_time("2026-11-29T10:00:00+00:00") == dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)
    assert _stats_time("2026-11-29T10:00:00") == dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)  # naive: UTC
    for bad in (None, "", "yesterday", "2026-13-45T99:00:00", 12345, {"x": 1}):
        assert _stats_time(bad) is None, bad


# --------------------------------------------------------------------------- issue 18 item 4: one parser for both transports
def _post_raw(client, body: bytes | str, h):
    return client.post("/api/monitoring/messages", body, content_type="application/json", **h)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_http_batch_rejects_non_finite_numbers_per_message_like_mqtt(client, world, devs, token):
    """A non-finite number in one message of a batch of 1,000 (Python's JSON parser would accept it) is that
    message's ``schema`` dead letter, exactly what the MQTT path gives for the same bytes; the other 999 are
    processed; never a 500."""
    import json as _json

    from liftsafe.monitoring.models import DeadLetter
    from liftsafe.monitoring.services import RawMessage, prepare_batch

    h = _token(world.users["maintenance_unit"])
    now = timezone.now()
    ok = {"mode": 1, "running": 0, "door_zone": 1, "floor": 3, "door": 2, "passenger": 2, "power": 1}
    msgs = [_json.dumps(msg("D-a1", "status", ok, ts=now)) for _ in range(999)]  # (statuses: never flood-capped)
    bad = _json.dumps(msg("D-a1", "stats", {"vibration_db": 1.5}, ts=now, mid="bad")).replace("1.5", token)
    msgs.insert(500, bad)
    r = _post_raw(client, '{"messages": [' + ",".join(msgs) + "]}", h)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["outcomes"][500] == "dead:schema" and out["dead"] == {"schema": 1} and out["accepted"] == 999
    dl = DeadLetter.objects.get(reason="schema")
    assert dl.transport == "http" and dl.message_id == "bad" and ("non-finite" in dl.detail), dl.detail
    # the MQTT path, same bytes: the same reason
    p = prepare_batch([RawMessage(bad.encode(), topic="liftsafe/v1/D-a1/stats", transport="mqtt")])
    assert [str(d[2]) for d in p.dead] == ["schema"]


def test_http_batch_of_1000_with_one_bad_message_processes_the_rest(client, world, devs):
    import json as _json

    h = _token(world.users["admin"])
    now = timezone.now()
    msgs = [_json.dumps(msg(f"D-{'a1' if i % 2 else 'b1'}", "status",
                            {"mode": 1, "running": 0, "door_zone": 1, "floor": 3, "door": 2, "passenger": 2, "power": 1},
                            ts=now)) for i in range(999)]
    msgs.insert(3, '{"v":1,"type":"stats","device":"D-a1","id":"nan","ts":"%s","data":{"run_hours":NaN}}' % now.isoformat())
    r = _post_raw(client, '{"messages": [' + ",".join(msgs) + "]}", h)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["dead"] == {"schema": 1} and out["accepted"] == 999 and out["outcomes"][3] == "dead:schema"


def test_http_malformed_body_is_422_and_dead_lettered_never_500(client, world, devs):
    from liftsafe.monitoring.models import DeadLetter

    h = _token(world.users["maintenance_unit"])
    for body in (b'{"messages": [{"v":1,', b"\x00\x01binary\xff", b'{"messages": "x"}', b"[1,2]", b'{"other": []}',
                 b'{"messages": [' + b"[" * 100000 + b"]" * 100000 + b"]}"):
        r = _post_raw(client, body, h)
        assert r.status_code == 422, (body[:40], r.status_code, r.content[:200])
        assert "body" in r.json()["detail"]
    assert DeadLetter.objects.filter(reason="malformed_json", transport="http").count() == 6
    assert not any("\x00" in d.payload for d in DeadLetter.objects.all())
    # not a submitter: 403, nothing stored
    r = _post_raw(client, b"garbage", _token(world.users["regulator"]))
    assert r.status_code == 403 and DeadLetter.objects.count() == 6


# --------------------------------------------------------------------------- issue 16: historical backfill
def test_backfill_loads_history_without_live_alarms_or_cases_and_keeps_the_protections(client, world, devs):
    """A monitoring system's history (30 days old: refused by the live path) loaded with ?backfill=true by the
    integrator: accepted as ``backfilled``; the entrapment and the fault become historical alarms, cleared at their
    own device time; no case, no active alarm, the device's live state untouched; schema, bounds and the ledger
    still apply; roles other than integrators, regulators and administrators are refused."""
    import json as _json

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.monitoring.models import DeadLetter, ProcessedMessage

    h = _token(world.users["maintenance_unit"])
    then = timezone.now() - dt.timedelta(days=30)
    history = [msg("D-a1", "event", {"code": "90"}, ts=then, mid="old-90"),
               msg("D-a1", "event", {"code": "01"}, ts=then + dt.timedelta(minutes=5), mid="old-01"),
               msg("D-a1", "status", {"mode": 1, "running": 0, "door_zone": 1, "floor": 3, "door": 1, "passenger": 1, "power": 2},
                   ts=then, mid="old-st"),
               msg("D-a1", "stats", {"run_count": 5}, ts=then, mid="old-stats"),
               msg("D-a1", "heartbeat", ts=then, mid="old-hb")]
    body = {"messages": history}
    live = client.post("/api/monitoring/messages", body, content_type="application/json", **h)
    assert live.json()["outcomes"] == ["dead:device_time_past"] * 5
    r = client.post("/api/monitoring/messages?backfill=true", body, content_type="application/json", **h)
    assert r.status_code == 200, r.content
    assert r.json()["outcomes"] == ["backfilled"] * 5 and r.json()["backfilled"] == 5 and r.json()["alarms_raised"] == 0
    alarms = Alarm.objects.filter(device__device_id="D-a1").order_by("device_time")
    assert [(a.type, a.code) for a in alarms] == [(AlarmType.ENTRAPMENT, "90"), (AlarmType.SAFETY_CIRCUIT, "01")]
    assert all(a.cleared_at == a.device_time == a.raised_at and a.case_id is None for a in alarms)
    assert not Alarm.objects.filter(cleared_at__isnull=True).exists()
    assert not EmergencyCase.objects.exists()
    d = MonitoringDevice.objects.get(device_id="D-a1")
    assert not d.online and d.last_seen is None and d.last_status == {} and d.messages_accepted == 0
    # the ledger still de-duplicates
    again = client.post("/api/monitoring/messages?backfill=true", body, content_type="application/json", **h)
    assert again.json()["outcomes"] == ["duplicate"] * 5 and Alarm.objects.count() == 2
    assert ProcessedMessage.objects.filter(device_key="D-a1").count() == 5
    # schema, bounds and time limits still apply: NaN, an 11-year-old time, a future time, a foreign device
    bad = ['{"v":1,"type":"stats","device":"D-a1","id":"nan","ts":"%s","data":{"run_hours":NaN}}' % then.isoformat(),
           _json.dumps(msg("D-a1", "heartbeat", ts=timezone.now() - dt.timedelta(days=11 * 365), mid="ancient")),
           _json.dumps(msg("D-a1", "heartbeat", ts=timezone.now() + dt.timedelta(hours=2), mid="future")),
           _json.dumps(msg("D-b1", "heartbeat", ts=then, mid="foreign"))]
    r = client.post("/api/monitoring/messages?backfill=true", '{"messages": [' + ",".join(bad) + "]}",
                    content_type="application/json", **h)
    assert r.json()["outcomes"] == ["dead:schema", "dead:device_time_past", "dead:device_time_future", "dead:unknown_device"]
    assert DeadLetter.objects.filter(message_id="nan", reason="schema").exists()
    # who may backfill: the area's regulator yes (its area's device), a use unit no (nothing stored)
    rr = client.post("/api/monitoring/messages?backfill=true", {"messages": [msg("D-a1", "heartbeat", ts=then, mid="reg")]},
                     content_type="application/json", **_token(world.users["regulator"]))
    assert rr.status_code == 200 and rr.json()["outcomes"] == ["backfilled"]
    n = DeadLetter.objects.count()
    ru = client.post("/api/monitoring/messages?backfill=true", {"messages": [msg("D-a1", "heartbeat", ts=then, mid="uu")]},
                     content_type="application/json", **_token(world.users["use_unit"]))
    assert ru.status_code == 403 and DeadLetter.objects.count() == n
    assert not ProcessedMessage.objects.filter(message_id="uu").exists()
