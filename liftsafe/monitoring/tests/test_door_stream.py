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
