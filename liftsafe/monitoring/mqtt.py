"""MQTT transport (paho-mqtt): the consumer worker and a publisher.

Consumer: MQTT 5 (or 3.1.1) with QoS 1 and a persistent session (MQTT 5
``clean_start=False`` + session expiry; 3.1.1 ``clean_session=False``), subscribed
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
import select
import socket
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

    Threads. The connection is a paho client (``manual_ack=True``) driven through
    paho's public external-loop API (``loop_read`` / ``loop_write`` / ``loop_misc``,
    ``want_write``, ``socket``) by the consumer's own **network thread**
    (:meth:`_network_loop`; paho's ``loop_start`` is not used). It waits in
    ``select`` on the socket and on a wake-up socket pair, then calls
    ``loop_read`` again and again while packets keep arriving (paho reads one
    packet per call), so a burst of messages costs one ``select``, not one each.
    Every message goes into :attr:`queue` as ``(payload: bytes, topic: str, mid: int,
    qos: int, received_at: aware datetime)``. The processing thread (:meth:`run`)
    takes batches, calls :func:`~liftsafe.monitoring.services.process_batch` and,
    after its commit, hands the batch's packet ids to the network thread
    (:meth:`acknowledge`: one list and one wake-up per batch); the network thread
    queues paho's ``ack`` for each and writes them with one ``loop_write``. When a full
    next batch is already queued, its database-free stage
    (:func:`~liftsafe.monitoring.services.prepare_batch`: JSON, schema, checks) runs
    in a helper thread while the current batch waits on PostgreSQL (the GIL is
    free then); it is acknowledged only after its own commit.

    Only the network thread calls into the paho client after :meth:`start` (acks,
    subscribe, disconnect, reconnect): ``on_socket_register_write`` is set, so
    paho never writes from another thread, and nothing else touches its packet
    queue or socket.

    Reconnects: when paho reports the connection lost (``loop_read`` / ``loop_write``
    / ``loop_misc`` close the socket and call ``on_disconnect``), the network thread
    waits (1 s, doubling up to :attr:`RECONNECT_MAX_S`, back to 1 s after a CONNACK
    that accepted the connection; the wait ends early on :meth:`close`) and calls
    paho's ``reconnect()``: same client id and persistent session, so the broker
    resends the un-acknowledged messages; the subscription is sent again in
    ``on_connect``. The first connection is made by :meth:`start` and its failure
    raises there.

    Stale acknowledgements: MQTT packet ids belong to the session, and a broker
    resends an un-acknowledged message on the new connection under its original
    id, then may reuse that id for another message once it is acknowledged. paho
    sends ``ack(mid)`` for whatever ``mid`` it is given, so a PUBACK for a message
    received on an earlier connection could acknowledge a different, not yet
    committed message. The consumer therefore numbers its connections
    (:attr:`generation`, advanced in ``on_disconnect`` and before every
    ``reconnect()``) and puts the generation into the queued ``mid``
    (``generation << 16 | packet id``); acknowledgements of an earlier generation are
    dropped, both when :meth:`acknowledge` hands them over and, again, by the network
    thread when it sends them (it alone advances the generation, so that check
    cannot race a reconnect). The broker redelivers those messages and the ledger
    turns them into duplicates.
    """

    RECONNECT_MIN_S = 1.0  # paho's own defaults (reconnect_delay_set)
    RECONNECT_MAX_S = 120.0
    READ_BURST = 2000  # at most this many loop_read calls between two looks at the acks to send

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
        self.generation = 0  # connection number, see the class doc; advanced only by the network thread
        self._closing = False
        self._acks: deque = deque()  # (generation, [packet id]) handed to the network thread, one entry per batch
        self._received = 0  # PUBLISH packets received (network thread)
        self._reconnect_delay = self.RECONNECT_MIN_S
        self._net: threading.Thread | None = None
        self._wake_r = self._wake_w = None  # socket pair: wakes the network thread out of select
        self._close_request: tuple | None = None  # (forget,) from close()
        self._abort = False
        self.started_at: float | None = None  # wall clock (time.time()) at connect, for benchmarks
        self.last_batch_at: float | None = None  # wall clock after the last acknowledged batch

    # ------------------------------------------------------------------ paho callbacks (network thread)
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        self._reconnect_delay = self.RECONNECT_MIN_S
        client.subscribe(self.topic, qos=1)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        # from now on no acknowledgement of an earlier message is sent (class doc)
        self.generation += 1
        self.subscribed.clear()
        if not self._closing:
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("MQTT subscribe to %s refused: %s", self.topic, [str(rc) for rc in reason_codes])
            return
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        self._received += 1
        self.queue.append((msg.payload, msg.topic, self.generation << 16 | msg.mid, msg.qos,
                           dt.datetime.now(dt.timezone.utc)))

    def _on_register_write(self, client, userdata, sock):
        # paho has a packet to write: the network thread writes it (from another thread, wake it up)
        if threading.current_thread() is not self._net:
            self._wake()

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Connect, subscribe and start the network thread (messages queue up; :meth:`run` processes them).

        Raises:
            ConnectionError / OSError: the broker is unreachable or refuses the connection.
        """
        # three batches in flight: one committing, one being prepared, one arriving
        c, _ = make_client(self.url, self.client_id, persistent=True, manual_ack=True,
                           receive_maximum=self.batch_size * 3)
        c.on_connect, c.on_disconnect = self._on_connect, self._on_disconnect
        c.on_subscribe, c.on_message = self._on_subscribe, self._on_message
        c.on_socket_register_write = self._on_register_write  # no writes from the caller's thread
        self.client = c
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.started_at = time.time()
        self._net = threading.Thread(target=self._network_loop, name=f"mqtt-{self.client_id}", daemon=True)
        self._net.start()

    def acknowledge(self, entries) -> int:
        """PUBACK the QoS 1 messages among ``entries`` (queue tuples) that arrived on the current connection.

        Hands their packet ids to the network thread, which sends them (one wake-up per call). Returns how
        many acknowledgements were handed over; entries of an earlier connection are skipped (class doc),
        QoS 0 entries need none. Sent in the order handed over, before :meth:`close`'s DISCONNECT.
        """
        if self.client is None:
            return 0
        gen = self.generation
        mids = [mid & 0xFFFF for _p, _t, mid, qos, _r in entries if qos == 1 and mid >> 16 == gen]
        if mids:
            self._acks.append((gen, mids))
            self._wake()
        return len(mids)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self, *, forget: bool = False, timeout: float = 10.0) -> None:
        """Send the acknowledgements handed over, then disconnect and end the network thread.

        ``forget``: also unsubscribe and end the persistent session (tests, decommissioning).
        """
        if self.client is None:
            return
        self._closing = True
        self._close_request = (forget,)
        if self._net is not None and self._net.is_alive():
            self._wake()
            self._net.join(timeout)
        else:
            self._finish(forget)

    def abort(self) -> None:
        """Drop the connection as a killed worker would: stop the network thread, send nothing more
        (no pending acknowledgement, no DISCONNECT) and close the socket (tests)."""
        if self.client is None:
            return
        self._closing = self._abort = True
        if self._net is not None and self._net.is_alive():
            self._wake()
            self._net.join(10)
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        self._close_wake_pair()

    # ------------------------------------------------------------------ network thread
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError, AttributeError):
            pass  # already woken (buffer full) or closed

    def _send_acks(self) -> None:
        client = self.client
        while self._acks:
            gen, mids = self._acks.popleft()
            if gen != self.generation:  # received on an earlier connection: the broker redelivers them
                continue
            for mid in mids:
                client.ack(mid, 1)

    def _wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``; a wake-up (close, abort, acks) ends it early."""
        try:
            r, _w, _x = select.select([self._wake_r], [], [], seconds)
            if r:
                self._wake_r.recv(4096)
        except (OSError, ValueError):
            time.sleep(seconds)

    def _reconnect(self) -> None:
        delay = self._reconnect_delay
        self._wait(delay)
        if self._close_request is not None or self._abort:
            return
        self._reconnect_delay = min(delay * 2, self.RECONNECT_MAX_S)
        self.generation += 1  # also when paho did not report the loss (socket closed under it)
        self.subscribed.clear()
        self._acks.clear()  # all of an earlier connection
        try:
            self.client.reconnect()  # queues CONNECT; the loop writes it, CONNACK → on_connect → subscribe
        except OSError as e:
            log.warning("MQTT reconnect to %s failed (%s); next attempt in %.0f s", self.url, e, self._reconnect_delay)

    def _network_loop(self) -> None:
        client, wake = self.client, self._wake_r
        select_ = select.select
        loop_read, loop_write, want_write = client.loop_read, client.loop_write, client.want_write
        next_misc = time.monotonic() + 1.0
        try:
            while not self._abort:
                if self._close_request is not None:
                    self._finish(self._close_request[0])
                    return
                sock = client.socket()
                if sock is None:
                    self._reconnect()
                    continue
                try:
                    readable, writable, _x = select_([sock, wake], [sock] if want_write() else [], [], 1.0)
                except (OSError, ValueError, TypeError):  # socket closed under paho: let paho notice and report it
                    if loop_read() == 0 and client.socket() is sock:
                        time.sleep(0.05)
                    continue
                if wake in readable:
                    try:
                        wake.recv(4096)
                    except BlockingIOError:
                        pass
                if sock in readable:
                    for _ in range(self.READ_BURST):
                        before = self._received
                        if loop_read() or self._received == before:
                            break  # error (paho closed the socket and reported it), or nothing more to read
                if self._acks and client.socket() is not None:
                    self._send_acks()
                if want_write() and client.socket() is not None:
                    loop_write()
                now = time.monotonic()
                if now >= next_misc and client.socket() is not None:
                    client.loop_misc()  # keepalive: PINGREQ, or the connection is declared lost
                    next_misc = now + 1.0
        except Exception:  # noqa: BLE001 - the network thread must not die silently
            log.exception("MQTT network thread failed")
            raise

    def _finish(self, forget: bool) -> None:
        """Network thread (or the caller, when that thread is not running): pending acks, then DISCONNECT."""
        client = self.client
        if self._abort:
            return
        if client.socket() is not None:
            self._send_acks()
        props = None
        if forget:
            if client.socket() is not None:
                client.unsubscribe(self.topic)
            if client.protocol == mqtt.MQTTv5:  # expiry 0 on DISCONNECT ends the session
                props = Properties(PacketTypes.DISCONNECT)
                props.SessionExpiryInterval = 0
        client.disconnect(properties=props)
        deadline = time.monotonic() + 5.0
        while client.socket() is not None and client.want_write() and time.monotonic() < deadline:
            if client.loop_write():
                break
            sock = client.socket()
            if sock is not None and client.want_write():
                try:
                    select.select([], [sock], [], 0.1)
                except (OSError, ValueError):
                    break
        self._close_wake_pair()  # (writing the DISCONNECT closed the MQTT socket: paho)

    def _close_wake_pair(self) -> None:
        for s in (self._wake_r, self._wake_w):
            if s is not None:
                s.close()

    def run(self, *, idle_exit_s: float | None = None, max_messages: int | None = None) -> int:
        """Process until stopped (or idle for ``idle_exit_s``, or ``max_messages`` done); returns messages processed."""
        from concurrent.futures import ThreadPoolExecutor

        from django.db import close_old_connections, connection

        from .services import RawMessage, prepare_batch, process_batch

        if self.client is None:
            self.start()
        queue, popleft, size = self.queue, self.queue.popleft, self.batch_size

        def take(n: int) -> list:
            return [popleft() for _ in range(min(n, len(queue)))]

        def raws_of(batch: list) -> list:
            return [RawMessage(p, t, r, "mqtt") for p, t, _m, _q, r in batch]

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
                        process_batch(raws, prepared=prepared)
                        break
                    except Exception:  # noqa: BLE001 - database down etc.: keep the batch un-acked, retry
                        log.exception("batch failed; retrying in 1 s (messages stay un-acknowledged)")
                        prepared = None  # prepare again from the raw messages
                        if self.stop_event.wait(1.0):
                            return self.processed
                self.acknowledge(batch)
                self.processed += len(batch)
                self.last_batch_at = time.time()
                idle_since = time.monotonic()
                if max_messages is not None and self.processed >= max_messages:
                    break
        finally:
            helper.shutdown(wait=True)
            # a batch prepared but not processed stays un-acknowledged: the broker redelivers it
        return self.processed
