"""Against the real Mosquitto on 127.0.0.1:1883: QoS 1 delivery, ack after commit, redelivery, shared subscriptions."""
from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
from django.utils import timezone

from liftsafe.conftest import require_service
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, DeadLetter, MonitoringDevice
from liftsafe.monitoring.mqtt import Consumer, publish_many
from liftsafe.monitoring.services import RawMessage, process_batch, topic_for

from .helpers import msg

URL = "mqtt://127.0.0.1:1883"


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def broker():
    require_service("mosquitto", _broker_up(), "no MQTT broker on 127.0.0.1:1883")
    return URL


def _pub(bodies):
    publish_many(URL, [(topic_for(b["device"], b["type"]), json.dumps(b).encode()) for b in bodies])


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _consumer(group, cid=None, batch_size=100):
    c = Consumer(URL, cid or f"t-{uuid.uuid4().hex[:10]}", group=group, batch_size=batch_size, batch_wait_s=0.02)
    c.start()
    assert c.subscribed.wait(5)
    return c


def test_messages_flow_from_broker_into_alarms(world, broker):
    tag = uuid.uuid4().hex[:6]
    dev = services.bind_device(world.elevators["a1"], f"MQ-{tag}")
    c = _consumer(f"g{tag}")
    try:
        now = timezone.now()
        bodies = [msg(dev.device_id, "heartbeat", ts=now), msg(dev.device_id, "event", {"code": "92"}, ts=now)]
        _pub(bodies)
        publish_many(URL, [(topic_for(dev.device_id, "status"), b"{broken")])
        assert _wait(lambda: len(c.queue) >= 3)
        n = c.run(idle_exit_s=0.5)
        assert n >= 3
    finally:
        c.close(forget=True)
    dev.refresh_from_db()
    assert dev.online and dev.messages_accepted == 2
    assert Alarm.objects.get(device=dev).type == AlarmType.OVER_TRAVEL_TOP
    assert DeadLetter.objects.filter(topic=topic_for(dev.device_id, "status"), reason="malformed_json").count() == 1


def test_unacked_batch_is_redelivered_after_crash_and_has_no_second_effect(world, broker):
    """A worker processes (commits) a batch, dies before acking; its restart gets the batch again → duplicates."""
    tag = uuid.uuid4().hex[:6]
    dev = services.bind_device(world.elevators["a1"], f"KILL-{tag}")
    cid, group = f"kill-{tag}", f"k{tag}"
    c = _consumer(group, cid)
    now = timezone.now()
    bodies = [msg(dev.device_id, "event", {"code": "01"}, ts=now)] + [msg(dev.device_id, "heartbeat", ts=now) for _ in range(9)]
    _pub(bodies)
    assert _wait(lambda: len(c.queue) >= 10)
    batch = [c.queue.popleft() for _ in range(10)]
    process_batch([RawMessage(p, topic=t, received_at=r) for p, t, _m, _q, r in batch])
    c.client.socket().close()  # crash: no PUBACK, no DISCONNECT
    c.client.loop_stop()
    c2 = Consumer(URL, cid, group=group, batch_size=100, batch_wait_s=0.02)  # restart under the same session
    c2.start()
    try:
        assert _wait(lambda: len(c2.queue) >= 10), len(c2.queue)
        raws = [RawMessage(p, topic=t, received_at=r) for p, t, _m, _q, r in list(c2.queue)]
        r = process_batch(raws)
        assert r.count("duplicate") == 10
        for _p, _t, mid, qos, _r in c2.queue:
            c2.client.ack(mid, qos)
        c2.queue.clear()
    finally:
        c2.close(forget=True)
    assert Alarm.objects.filter(device=dev).count() == 1
    assert Alarm.objects.get(device=dev).occurrences == 1
    assert MonitoringDevice.objects.get(pk=dev.pk).messages_accepted == 10


def test_shared_subscription_splits_the_load(world, broker):
    tag = uuid.uuid4().hex[:6]
    dev = services.bind_device(world.elevators["a2"], f"SH-{tag}")
    group = f"s{tag}"
    a, b = _consumer(group), _consumer(group)
    try:
        now = timezone.now()
        bodies = [msg(dev.device_id, "heartbeat", ts=now) for _ in range(60)]
        _pub(bodies)
        assert _wait(lambda: len(a.queue) + len(b.queue) >= 60)
        time.sleep(0.2)
        ids_a = {json.loads(p)["id"] for p, *_ in a.queue}
        ids_b = {json.loads(p)["id"] for p, *_ in b.queue}
        assert ids_a and ids_b, "both workers get a share"
        assert not ids_a & ids_b and len(ids_a | ids_b) == 60
        na = a.run(idle_exit_s=0.3)
        nb = b.run(idle_exit_s=0.3)
        assert na + nb == 60
    finally:
        a.close(forget=True)
        b.close(forget=True)
    assert MonitoringDevice.objects.get(pk=dev.pk).messages_accepted == 60
