"""MQTT transport (paho-mqtt): the consumer worker and a publisher.

Consumer: MQTT 5 (or 3.1.1) with QoS 1 and a persistent session (MQTT 5
``clean_start=False`` + session expiry; 3.1.1 ``clean_session=False``), subscribed
to the shared subscription ``$share/<group>/liftsafe/v1/+/+`` so several workers,
on one or several machines, split the load. Messages are acknowledged manually
(``manual_ack``) only after :func:`liftsafe.monitoring.services.process_batch`
has committed, so a worker killed mid-batch loses nothing (the broker redelivers
the un-acknowledged messages of its session) and the ledger turns the
redelivery into a no-op.

Topic layout and payloads: docs/monitoring.md.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

SUBSCRIPTION = "liftsafe/v1/+/+"
SESSION_EXPIRY_S = 7 * 24 * 3600


@dataclass(frozen=True)
class BrokerUrl:
    """``mqtt://[user[:password]@]host[:port][?protocol=5|311]`` parsed."""

    host: str
    port: int
    username: str | None
    password: str | None
    protocol: int

    @classmethod
    def parse(cls, url: str) -> "BrokerUrl":
        u = urlparse(url)
        if u.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"LIFTSAFE_MQTT_URL: scheme must be mqtt://, got {url!r}")
        q = parse_qs(u.query)
        proto = mqtt.MQTTv311 if q.get("protocol", ["5"])[0] in ("311", "3.1.1", "4") else mqtt.MQTTv5
        return cls(u.hostname or "127.0.0.1", u.port or 1883, u.username, u.password, proto)


def make_client(url: str, client_id: str, *, persistent: bool, manual_ack: bool = False,
                receive_maximum: int = 1000) -> tuple[mqtt.Client, BrokerUrl]:
    """A connected-but-not-looping paho client for ``url`` (persistent session when ``persistent``)."""
    b = BrokerUrl.parse(url)
    kw = {"clean_session": not persistent} if b.protocol == mqtt.MQTTv311 else {}
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=b.protocol, manual_ack=manual_ack, **kw)
    if b.username:
        c.username_pw_set(b.username, b.password)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    if b.protocol == mqtt.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S if persistent else 0
        props.ReceiveMaximum = max(1, min(65535, receive_maximum))
        c.connect(b.host, b.port, keepalive=30, clean_start=not persistent, properties=props)
    else:
        c.connect(b.host, b.port, keepalive=30)
    return c, b


def publish_many(url: str, messages: list[tuple[str, bytes]], *, qos: int = 1, client_id: str | None = None) -> int:
    """Publish ``[(topic, payload)]`` at QoS 1 and wait until the broker has acknowledged all; returns the count."""
    c, _ = make_client(url, client_id or f"liftsafe-pub-{uuid.uuid4().hex[:8]}", persistent=False)
    c.loop_start()
    try:
        for i in range(0, len(messages), 20_000):  # 16-bit message ids: fewer than 65,535 outstanding
            infos = [c.publish(t, p, qos=qos) for t, p in messages[i:i + 20_000]]
            for info in infos:
                info.wait_for_publish(timeout=60)
    finally:
        c.disconnect()
        c.loop_stop()
    return len(messages)


class Consumer:
    """Worker: pull messages from a shared subscription, process them in batches, ack after commit.

    ``client_id`` must be stable per worker (the persistent session lives under it);
    ``group`` is the shared-subscription group. ``batch_size`` messages or
    ``batch_wait_s`` seconds, whichever comes first, make a batch.
    """

    def __init__(self, url: str, client_id: str, *, group: str = "liftsafe", batch_size: int = 1000,
                 batch_wait_s: float = 0.05, shared: bool = True):
        self.url, self.client_id, self.group = url, client_id, group
        self.batch_size, self.batch_wait_s = batch_size, batch_wait_s
        self.topic = f"$share/{group}/{SUBSCRIPTION}" if shared else SUBSCRIPTION
        self.queue: deque = deque()
        self.stop_event = threading.Event()
        self.processed = 0
        self.subscribed = threading.Event()
        self.client: mqtt.Client | None = None
        self.started_at: float | None = None  # wall clock (time.time()) at connect, for benchmarks
        self.last_batch_at: float | None = None  # wall clock after the last acknowledged batch

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        self.queue.append((msg.payload, msg.topic, msg.mid, msg.qos, dt.datetime.now(dt.timezone.utc)))

    def start(self) -> None:
        """Connect and start the network thread (messages queue up; :meth:`run` processes them)."""
        c, _ = make_client(self.url, self.client_id, persistent=True, manual_ack=True, receive_maximum=self.batch_size * 2)
        c.on_connect, c.on_subscribe, c.on_message = self._on_connect, self._on_subscribe, self._on_message
        self.client = c
        self.started_at = time.time()
        c.loop_start()

    def stop(self) -> None:
        self.stop_event.set()

    def close(self, *, forget: bool = False) -> None:
        """Disconnect. ``forget``: also unsubscribe and end the persistent session (tests, decommissioning)."""
        if self.client is None:
            return
        props = None
        if forget:
            self.client.unsubscribe(self.topic)
            if self.client.protocol == mqtt.MQTTv5:  # expiry 0 on DISCONNECT ends the session
                props = Properties(PacketTypes.DISCONNECT)
                props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()

    def run(self, *, idle_exit_s: float | None = None, max_messages: int | None = None) -> int:
        """Process until stopped (or idle for ``idle_exit_s``, or ``max_messages`` done); returns messages processed."""
        from django.db import close_old_connections, connection

        from .services import RawMessage, process_batch

        if self.client is None:
            self.start()
        idle_since = time.monotonic()
        while not self.stop_event.is_set():
            if not self.queue:
                if idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    break
                time.sleep(0.002)
                continue
            deadline = time.monotonic() + self.batch_wait_s
            while len(self.queue) < self.batch_size and time.monotonic() < deadline:
                time.sleep(0.001)
            batch = [self.queue.popleft() for _ in range(min(self.batch_size, len(self.queue)))]
            raws = [RawMessage(p, topic=t, received_at=r, transport="mqtt") for p, t, _m, _q, r in batch]
            while True:
                try:
                    if not connection.in_atomic_block:  # (inside a test's transaction: keep it)
                        close_old_connections()
                    process_batch(raws)
                    break
                except Exception:  # noqa: BLE001 - database down etc.: keep the batch un-acked, retry
                    log.exception("batch failed; retrying in 1 s (messages stay un-acknowledged)")
                    if self.stop_event.wait(1.0):
                        return self.processed
            for _p, _t, mid, qos, _r in batch:
                if qos > 0:
                    self.client.ack(mid, qos)
            self.processed += len(batch)
            self.last_batch_at = time.time()
            idle_since = time.monotonic()
            if max_messages is not None and self.processed >= max_messages:
                break
        return self.processed
