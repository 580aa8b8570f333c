"""Against the real Mosquitto on 127.0.0.1:1883: QoS 1 delivery, ack after commit, redelivery, shared subscriptions."""
from __future__ import annotations

import json
import socket
import time
import uuid
from unittest import mock

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
#: this run's own topic root: concurrent runs (other checkouts, CI jobs) on the same broker never see each other's messages
PREFIX = f"t-{uuid.uuid4().hex[:10]}/liftsafe/v1"


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
    publish_many(URL, [(topic_for(b["device"], b["type"], PREFIX), json.dumps(b).encode()) for b in bodies])


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _consumer(group, cid=None, batch_size=100):
    c = Consumer(URL, cid or f"t-{uuid.uuid4().hex[:10]}", group=group, batch_size=batch_size, batch_wait_s=0.02, prefix=PREFIX)
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
        publish_many(URL, [(topic_for(dev.device_id, "status", PREFIX), b"{broken")])
        assert _wait(lambda: len(c.queue) >= 3)
        n = c.run(idle_exit_s=0.5)
        assert n >= 3
    finally:
        c.close(forget=True)
    dev.refresh_from_db()
    assert dev.online and dev.messages_accepted == 2
    assert Alarm.objects.get(device=dev).type == AlarmType.OVER_TRAVEL_TOP
    assert DeadLetter.objects.filter(topic=topic_for(dev.device_id, "status", PREFIX), reason="malformed_json").count() == 1


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
    process_batch([RawMessage(p, topic=t, received_at=r, prefix=PREFIX) for p, t, _m, _q, r in batch])
    c.client.socket().close()  # crash: no PUBACK, no DISCONNECT
    c.client.loop_stop()
    c2 = Consumer(URL, cid, group=group, batch_size=100, batch_wait_s=0.02, prefix=PREFIX)  # restart under the same session
    c2.start()
    try:
        assert _wait(lambda: len(c2.queue) >= 10), len(c2.queue)
        raws = [RawMessage(p, topic=t, received_at=r, prefix=PREFIX) for p, t, _m, _q, r in list(c2.queue)]
        r = process_batch(raws)
        assert r.count("duplicate") == 10
        assert c2.acknowledge(list(c2.queue)) == 10
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


def test_reconnect_by_paho_never_acks_a_message_of_the_previous_connection(broker):
    """paho reconnects on its own after a lost connection; the broker resends the un-acknowledged messages under their
    original packet ids. The consumer sends no PUBACK for the copies received on the dropped connection (paho would
    send whatever id it is given), only for those of the current one; afterwards the session holds nothing."""
    tag = uuid.uuid4().hex[:6]
    cid, group = f"stale-{tag}", f"st{tag}"
    c = _consumer(group, cid)
    pubacks: list[str] = []
    c.client.on_log = lambda client, userdata, level, text: pubacks.append(text) if text.startswith("Sending PUBACK") else None
    _pub([msg(f"ST-{tag}", "heartbeat") for _ in range(5)])
    try:
        assert _wait(lambda: len(c.queue) >= 5)
        old = list(c.queue)
        gen = c.generation
        c.client.socket().shutdown(socket.SHUT_RDWR)  # the connection drops; paho's network thread reconnects
        assert _wait(lambda: c.generation > gen and c.subscribed.is_set() and len(c.queue) >= 10), len(c.queue)
        again = list(c.queue)[5:]
        assert sorted(p for p, *_ in again) == sorted(p for p, *_ in old)
        # the hazard guarded against: the same packet ids are in use on the new connection
        assert sorted(m & 0xFFFF for _p, _t, m, _q, _r in again) == sorted(m & 0xFFFF for _p, _t, m, _q, _r in old)
        assert c.acknowledge(old) == 0
        time.sleep(0.2)
        assert pubacks == []
        assert c.acknowledge(again) == 5
        assert _wait(lambda: len(pubacks) == 5), pubacks
        time.sleep(0.2)
    finally:
        c.close()
    c2 = _consumer(group, cid)  # same session: every message was acknowledged
    try:
        time.sleep(0.5)
        assert len(c2.queue) == 0
    finally:
        c2.close(forget=True)


def test_run_prepares_ahead_and_acks_each_batch_after_its_own_commit(world, broker, monkeypatch):
    """run(): the next batch is prepared in the helper thread while the current one is processed; each batch is
    acknowledged only after its own commit. A batch whose processing fails, and the one prepared behind it, stay
    unacknowledged: the restarted worker gets exactly those again and processes them once."""
    import threading

    tag = uuid.uuid4().hex[:6]
    devs = [services.bind_device(world.elevators[e], f"PIPE-{tag}-{e}") for e in ("a1", "a2")]
    cid, group = f"pipe-{tag}", f"p{tag}"
    bodies = [msg(devs[i % 2].device_id, "heartbeat") for i in range(140)]
    c = _consumer(group, cid, batch_size=50)
    _pub(bodies)
    assert _wait(lambda: len(c.queue) >= 140), len(c.queue)
    events: list = []
    real_process, real_prepare = services.process_resilient, services.prepare_batch
    helper_prepares: list = []
    calls = [0]

    def ids_of(raws):
        return frozenset(json.loads(r.payload)["id"] for r in raws)

    def process(raws, **kw):
        raws = list(raws)
        calls[0] += 1
        if calls[0] == 2:  # the second batch (the one prepared ahead)
            c.stop()  # the worker is told to stop while the database is failing
            raise RuntimeError("database down")  # (what process_resilient raises in an outage)
        out = real_process(raws, **kw)
        events.append(("commit", ids_of(raws)))
        return out

    def prepare(raws, **kw):
        helper_prepares.append(threading.current_thread().name)
        return real_prepare(raws, **kw)

    real_ack = c.acknowledge

    def ack(entries):
        events.append(("ack", frozenset(json.loads(p)["id"] for p, *_ in entries)))
        return real_ack(entries)

    monkeypatch.setattr(services, "process_resilient", process)
    monkeypatch.setattr(services, "prepare_batch", prepare)
    monkeypatch.setattr(c, "acknowledge", ack)
    try:
        assert c.run(idle_exit_s=0.5) == 50
    finally:
        c.close()
    monkeypatch.undo()
    first = events[0][1]
    assert events == [("commit", first), ("ack", first)] and len(first) == 50
    assert any(n.startswith(f"prepare-{cid}") for n in helper_prepares)  # the second batch, prepared ahead
    c2 = _consumer(group, cid, batch_size=50)  # restart under the same session
    try:
        assert _wait(lambda: len(c2.queue) >= 90), len(c2.queue)
        time.sleep(0.3)
        assert {json.loads(p)["id"] for p, *_ in c2.queue} == {b["id"] for b in bodies} - first
        assert c2.run(idle_exit_s=0.5) == 90
    finally:
        c2.close(forget=True)
    assert sum(MonitoringDevice.objects.get(pk=d.pk).messages_accepted for d in devs) == 140


# --------------------------------------------------------------------------- issue 18: one message never stalls the consumer
def _entrapment_opens_case(dev) -> bool:
    a = Alarm.objects.filter(device=dev, type=AlarmType.ENTRAPMENT).first()
    return a is not None and a.case_id is not None


def _corrupt_state(dev) -> None:
    """A device row as an earlier version could leave it: door statistics beyond any double (jsonb keeps
    1e400), a timer that is no date, a status that is no object."""
    from django.db import connection

    from liftsafe.monitoring.models import MonitoringDevice as M

    with connection.cursor() as cur:
        cur.execute(f"UPDATE {M._meta.db_table} SET state = %s, last_status = %s WHERE id = %s",
                    ['{"door": {"n": 3, "mean": 1e400, "m2": "x", "win": [1e400, null], "limit": null}, '
                     '"trap_since": "not a time", "zone_since": 17}', '[1, 2, 3]', dev.pk])


@pytest.mark.parametrize("trigger", ["nul_in_message_id", "binary_with_nul", "corrupt_device_state", "failing_message"])
def test_one_bad_message_never_stalls_the_consumer(world, broker, trigger):
    """Each trigger that once stalled the worker for good (issue 18 item 1), followed by a valid entrapment of the
    same device through the real broker: the bad message is dead-lettered with its reason, the entrapment opens its
    case, every message is acknowledged (the session holds nothing afterwards)."""
    tag = uuid.uuid4().hex[:6]
    dev = services.bind_device(world.elevators["a1"], f"POI-{tag}")
    cid, group = f"poison-{tag}", f"po{tag}"
    now = timezone.now()
    topic = topic_for(dev.device_id, "event", PREFIX)
    expect = {"nul_in_message_id": "schema", "binary_with_nul": "malformed_json", "failing_message": "processing_error"}
    if trigger == "nul_in_message_id":
        bad = [(topic, json.dumps(msg(dev.device_id, "event", {"code": "01"}, ts=now, mid="m\u0000x")).encode())]
    elif trigger == "binary_with_nul":
        bad = [(topic, b"\x00\x01\xff\xfe{\x00\"v\":1}" + bytes(range(256)))]
    elif trigger == "corrupt_device_state":
        _corrupt_state(dev)
        bad = [(topic_for(dev.device_id, "stats", PREFIX),
                json.dumps(msg(dev.device_id, "stats", {"vibration_db": 30.0}, ts=now)).encode())]
    else:  # a message whose processing fails while the database answers (here: the maintenance hook raises for it)
        other = services.bind_device(world.elevators["a2"], f"POX-{tag}")

        def hook(elevator_id, at):
            if elevator_id == other.elevator_id:
                raise RuntimeError("maintenance system answered garbage")
            return False

        mock.patch.object(services, "maintenance_visit_open", hook).start()
        bad = [(topic_for(other.device_id, "event", PREFIX),
                json.dumps(msg(other.device_id, "event", {"code": "01"}, ts=now, mid="poison")).encode())]
    good = msg(dev.device_id, "event", {"code": "90"}, ts=now, mid="trapped")
    c = _consumer(group, cid, batch_size=50)
    try:
        publish_many(URL, bad + [(topic, json.dumps(good).encode())])
        assert _wait(lambda: len(c.queue) >= 2), len(c.queue)
        assert c.run(idle_exit_s=0.5) == 2
    finally:
        mock.patch.stopall()
        c.close()
    assert _entrapment_opens_case(dev)
    if trigger in expect:
        dl = DeadLetter.objects.get(reason=expect[trigger])
        assert dl.payload_sha256 and dl.payload_size == len(bad[0][1])
        assert "\x00" not in dl.payload + dl.message_id + dl.detail
        if trigger == "failing_message":
            assert "maintenance system answered garbage" in dl.detail and dl.message_id == "poison"
    else:  # the corrupt state was reset: the message was applied, the device works again
        dev.refresh_from_db()
        assert dev.messages_accepted == 2 and dev.state["door"]["n"] == 1
        assert not DeadLetter.objects.exists()
    c2 = _consumer(group, cid)  # same session: everything was acknowledged
    try:
        time.sleep(0.5)
        assert len(c2.queue) == 0
    finally:
        c2.close(forget=True)


# --------------------------------------------------------------------------- issue 18 item 5: sessions never hold alarms
def test_a_worker_that_leaves_holds_nothing_of_the_shared_stream(world, broker):
    """Scale-down: worker A stops gracefully (leave: unsubscribe, drain, end the session) while B keeps running.
    Every entrapment published afterwards reaches B — none waits in A's session (on Mosquitto 2.0.11 a plain
    disconnect with a live session kept 8 of 16 for A)."""
    tag = uuid.uuid4().hex[:6]
    group = f"lv{tag}"
    devs = [services.bind_device(world.elevators[e], f"LV-{tag}-{e}") for e in ("a1", "a2", "b1", "b2")]
    a, b = _consumer(group, f"lva-{tag}"), _consumer(group, f"lvb-{tag}")
    try:
        _pub([msg(d.device_id, "heartbeat") for d in devs for _ in range(4)])
        assert _wait(lambda: len(a.queue) + len(b.queue) >= 16)
        assert _wait(lambda: len(a.queue) > 0)  # A has its share in hand when told to stop
        assert a.leave() is True  # drained and acknowledged what it had, then ended its session
        assert a.processed > 0 and not a.queue
        _pub([msg(d.device_id, "event", {"code": "90"}, mid=f"trap-{d.device_id}") for d in devs for _ in range(1)]
             + [msg(d.device_id, "heartbeat") for d in devs for _ in range(3)])
        assert _wait(lambda: len(b.queue) >= 16 - a.processed + 16), len(b.queue)
        b.run(idle_exit_s=0.5)
    finally:
        b.close(forget=True)
    for d in devs:
        assert Alarm.objects.get(device=d, type=AlarmType.ENTRAPMENT).case_id is not None
    assert sum(MonitoringDevice.objects.get(pk=d.pk).messages_accepted for d in devs) == 32
    again = _consumer(group, f"lva-{tag}")  # A's client id again: a new, empty session
    try:
        time.sleep(0.5)
        assert len(again.queue) == 0
    finally:
        again.close(forget=True)


def test_a_crashed_worker_stops_holding_new_messages_once_its_session_expires(world, broker):
    """A worker that crashed and never comes back (scaled away, renamed): its session expires after the session
    expiry (5 minutes by default; 2 s here) and from then on every new message goes to the live workers."""
    tag = uuid.uuid4().hex[:6]
    group = f"cr{tag}"
    dev = services.bind_device(world.elevators["a1"], f"CR-{tag}")
    a = Consumer(URL, f"cra-{tag}", group=group, batch_size=50, batch_wait_s=0.02, prefix=PREFIX, session_expiry_s=2)
    a.start()
    assert a.subscribed.wait(5)
    b = _consumer(group, f"crb-{tag}")
    try:
        a.client.socket().close()  # crash: no DISCONNECT, the session stays for its expiry
        a.client.loop_stop()
        time.sleep(3.5)  # past A's session expiry
        _pub([msg(dev.device_id, "event", {"code": "90"}, mid="trap")] + [msg(dev.device_id, "heartbeat") for _ in range(15)])
        assert _wait(lambda: len(b.queue) >= 16), len(b.queue)
        assert b.run(idle_exit_s=0.5) == 16
    finally:
        b.close(forget=True)
    assert Alarm.objects.get(device=dev, type=AlarmType.ENTRAPMENT).case_id is not None


def test_consumer_session_expiry_is_minutes_not_days():
    from liftsafe.monitoring import mqtt as m

    assert 60 <= m.SESSION_EXPIRY_S <= 900
    assert Consumer(URL, "x").session_expiry_s == m.SESSION_EXPIRY_S
