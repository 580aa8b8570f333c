"""MQTT transport (paho-mqtt): the consumer worker and a publisher.

Consumer: MQTT 5 (or 3.1.1) with QoS 1 and a short persistent session (MQTT 5
``clean_start=False`` + :data:`SESSION_EXPIRY_S`; 3.1.1 ``clean_session=False``), subscribed
to the shared subscription ``$share/<group>/liftsafe/v1/+/+`` so several workers,
on one or several machines, split the load. Messages are acknowledged manually
(paho ``manual_ack``) only after :func:`liftsafe.monitoring.services.process_batch`
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
#: MQTT 5 session expiry of a consumer, s (docs/monitoring.md "Sessions"): long enough for a crashed worker restarted
#: under the same client id to get back its unacknowledged messages, short enough that a worker scaled away or
#: renamed stops being a routing target of the shared subscription within minutes (issue 18 item 5; it was 7 days)
SESSION_EXPIRY_S = 300


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
                receive_maximum: int = 1000, session_expiry_s: int = SESSION_EXPIRY_S) -> tuple[mqtt.Client, BrokerUrl]:
    """A connected-but-not-looping paho client for ``url`` (persistent session of ``session_expiry_s`` when
    ``persistent``; MQTT 3.1.1 has no expiry: the broker's own setting applies)."""
    b = BrokerUrl.parse(url)
    kw = {"clean_session": not persistent} if b.protocol == mqtt.MQTTv311 else {}
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=b.protocol, manual_ack=manual_ack, **kw)
    if b.username:
        c.username_pw_set(b.username, b.password)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    if b.protocol == mqtt.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s if persistent else 0
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

    ``client_id`` must be stable per worker slot, never random (its session, :data:`SESSION_EXPIRY_S`, lives under
    it; a graceful stop ends it with :meth:`leave`);
    ``group`` is the shared-subscription group. ``batch_size`` messages or
    ``batch_wait_s`` seconds, whichever comes first, make a batch.

    The connection is a paho client (``manual_ack=True``) whose network thread
    queues every message into :attr:`queue` as ``(payload: bytes, topic: str,
    mid: int, qos: int, received_at: aware datetime)``; a lost connection is
    re-established by paho itself (same client id and persistent session; the
    subscription is sent again in ``on_connect``). The processing thread
    (:meth:`run`) takes batches, calls
    :func:`~liftsafe.monitoring.services.process_batch` and, after its commit,
    acknowledges the batch (:meth:`acknowledge`, paho's ``ack`` per message). When
    a full next batch is already queued, its database-free stage
    (:func:`~liftsafe.monitoring.services.prepare_batch`: JSON, schema, checks) runs
    in a helper thread while the current batch waits on PostgreSQL (the GIL is
    free then); it is acknowledged only after its own commit.

    Stale acknowledgements: MQTT packet ids belong to the session, and a broker
    resends an un-acknowledged message on the new connection under its original
    id, then may reuse that id for another message once it is acknowledged. paho
    sends ``ack(mid)`` for whatever ``mid`` it is given, so a PUBACK for a message
    received on an earlier connection could acknowledge a different, not yet
    committed message. The consumer therefore numbers its connections
    (:attr:`generation`, advanced in ``on_disconnect``, before paho reconnects) and
    puts the generation into the queued ``mid`` (``generation << 16 | packet id``);
    :meth:`acknowledge` skips messages of an earlier generation (the broker
    redelivers them and the ledger turns them into duplicates).
    """

    def __init__(self, url: str, client_id: str, *, group: str = "liftsafe", batch_size: int = 1000,
                 batch_wait_s: float = 0.05, shared: bool = True, prefix: str = "liftsafe/v1",
                 session_expiry_s: int = SESSION_EXPIRY_S):
        self.url, self.client_id, self.group = url, client_id, group
        self.batch_size, self.batch_wait_s = batch_size, batch_wait_s
        self.prefix = prefix  # topics are <prefix>/<device>/<type>; another root for a test run or a tenant
        self.session_expiry_s = session_expiry_s
        self.pending = 0  # messages taken from the queue and not yet acknowledged (or skipped as stale)
        sub = f"{prefix}/+/+"
        self.topic = f"$share/{group}/{sub}" if shared else sub
        self.queue: deque = deque()
        self.stop_event = threading.Event()
        self.processed = 0
        self.subscribed = threading.Event()
        self.client: mqtt.Client | None = None
        self.generation = 0  # connection number, see the class doc
        self._gen_lock = threading.Lock()  # an ack is checked and queued under it; a disconnect advances under it
        self._closing = False
        self._closed = threading.Event()  # set by on_disconnect once a requested DISCONNECT went out
        self.started_at: float | None = None  # wall clock (time.time()) at connect, for benchmarks
        self.last_batch_at: float | None = None  # wall clock after the last acknowledged batch

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe(self.topic, qos=1)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        # paho calls this before it reconnects (and before reconnect() drops its unsent packets):
        # from now on no acknowledgement of an earlier message is queued
        with self._gen_lock:
            self.generation += 1
        self.subscribed.clear()
        if self._closing:
            self._closed.set()
        else:
            log.warning("MQTT connection lost (%s); paho reconnects", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("MQTT subscribe to %s refused: %s", self.topic, [str(rc) for rc in reason_codes])
            return
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        self.queue.append((msg.payload, msg.topic, self.generation << 16 | msg.mid, msg.qos,
                           dt.datetime.now(dt.timezone.utc)))

    def start(self) -> None:
        """Connect, subscribe and start paho's network thread (messages queue up; :meth:`run` processes them).

        Raises:
            ConnectionError / OSError: the broker is unreachable or refuses the connection.
        """
        # three batches in flight: one committing, one being prepared, one arriving
        c, _ = make_client(self.url, self.client_id, persistent=True, manual_ack=True,
                           receive_maximum=self.batch_size * 3, session_expiry_s=self.session_expiry_s)
        c.on_connect, c.on_disconnect = self._on_connect, self._on_disconnect
        c.on_subscribe, c.on_message = self._on_subscribe, self._on_message
        self.client = c
        self.started_at = time.time()
        c.loop_start()

    def acknowledge(self, entries) -> int:
        """PUBACK the QoS 1 messages among ``entries`` (queue tuples) that arrived on the current connection.

        Returns how many acknowledgements were handed to paho; entries of an earlier connection
        are skipped (class doc), QoS 0 entries need none.
        """
        client = self.client
        if client is None:
            return 0
        sent = 0
        with self._gen_lock:
            gen = self.generation
            for _p, _t, mid, qos, _r in entries:
                if qos == 1 and mid >> 16 == gen:
                    client.ack(mid & 0xFFFF, 1)
                    sent += 1
        return sent

    def stop(self) -> None:
        self.stop_event.set()

    def leave(self, *, drain_s: float = 30.0, timeout_s: float = 5.0) -> bool:
        """Graceful stop that leaves nothing behind in the broker (scale-down, deploy): unsubscribe (the
        broker routes no new message of the shared subscription to this session: UNSUBACK awaited),
        process and acknowledge what was already delivered (at most ``drain_s``), confirm the
        acknowledgements, then end the session (DISCONNECT with session expiry 0).

        When something could not be processed in time (the database is down), the session is kept
        (plain disconnect): the worker restarted under the same client id within the session expiry gets
        those messages again. Returns True when the session was ended clean."""
        client = self.client
        if client is None:
            return False
        if client.is_connected():
            done = threading.Event()
            client.on_unsubscribe = lambda *_a: done.set()
            client.unsubscribe(self.topic)
            if not done.wait(timeout_s):
                log.warning("MQTT unsubscribe not confirmed within %.0f s", timeout_s)
        self.stop_event.clear()
        timer = threading.Timer(drain_s, self.stop_event.set)
        timer.start()
        try:
            self.run(idle_exit_s=0.3)
        finally:
            timer.cancel()
        clean = not self.queue and self.pending == 0 and self.flush_acks(timeout_s)
        self.close(forget=clean, timeout_s=timeout_s)
        return clean

    def flush_acks(self, timeout_s: float = 5.0) -> bool:
        """Wait until the broker has processed every acknowledgement sent so far; True when confirmed.

        A PUBACK has no answer, and a DISCONNECT sent right after a batch's PUBACKs loses most of them on
        Mosquitto 2.0.11 (measured: 8 of 15 rounds lost 48 of 50 PUBACKs; the broker then redelivers a
        committed batch). So this sends an UNSUBSCRIBE of a filter never subscribed and waits for its
        UNSUBACK: the broker handles a connection's packets in order, so every PUBACK before it is done
        (15 of 15 rounds clean)."""
        client = self.client
        if client is None or not client.is_connected():
            return False
        done = threading.Event()
        client.on_unsubscribe = lambda *_a: done.set()
        client.unsubscribe(f"{self.prefix}/$none/ack-barrier-{uuid.uuid4().hex[:8]}")
        return done.wait(timeout_s)

    def close(self, *, forget: bool = False, timeout_s: float = 5.0) -> None:
        """Disconnect after every acknowledgement already handed to paho has reached the broker.

        First :meth:`flush_acks` (the broker confirms it processed them), then DISCONNECT, then wait (at
        most ``timeout_s``) until paho reports the disconnect written before stopping its network thread:
        a graceful stop never leaves a committed batch to be redelivered (issue 16).
        ``forget``: also unsubscribe and end the persistent session (tests, decommissioning)."""
        if self.client is None:
            return
        self._closing = True
        if not self.flush_acks(timeout_s) and self.client.is_connected():
            log.warning("MQTT acknowledgements not confirmed within %.0f s", timeout_s)
        props = None
        if forget:
            self.client.unsubscribe(self.topic)
            if self.client.protocol == mqtt.MQTTv5:  # expiry 0 on DISCONNECT ends the session
                props = Properties(PacketTypes.DISCONNECT)
                props.SessionExpiryInterval = 0
        connected = self.client.is_connected()
        self.client.disconnect(properties=props)
        if connected and not self._closed.wait(timeout_s):
            log.warning("MQTT disconnect not confirmed within %.0f s", timeout_s)
        self.client.loop_stop()

    def run(self, *, idle_exit_s: float | None = None, max_messages: int | None = None) -> int:
        """Process until stopped (or idle for ``idle_exit_s``, or ``max_messages`` done); returns messages processed."""
        from concurrent.futures import ThreadPoolExecutor

        from django.db import close_old_connections, connection

        from .services import RawMessage, prepare_batch, process_resilient

        if self.client is None:
            self.start()
        queue, popleft, size = self.queue, self.queue.popleft, self.batch_size

        def take(n: int) -> list:
            out = [popleft() for _ in range(min(n, len(queue)))]
            self.pending += len(out)
            return out

        prefix = self.prefix

        def raws_of(batch: list) -> list:
            return [RawMessage(p, t, r, "mqtt", prefix) for p, t, _m, _q, r in batch]

        helper = ThreadPoolExecutor(1, thread_name_prefix=f"prepare-{self.client_id}")
        ahead = None  # (batch, future of its PreparedBatch)
        idle_since = time.monotonic()
        try:
            while not self.stop_event.is_set():
                if ahead is not None:
                    batch, future = ahead
                    ahead = None
                    prepared = future.result()
                    raws = prepared.raws
                else:
                    if not queue:
                        if idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                            break
                        time.sleep(0.002)
                        continue
                    if len(queue) < size:
                        deadline = time.monotonic() + self.batch_wait_s
                        while len(queue) < size and time.monotonic() < deadline:
                            time.sleep(0.001)
                    batch = take(size)
                    raws, prepared = raws_of(batch), None
                if max_messages is None and len(queue) >= size:  # a full next batch is here: prepare it meanwhile
                    nxt = take(size)
                    ahead = (nxt, helper.submit(prepare_batch, raws_of(nxt)))
                while True:
                    try:
                        if not connection.in_atomic_block:  # (inside a test's transaction: keep it)
                            close_old_connections()
                        # a message that fails while the database answers is isolated and dead-lettered there
                        process_resilient(raws, prepared=prepared)
                        break
                    except Exception:  # noqa: BLE001 - the database is down: keep the batch un-acked, retry
                        log.exception("batch failed with the database unavailable; retrying in 1 s "
                                      "(messages stay un-acknowledged)")
                        prepared = None  # prepare again from the raw messages
                        if self.stop_event.wait(1.0):
                            return self.processed
                self.acknowledge(batch)
                self.pending -= len(batch)
                self.processed += len(batch)
                self.last_batch_at = time.time()
                idle_since = time.monotonic()
                if max_messages is not None and self.processed >= max_messages:
                    break
        finally:
            helper.shutdown(wait=True)
            # a batch prepared but not processed stays un-acknowledged: the broker redelivers it
        return self.processed
