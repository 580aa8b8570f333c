"""The demo's live IoT traffic (periodic job ``monitoring.demo_feed``, run by ``liftsafe worker`` under ``liftsafe demo``).

Each tick (every 2 s):

- the simulator (:mod:`.simulator`) advances ``LIFTSAFE_DEMO_DEVICES`` (default 60) simulated cars
  (``SIM-<elevator id>``, passenger lifts spread over the areas) with injected faults at
  ``LIFTSAFE_DEMO_FAULT_RATE`` (default 2) per car per hour: entrapments, alarm buttons, door open while
  running, over-travel, overspeed and area power cuts, so alarms, emergency cases (channel IoT) and
  correlated incidents appear on the board within minutes;
- the real Huawei elevator-door series (4 Hz; ``data/huawei-door-pdm.csv.gz``) is replayed as the
  statistics stream of one add-on door sensor, ``DOOR-<elevator id>``, on the elevator of the first
  simulated car, looping, ``LIFTSAFE_DEMO_DOOR_SPEED`` (default 10) times faster than recorded; the
  platform's streaming door analytics (:mod:`.door_stream`) flags its sustained abnormal vibration
  (the first window about 90 s after the start at the default speed) on that elevator's monitoring page.

Without ``LIFTSAFE_MQTT_URL`` the messages are fed to :func:`services.process_batch` in-process (no broker).
With it, they are published to the broker at QoS 1 (topics ``liftsafe/v1/<device>/<type>``) and this
worker process also runs one MQTT consumer (:class:`.mqtt.Consumer`, client id ``liftsafe-demo-<group>-<host>``,
the shared subscription of ``liftsafe mqtt_consume``, group ``LIFTSAFE_DEMO_MQTT_GROUP``, default ``liftsafe``)
in a background thread, so the demo's traffic really
goes device → broker → consumer → alarms. Extra ``liftsafe mqtt_consume`` processes share the load.
"""
from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid

from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)

_STATE: dict = {}
_LOCK = threading.Lock()

DOOR_PREFIX = "DOOR-"
DOOR_VENDOR = "huawei-door-replay"


def _door_device(sim_devices: list[tuple[str, str, int, float]]):
    """Bind (once) the door sensor ``DOOR-<elevator id>`` to the elevator of the first simulated device."""
    from .models import MonitoringDevice
    from .services import bind_device

    existing = MonitoringDevice.objects.filter(active=True, vendor=DOOR_VENDOR).select_related("elevator").first()
    if existing is not None:
        return existing
    first = MonitoringDevice.objects.select_related("elevator").filter(device_id=sim_devices[0][0]).first()
    if first is None:
        return None
    return bind_device(first.elevator, f"{DOOR_PREFIX}{first.elevator_id}", vendor=DOOR_VENDOR)


def _setup(now):
    from .door_stream import DoorReplay
    from .simulator import Simulator, devices_for_simulation

    devices = devices_for_simulation(int(os.environ.get("LIFTSAFE_DEMO_DEVICES", "60")))
    if not devices:
        return False
    id_base = int(now.timestamp() * 1000)
    _STATE["sim"] = Simulator(devices, seed=7, fault_rate=float(os.environ.get("LIFTSAFE_DEMO_FAULT_RATE", "2")), id_base=id_base)
    _STATE["last"] = now
    door = _door_device(devices)
    if door is not None:
        _STATE["door"] = DoorReplay(door.device_id, speed=float(os.environ.get("LIFTSAFE_DEMO_DOOR_SPEED", "10")), id_base=id_base)
        log.info("demo door sensor %s on elevator %s replays the Huawei door series", door.device_id, door.elevator_id)
    return True


def demo_tick(now=None) -> int:
    """One tick: advance the simulator and the door replay to ``now`` and deliver their messages
    (in-process, or through the broker when ``LIFTSAFE_MQTT_URL`` is set). Returns messages produced."""
    from .services import RawMessage, process_batch

    now = now or timezone.now()
    with _LOCK:
        if "sim" not in _STATE and not _setup(now):
            return 0
        step = max(0.5, min(10.0, (now - _STATE["last"]).total_seconds()))
        _STATE["last"] = now
        msgs = _STATE["sim"].step(now, step)
        if "door" in _STATE:
            msgs += _STATE["door"].messages(now)
    url = os.environ.get("LIFTSAFE_MQTT_URL")
    if url:
        ensure_consumer(url)
        publish(url, msgs)
    else:
        process_batch([RawMessage(p, topic=t, received_at=now, transport="sim") for t, p in msgs], now=now)
    return len(msgs)


def publish(url: str, msgs: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 over one long-lived connection (reconnected if it dropped); waits for the PUBACKs."""
    from .mqtt import make_client

    client = _STATE.get("publisher")
    if client is None or not client.is_connected():
        if client is not None:
            client.loop_stop()
        client, _ = make_client(url, f"liftsafe-demo-pub-{uuid.uuid4().hex[:8]}", persistent=False)
        client.loop_start()
        _STATE["publisher"] = client
    infos = [client.publish(t, p, qos=1) for t, p in msgs]
    for info in infos:
        info.wait_for_publish(timeout=30)


def ensure_consumer(url: str):
    """Start (or restart, if it died) the demo's MQTT consumer thread in this process; returns the Consumer."""
    from .mqtt import Consumer

    with _LOCK:
        thread = _STATE.get("consumer_thread")
        if thread is not None and thread.is_alive():
            return _STATE["consumer"]
        group = os.environ.get("LIFTSAFE_DEMO_MQTT_GROUP", "liftsafe")
        consumer = Consumer(url, f"liftsafe-demo-{group}-{socket.gethostname()}", group=group)

        def run():
            try:
                consumer.start()
                consumer.run()
            except Exception:  # noqa: BLE001 - logged; the next tick starts a new consumer
                log.exception("demo MQTT consumer stopped")
            finally:
                consumer.close(forget=getattr(consumer, "forget_on_close", False))
                connection.close()  # this thread's database connection

        thread = threading.Thread(target=run, name="liftsafe-demo-mqtt-consumer", daemon=True)
        _STATE["consumer"], _STATE["consumer_thread"] = consumer, thread
        thread.start()
        if not _STATE.get("atexit"):  # worker shutdown: finish the batch in hand and disconnect cleanly
            _STATE["atexit"] = True
            atexit.register(stop)
        log.info("demo MQTT consumer started on %s (shared subscription, client id %s)", url, consumer.client_id)
    # a new group's subscription must exist before the first publish, or the broker drops those messages
    if not consumer.subscribed.wait(10):
        log.warning("demo MQTT consumer not subscribed after 10 s; publishing anyway")
    return consumer


def stop(*, forget: bool = False) -> None:
    """Stop the consumer thread and the publisher; the next tick starts afresh. ``forget``: also end the
    consumer's persistent session on the broker (tests with a throw-away group)."""
    with _LOCK:
        consumer, thread = _STATE.pop("consumer", None), _STATE.pop("consumer_thread", None)
        publisher = _STATE.pop("publisher", None)
        _STATE.clear()
    if consumer is not None:
        consumer.forget_on_close = forget
        consumer.stop()
    if thread is not None:
        thread.join(timeout=10)
    if publisher is not None:
        publisher.disconnect()
        publisher.loop_stop()
