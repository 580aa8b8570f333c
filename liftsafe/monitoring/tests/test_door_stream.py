"""Streaming door analytics (door_stream) on the real Huawei series, through process_batch, and the demo feed."""
from __future__ import annotations

import datetime as dt
import json
import socket
import time
import uuid

import pytest
from django.utils import timezone

from liftsafe.conftest import require_service
from liftsafe.testing import PASSWORD, make_world
from liftsafe.monitoring import demo_feed, door_stream, services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.door import flag_vibration, read_series
from liftsafe.monitoring.models import Alarm, MonitoringDevice

SERIES = None


def series():
    global SERIES
    if SERIES is None:
        SERIES = [r["vibration_db"] for r in read_series().rows]
    return SERIES


def test_streaming_detector_flags_the_same_windows_as_the_batch_analysis():
    values = series()
    _baseline, flags = flag_vibration(values)
    assert len(flags) == 10
    state: dict = {}
    events = []
    for i in range(0, len(values), 333):  # arbitrary block sizes: the state carries over
        events += [(e.kind, i + e.index) for e in door_stream.observe(state, values[i:i + 333])]
    sustain = 120
    expected = []
    for f in flags:
        expected.append(("raise", f["start"] + sustain - 1))
        expected.append(("clear", f["end"] + 1))
    assert events == expected
    assert json.loads(json.dumps(state)) == state  # stored in MonitoringDevice.state: JSON only


def test_series_blocks_through_process_batch_raise_and_clear_the_alarm(world, client):
    dev = services.bind_device(world.elevators["a1"], "DOOR-T")
    values = series()[:7200]
    now = timezone.now()
    start = now - dt.timedelta(seconds=len(values) / 4)
    for i in range(0, 4000, 400):  # up to sample 4000: the first window (3402…) is flagged at 3521
        block = values[i:i + 400]
        ts = start + dt.timedelta(seconds=(i + len(block) - 1) / 4)
        body = {"v": 1, "type": "stats", "device": "DOOR-T", "id": f"b{i}", "ts": ts.isoformat(),
                "data": {"vibration_db": block[-1], "humidity": 73.1, "series": {"hz": 4, "vibration_db": block}}}
        r = services.process_batch([services.RawMessage(json.dumps(body).encode(), topic=services.topic_for("DOOR-T", "stats"))], now=now)
        assert r.outcomes == ["accepted"], r.outcomes
    alarm = Alarm.objects.get(device=dev, type=AlarmType.ABNORMAL_VIBRATION)
    assert alarm.active and alarm.device_time == start + dt.timedelta(seconds=3521 / 4)
    dev.refresh_from_db()
    assert "series" not in dev.last_stats and dev.last_stats["humidity"] == 73.1
    assert dev.state["door"]["flag"] is True
    client.login(username="maintenance_unit", password=PASSWORD)
    client.cookies["django_language"] = "en"
    html = client.get(f"/monitoring/elevators/{world.elevators['a1'].pk}/").content.decode()
    assert "sustained abnormal vibration" in html and "Abnormal door vibration" in html
    # zh-Hans: the flagged badge is the alarm type's label; the dB threshold is 阈值 (not the time limit 时限); 振动
    client.cookies["django_language"] = "zh-hans"
    overview = client.get("/monitoring/").content.decode()
    assert '<span class="badge status-stopped">门机异常振动</span>' in overview and "abnormal vibration" not in overview
    html = client.get(f"/monitoring/elevators/{world.elevators['a1'].pk}/").content.decode()
    assert "阈值" in html and "时限" not in html and "震动" not in html and "持续异常振动" in html
    # the last statistics' time in local time like the other times, not the raw ISO string
    stats_ts = dev.last_stats["ts"]
    local = timezone.localtime(dt.datetime.fromisoformat(stats_ts)).strftime("%Y-%m-%d %H:%M:%S")
    assert f'<div class="muted">{local}</div>' in html and stats_ts not in html
    for i in range(4000, 7200, 400):
        block = values[i:i + 400]
        ts = start + dt.timedelta(seconds=(i + len(block) - 1) / 4)
        body = {"v": 1, "type": "stats", "device": "DOOR-T", "id": f"b{i}", "ts": ts.isoformat(),
                "data": {"series": {"hz": 4, "vibration_db": block}}}
        services.process_batch([services.RawMessage(body, transport="http")], now=now)
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None and alarm.cleared_reason == "vibration back to baseline"


@pytest.fixture
def fresh_feed(monkeypatch):
    demo_feed.stop(forget=True)
    monkeypatch.setenv("LIFTSAFE_DEMO_DOOR_SPEED", "100")
    monkeypatch.setenv("LIFTSAFE_DEMO_FAULT_RATE", "200")
    monkeypatch.delenv("LIFTSAFE_MQTT_URL", raising=False)
    yield monkeypatch
    demo_feed.stop(forget=True)


def test_demo_feed_in_process_produces_alarms_cases_and_the_door_flag(world, fresh_feed):
    from liftsafe.emergency.models import EmergencyCase

    t0 = timezone.now() - dt.timedelta(seconds=400)
    total = 0
    for k in range(40):
        total += demo_feed.demo_tick(t0 + dt.timedelta(seconds=10 * k))
    assert total > 100
    door = MonitoringDevice.objects.get(vendor=demo_feed.DOOR_VENDOR)
    sim_first = MonitoringDevice.objects.filter(vendor="simulator").order_by("pk").first()
    assert door.device_id == f"DOOR-{door.elevator_id}" and door.elevator_id == sim_first.elevator_id
    assert Alarm.objects.filter(device=door, type=AlarmType.ABNORMAL_VIBRATION).exists()
    assert Alarm.objects.filter(device__vendor="simulator").exclude(type=AlarmType.OFFLINE).count() >= 3
    assert EmergencyCase.objects.filter(channel="iot").exists()
    assert not Alarm.objects.filter(device=door).exclude(type=AlarmType.ABNORMAL_VIBRATION).exists()


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_demo_feed_over_mqtt_publishes_and_its_consumer_processes(fresh_feed):
    """With LIFTSAFE_MQTT_URL the feed publishes to the broker and starts a consumer thread in this process."""
    require_service("mosquitto", _broker_up(), "no MQTT broker on 127.0.0.1:1883")
    make_world()
    fresh_feed.setenv("LIFTSAFE_MQTT_URL", "mqtt://127.0.0.1:1883")
    fresh_feed.setenv("LIFTSAFE_DEMO_MQTT_GROUP", f"demo-test-{uuid.uuid4().hex[:8]}")
    t0 = timezone.now() - dt.timedelta(seconds=30)
    published = demo_feed.demo_tick(t0)
    consumer = demo_feed._STATE["consumer"]
    assert consumer.subscribed.wait(10)
    for k in range(1, 4):
        published += demo_feed.demo_tick(t0 + dt.timedelta(seconds=10 * k))
    door = MonitoringDevice.objects.get(vendor=demo_feed.DOOR_VENDOR)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        door.refresh_from_db()
        sims = MonitoringDevice.objects.filter(vendor="simulator", messages_accepted__gt=0).count()
        if sims == 4 and door.last_stats.get("vibration_db") is not None and consumer.processed >= published:
            break
        time.sleep(0.1)
    assert consumer.processed >= published > 0, (consumer.processed, published, sims, door.last_stats)
    assert sims == 4 and door.online and "vibration_db" in door.last_stats
    assert door.state["door"]["n"] > 0  # the streaming analytics ran on the consumer's side


# --------------------------------------------------------------------------- issue 18 item 3: huge and non-finite numbers
def _stats(dev_id, data, mid):
    return {"v": 1, "type": "stats", "device": dev_id, "id": mid, "ts": timezone.now().isoformat(), "data": data}


@pytest.mark.parametrize("data", [{"vibration_db": 1e308}, {"vibration_db": -1e308}, {"series": {"hz": 4, "vibration_db": [20.0, 1e308]}},
                                  {"run_hours": 1e308}, {"distance_m": 1e300}, {"ball_bearing": -1e308}, {"run_count": 10 ** 18},
                                  {"door_cycles": 10 ** 15}, {"rope_bends": 10 ** 13}])
def test_every_number_is_bounded_by_the_schema_on_both_transports(world, client, data):
    """±1e308 is valid JSON and was valid schema: it overflowed the door statistics (issue 18 item 3). Now every
    number has bounds: a schema dead letter over MQTT (bytes) and HTTP alike, the device state untouched."""
    from liftsafe.core.models import ApiToken
    from liftsafe.monitoring.models import DeadLetter

    dev = services.bind_device(world.elevators["a1"], "DOOR-B")
    body = json.dumps(_stats("DOOR-B", data, "m1")).encode()
    r = services.process_batch([services.RawMessage(body, topic=services.topic_for("DOOR-B", "stats"))])
    assert r.outcomes == ["dead:schema"]
    _rec, tok = ApiToken.issue(world.users["admin"], "t")
    h = client.post("/api/monitoring/messages", b'{"messages": [' + body.replace(b'"m1"', b'"m2"') + b"]}",
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {tok}")
    assert h.status_code == 200 and h.json()["outcomes"] == ["dead:schema"]
    assert DeadLetter.objects.filter(reason="schema").count() == 2
    dev.refresh_from_db()
    assert dev.state == {} and dev.last_stats == {}


def _poison_door_state(dev):
    """The row an earlier version left after ±1e308 samples (jsonb keeps 1e400; the overflowed m2 became null)."""
    from django.db import connection

    from liftsafe.monitoring.models import MonitoringDevice

    with connection.cursor() as cur:
        cur.execute(f"UPDATE {MonitoringDevice._meta.db_table} SET state = %s, last_stats = %s WHERE id = %s",
                    ['{"door": {"n": 700, "mean": 1e400, "m2": null, "win": [1e308, -1e308], "run": 0, "peak": 1e308, '
                     '"flag": false, "limit": 1e400, "last": 1e308}}',
                     '{"vibration_db": 1e308, "humidity": -1e308, "ts": 17}', dev.pk])


def test_poisoned_door_state_resets_and_no_page_answers_500(world, client):
    """A device whose stored door statistics are huge or non-finite: its next sample resets the detector (which
    learns its baseline again), the batch does not fail, and the monitoring pages answer for every role."""
    from liftsafe.testing import PASSWORD

    dev = services.bind_device(world.elevators["a1"], "DOOR-P")
    _poison_door_state(dev)
    for name, user in world.users.items():
        client.login(username=user.username, password=PASSWORD)
        for url in ("/monitoring/", f"/monitoring/elevators/{dev.elevator_id}/", "/monitoring/devices/"):
            r = client.get(url)
            assert r.status_code < 500, (name, url, r.status_code)
        if name == "admin":
            assert client.get(f"/monitoring/elevators/{dev.elevator_id}/").status_code == 200
        client.logout()
    body = json.dumps(_stats("DOOR-P", {"vibration_db": 21.5}, "after")).encode()
    r = services.process_batch([services.RawMessage(body, topic=services.topic_for("DOOR-P", "stats"))])
    assert r.outcomes == ["accepted"]
    dev.refresh_from_db()
    assert dev.state["door"]["n"] == 1 and dev.state["door"]["mean"] == 21.5 and dev.state["door"]["last"] == 21.5
    # and a detector state driven beyond a double by values it is given directly restarts instead of failing
    from liftsafe.monitoring import door_stream

    st: dict = {}
    door_stream.observe(st, [1e300, -1e300, 1e300])
    assert door_stream.summary(st) is None or all(v is None or abs(v) < 1e301 for v in door_stream.summary(st).values()
                                                  if isinstance(v, float))
    door_stream.observe(st, [20.0])
    assert door_stream.summary(st)["samples"] >= 1
