"""Monitoring intake: parsing and schema checks, the processed-message ledger, dead letters, batch splitting,
the device rows of the processing path and the database-free first stage of a batch (:func:`prepare_batch`).

The batch itself is applied by :func:`liftsafe.monitoring.services.process_batch`; detection rules live in
:mod:`.detection`, the alarm lifecycle in :mod:`.alarms`.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import fastjsonschema
import orjson
import psycopg
from django.db import connection, transaction
from django.utils import timezone

from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from . import codes as C
from .codes import AlarmType
from .models import Alarm, DeadLetter, MonitoringDevice, ProcessedMessage

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "message-v1.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_validate = fastjsonschema.compile(SCHEMA)
_loads, _dumps = orjson.loads, orjson.dumps


def _schema_for_type(schema: dict, type_: str) -> dict:
    """The schema specialised to messages whose ``type`` is ``type_``: the whole schema with its
    ``allOf`` of ``if type == X then …`` branches replaced by the one branch that applies.

    Equivalent for such messages (the other branches' ``if`` is false, so they constrain
    nothing), and about three times faster: fastjsonschema evaluates a failing ``if`` by
    raising and catching an exception, three per message with the whole schema.
    """
    s = copy.deepcopy(schema)
    branches = s.pop("allOf")
    (then,) = [b["then"] for b in branches if b["if"] == {"properties": {"type": {"const": type_}}}]
    assert set(then) <= {"required", "properties"} and set(then.get("properties", {})) <= {"data"}, then
    s["required"] = s["required"] + [r for r in then.get("required", []) if r not in s["required"]]
    if "data" in then.get("properties", {}):
        s["properties"]["data"] = {"allOf": [s["properties"]["data"], then["properties"]["data"]]}
    return s


#: ``{type: validator}`` for the four message types (see :func:`_schema_for_type`).
_TYPE_VALIDATORS = {t: fastjsonschema.compile(_schema_for_type(SCHEMA, t)) for t in SCHEMA["properties"]["type"]["enum"]}
TOPIC_PREFIX = "liftsafe/v1"
R = DeadLetter.Reason
#: the message types the per-device flood cap applies to (``iot_flood_*``); status and events, which carry
#: entrapments and every other alarm, are never capped (docs/monitoring.md "Bad input")
CAPPED_TYPES = frozenset({"heartbeat", "stats"})


def topic_for(device_id: str, msg_type: str, prefix: str = TOPIC_PREFIX) -> str:
    """MQTT topic of a device message: ``liftsafe/v1/<device id>/<type>`` (docs/monitoring.md; ``prefix``
    replaces ``liftsafe/v1`` for a consumer subscribed under another root, e.g. a test run's own)."""
    return f"{prefix}/{device_id}/{msg_type}"

# --------------------------------------------------------------------------- messages
@dataclass
class RawMessage:
    """One message as received: ``payload`` bytes/str (or an already-parsed dict from the HTTP API).

    ``received_at`` is the platform's receive time (aware); ``topic`` the MQTT
    topic or "" (HTTP); ``transport`` ``mqtt`` | ``http`` | ``sim``; ``prefix`` the
    topic prefix the consumer subscribed under (``<prefix>/<device>/<type>``).
    """

    payload: Any
    topic: str = ""
    received_at: dt.datetime | None = None
    transport: str = "mqtt"
    prefix: str = TOPIC_PREFIX


class _Msg:
    """A parsed, schema-valid message (``data`` is the payload's ``data`` object, ``{}`` if absent)."""

    __slots__ = ("index", "device", "id", "type", "ts", "data", "raw")

    def __init__(self, index: int, device: str, id: str, type: str, ts: dt.datetime, data: dict, raw: RawMessage):
        self.index, self.device, self.id, self.type, self.ts, self.data, self.raw = index, device, id, type, ts, data, raw


@dataclass
class BatchResult:
    """What one :func:`process_batch` call did. ``outcomes[i]`` is the fate of message ``i``:
    ``accepted`` | ``duplicate`` | ``out_of_order`` (stored, status not applied) | ``backfilled`` (historical
    intake) | ``dead:<reason>``."""

    outcomes: list[str] = field(default_factory=list)
    dead: Counter = field(default_factory=Counter)
    alarms_raised: list[int] = field(default_factory=list)
    alarms_repeated: int = 0
    alarms_cleared: int = 0
    suppressed: int = 0
    rate_capped: int = 0
    #: {elevator id: {alarm type, …}} active at batch start plus those raised since; None = unknown (query)
    active: dict | None = field(default=None, repr=False)
    #: ``f(elevator_id, at) -> bool``: is a maintenance visit open (alarm suppression, :func:`.detection._suppressed`);
    #: set per batch by the caller from :data:`liftsafe.monitoring.services.maintenance_visit_open`; None = never
    visit_open: Callable[[int, dt.datetime], bool] | None = field(default=None, repr=False, compare=False)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)


class _Cfg:
    """The ``iot_*`` rules read once per batch (a batch is one instant of configuration)."""

    __slots__ = ("max_bytes", "future_s", "past_s", "flood_window", "flood_max", "entrapment_s", "zone_s", "door_run_s",
                 "overspeed_ratio")

    def __init__(self):
        self.max_bytes = int(rule("iot_max_message_bytes"))
        self.future_s, self.past_s = float(rule("iot_max_future_skew_s")), float(rule("iot_max_past_age_s"))
        self.flood_window = dt.timedelta(seconds=float(rule("iot_flood_window_s")))
        self.flood_max = int(rule("iot_flood_max_messages"))
        self.entrapment_s = float(rule("iot_entrapment_s"))
        self.zone_s = float(rule("iot_stop_outside_door_zone_s"))
        self.door_run_s = float(rule("iot_door_open_running_s"))
        self.overspeed_ratio = rule("iot_overspeed_ratio")


_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def safe_text(value: Any, limit: int) -> str:
    """``value`` as text any database column can store, at most ``limit`` characters.

    Bytes are decoded as UTF-8 with undecodable bytes written ``\\xNN``; control characters (NUL included,
    except tab and newline) and lone surrogates are written ``\\xNN`` / ``\\uNNNN``; anything else
    goes through ``str``. Never raises.
    """
    try:
        if isinstance(value, (bytes, bytearray, memoryview)):
            text = bytes(value[:limit * 4]).decode("utf-8", "backslashreplace")
        elif isinstance(value, str):
            text = value[:limit * 2]
        else:
            text = str(value)[:limit * 2]
        text = _UNSAFE_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                 else f"\\u{ord(m.group()):04x}", text)
        return text[:limit]
    except Exception:  # noqa: BLE001 - a dead letter must always be storable
        return "<unprintable>"


def _payload_bytes(raw: RawMessage) -> bytes:
    """The payload's bytes (its UTF-8 JSON, lone surrogates escaped, when it came as a Python object)."""
    p = raw.payload
    if isinstance(p, (bytes, bytearray, memoryview)):
        return bytes(p)
    if isinstance(p, str):
        return p.encode("utf-8", "backslashreplace")
    try:
        return json.dumps(p, ensure_ascii=False, default=str).encode("utf-8", "backslashreplace")
    except Exception:  # noqa: BLE001 - unserialisable (NaN inside a dict is fine; a cycle is not)
        return repr(p).encode("utf-8", "backslashreplace")


def _payload_text(raw: RawMessage) -> str:
    """The first 4 KiB of the payload as safe text (:func:`safe_text`)."""
    p = raw.payload
    if isinstance(p, (bytes, bytearray, memoryview, str)):
        return safe_text(p, 4096)
    return safe_text(_payload_bytes(raw)[:16384], 4096)


def _parse(raw: RawMessage, now: dt.datetime, max_bytes: int, future_s: float, past_s: float):
    """Return ``(_Msg, None)`` or ``(None, (reason, detail, device, message_id))``.

    The one parser of both transports: MQTT payloads and each message of an HTTP batch
    (:func:`split_batch`) arrive as bytes and are parsed here by orjson (strict RFC 8259;
    NaN, Infinity and numbers beyond a double such as 1e400 are ``schema`` errors, other
    invalid JSON ``malformed_json``: :func:`_json_error`); the schema by the validator
    compiled for the message's type (:data:`_TYPE_VALIDATORS`, equivalent to the whole
    schema), the whole schema for anything else. An already-parsed object (the
    in-process simulator) is validated the same way, non-finite floats refused.
    """
    p = raw.payload
    if isinstance(p, (bytes, bytearray)) or (isinstance(p, str) and raw.transport != "http"):
        size = len(p) if not isinstance(p, str) else len(p.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            return None, (R.TOO_LARGE, f"{size} bytes > limit {max_bytes}", "", "")
        try:
            obj = _loads(p)
        except (ValueError, UnicodeError) as exc:
            return None, _json_error(p, exc)
    else:
        obj = p
        try:
            if len(json.dumps(obj, default=str, allow_nan=False)) > max_bytes:
                return None, (R.TOO_LARGE, f"message over the limit of {max_bytes} bytes", "", "")
        except (TypeError, ValueError, RecursionError) as exc:
            return None, (R.SCHEMA, str(exc)[:300], "", "")
    validate = _validate
    if type(obj) is dict:
        dev, mid, typ = obj.get("device"), obj.get("id"), obj.get("type")
        if type(typ) is str:
            validate = _TYPE_VALIDATORS.get(typ, _validate)
    else:
        dev = mid = typ = None
    dev_s = dev[:64] if isinstance(dev, str) else ""
    mid_s = mid[:64] if isinstance(mid, str) else ""
    try:
        validate(obj)
    except fastjsonschema.JsonSchemaException as exc:
        return None, (R.SCHEMA, str(exc)[:300], dev_s, mid_s)
    # dev and typ contain no "/" (schema), so this is: 4 levels, the prefix, the device, the type
    if raw.topic and raw.topic != f"{raw.prefix}/{dev}/{typ}":
        return None, (R.TOPIC_MISMATCH, f"topic {raw.topic!r} ≠ {topic_for(dev, typ, raw.prefix)!r}", dev_s, mid_s)
    try:
        ts = dt.datetime.fromisoformat(obj["ts"])
    except ValueError as exc:
        return None, (R.SCHEMA, f"ts: {exc}", dev_s, mid_s)
    skew = (ts - now).total_seconds()
    if skew > future_s:
        return None, (R.DEVICE_TIME_FUTURE, f"ts {obj['ts']} is {skew:.0f} s ahead of receive time", dev_s, mid_s)
    if -skew > past_s:
        return None, (R.DEVICE_TIME_PAST, f"ts {obj['ts']} is {-skew:.0f} s before receive time", dev_s, mid_s)
    return _Msg(0, dev, mid, typ, ts, obj.get("data") or {}, raw), None


def _json_error(p, exc: Exception) -> tuple:
    """``(reason, detail, device, message id)`` of a payload orjson refused: ``schema`` when it is JSON but
    for a non-finite number (NaN, Infinity, 1e400: no double, no JSON), else ``malformed_json`` (orjson's
    message). The device and message id are named when Python's parser can read them."""
    msg = str(exc)
    found: list[str] = []

    def constant(name: str):
        found.append(name)
        return None

    def number(text: str) -> float:
        v = float(text)
        if not math.isfinite(v):
            found.append(text[:40])
            return 0.0
        return v

    try:
        obj = json.loads(p, parse_constant=constant, parse_float=number)
    except Exception:  # noqa: BLE001 - not JSON for Python either
        return R.MALFORMED_JSON, msg[:300], "", ""
    dev = mid = ""
    if isinstance(obj, dict):
        dev = obj.get("device") if isinstance(obj.get("device"), str) else ""
        mid = obj.get("id") if isinstance(obj.get("id"), str) else ""
    if found:
        return R.SCHEMA, f"non-finite number {', '.join(found[:3])} (JSON numbers are finite doubles)"[:300], dev[:64], mid[:64]
    return R.MALFORMED_JSON, msg[:300], dev[:64], mid[:64]


def split_batch(body: bytes) -> list[bytes]:
    """The messages of an HTTP batch body ``{"messages": [m1, m2, …]}`` as the exact bytes of each message.

    Only the envelope is read here (by Python's JSON scanner, which also steps over NaN, Infinity or a
    lone surrogate inside a message); each message's bytes then go through :func:`_parse` like an MQTT
    payload, so both transports parse and validate identically and a bad message is dead-lettered alone.

    Raises:
        ValueError: the body is not UTF-8 JSON of that shape (with where it failed).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"body is not UTF-8: {exc}") from None
    dec = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    n = len(text)

    def skip(i: int) -> int:
        return ws.match(text, i).end()

    def expect(i: int, ch: str) -> int:
        i = skip(i)
        if i >= n or text[i] != ch:
            raise ValueError(f"expected {ch!r} at character {i}")
        return i + 1

    out: list[bytes] | None = None
    try:
        i = expect(0, "{")
        if skip(i) < n and text[skip(i)] == "}":
            i = skip(i) + 1
        else:
            while True:
                key, i = dec.raw_decode(text, skip(i))
                if not isinstance(key, str):
                    raise ValueError(f"expected a key at character {i}")
                i = expect(i, ":")
                if key == "messages":
                    i = expect(i, "[")
                    out = []
                    if skip(i) < n and text[skip(i)] == "]":
                        i = skip(i) + 1
                    else:
                        while True:
                            start = skip(i)
                            _val, i = dec.raw_decode(text, start)
                            out.append(text[start:i].encode("utf-8", "surrogatepass"))
                            i = skip(i)
                            if i < n and text[i] == ",":
                                i += 1
                                continue
                            i = expect(i, "]")
                            break
                else:
                    _val, i = dec.raw_decode(text, skip(i))
                i = skip(i)
                if i < n and text[i] == ",":
                    i += 1
                    continue
                i = expect(i, "}")
                break
        if skip(i) != n:
            raise ValueError(f"extra data at character {skip(i)}")
    except json.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if out is None:
        raise ValueError("messages: field required")
    return out


def _ledger_insert(rows: list[tuple[str, str, dt.datetime]]) -> set[tuple[str, str]]:
    """Insert (device, message id, received) rows, ignoring ones already there; return the new pairs.

    PostgreSQL: one ``INSERT … SELECT unnest(arrays) ON CONFLICT DO NOTHING RETURNING`` with
    three bound arrays (see :func:`_pg_fetch`). Others: multi-row VALUES in chunks.
    """
    if not rows:
        return set()
    table = ProcessedMessage._meta.db_table
    if connection.vendor == "postgresql":
        return set(_pg_fetch(
            f"INSERT INTO {table} (device_key, message_id, received_at) "
            f"SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) "
            f"ON CONFLICT (device_key, message_id) DO NOTHING RETURNING device_key, message_id",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]]))
    recv = ProcessedMessage._meta.get_field("received_at")
    new: set[tuple[str, str]] = set()
    step = 300  # stays under SQLite's bound-parameter limit (3 per row)
    with connection.cursor() as cur:
        for i in range(0, len(rows), step):
            chunk = rows[i:i + step]
            params: list = []
            for d, m, r in chunk:
                params += [d, m, recv.get_db_prep_save(r, connection)]
            values = ",".join(["(%s,%s,%s)"] * len(chunk))
            cur.execute(f"INSERT INTO {table} (device_key, message_id, received_at) VALUES {values} "
                        f"ON CONFLICT (device_key, message_id) DO NOTHING RETURNING device_key, message_id", params)
            new.update((d, m) for d, m in cur.fetchall())
    return new


def _ledger_delete(pairs: list[tuple[str, str]]) -> None:
    """Remove (device, message id) pairs from the ledger (messages dead-lettered as ``flood``: not processed)."""
    by_device: dict[str, list[str]] = {}
    for d, m in pairs:
        by_device.setdefault(d, []).append(m)
    for d, ids in by_device.items():
        for i in range(0, len(ids), 500):
            ProcessedMessage.objects.filter(device_key=d, message_id__in=ids[i:i + 500]).delete()


def _pg_fetch(sql: str, params: list) -> list[tuple]:
    """PostgreSQL: run ``sql`` with server-side parameter binding (``%s`` placeholders) on the
    transaction's connection and return its rows.

    Parameters and results use the binary protocol, so a batch's columns travel as
    binary arrays: Django's default (client-side interpolation) quotes every array
    element with a regular expression in Python and PostgreSQL then parses the text
    back, which cost more per message than the whole detection. (Measured per batch
    of 1,000 device rows: binary arrays ~5 ms Python + 3 ms PostgreSQL; one JSON
    document through ``jsonb_to_recordset`` 4 + 30 ms; COPY into a temporary table 11 + 13 ms.)"""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        # binary parameters and results: arrays are neither quoted by Python nor parsed from text by PostgreSQL
        cur.execute(sql.replace("%s", "%b"), params, binary=True)
        return cur.fetchall() if cur.description else []


def _dead_letter_rows(items: list[tuple[RawMessage, str, str, str, str]]) -> list[DeadLetter]:
    """DeadLetter rows for ``(raw, reason, detail, device, message id)``, every text column made safe
    (:func:`safe_text`) and the payload identified by its size and SHA-256."""
    rows = []
    for raw, reason, detail, dev, mid in items:
        data = _payload_bytes(raw)
        rows.append(DeadLetter(reason=reason, detail=safe_text(detail, 500), received_at=raw.received_at or timezone.now(),
                               device_key=safe_text(dev, 64), message_id=safe_text(mid, 64), topic=safe_text(raw.topic, 255),
                               transport=safe_text(raw.transport, 8), payload=_payload_text(raw), payload_size=len(data),
                               payload_sha256=hashlib.sha256(data).hexdigest()))
    return rows


class _Dev:
    """A device row on the processing path: plain attributes, no model instance (cheaper to load and save).

    Same attribute names as :class:`MonitoringDevice` for the state fields, plus
    the bound elevator's ``elevator_status``, ``area_id``, ``rated_speed`` (m/s,
    Decimal or None) and ``category``. :meth:`elevator` / :meth:`model` build
    the model instances the (rare) alarm path needs.
    """

    __slots__ = ("pk", "device_id", "active", "online", "last_seen", "last_device_time", "last_message_id", "last_status",
                 "last_stats", "state", "window_start", "window_count", "timer_due", "elevator_id", "elevator_status",
                 "area_id", "rated_speed", "category", "accepted")

    def __init__(self, row: tuple):
        (self.pk, self.device_id, self.active, self.online, self.last_seen, self.last_device_time, self.last_message_id,
         self.last_status, self.last_stats, self.state, self.window_start, self.window_count, self.timer_due,
         self.elevator_id, self.elevator_status, self.area_id, self.rated_speed, self.category) = row
        self.accepted = 0
        # stored JSON that is not an object (a corrupt row) is reset: detection starts afresh, never fails
        if type(self.last_status) is not dict:
            self.last_status = {}
        if type(self.last_stats) is not dict:
            self.last_stats = {}
        if type(self.state) is not dict:
            self.state = {}

    def reset(self) -> None:
        """Forget the derived state (timers, door analytics, last status and statistics) after it proved
        unusable: the next messages rebuild it."""
        log.warning("device %s: stored state unusable, reset", self.device_id)
        self.state, self.last_status, self.last_stats = {}, {}, {}

    def elevator(self) -> Elevator:
        """An Elevator instance with the fields the alarm path reads (pk, area, category, status, speed)."""
        return Elevator(id=self.elevator_id, area_id=self.area_id, category=self.category, status=self.elevator_status,
                        rated_speed_mps=self.rated_speed)

    def model(self) -> MonitoringDevice:
        return MonitoringDevice(id=self.pk, device_id=self.device_id, elevator_id=self.elevator_id)


_DEV_FIELDS = ("pk", "device_id", "active", "online", "last_seen", "last_device_time", "last_message_id", "last_status",
               "last_stats", "state", "window_start", "window_count", "timer_due", "elevator_id", "elevator__status",
               "elevator__area_id", "elevator__rated_speed_mps", "elevator__category")


def _load_devices(*, device_ids=None, pks=None, lock: bool = True) -> dict[str, _Dev]:
    """The devices (by device id, or by ``pks``) with their elevator fields, row-locked when ``lock``
    (PostgreSQL ``FOR NO KEY UPDATE OF`` the device: excludes other workers, ``detect_offline``'s
    conditional update and ``bind_device``; lets alarm rows referencing the device be inserted).

    Locks are taken in primary-key order, so two workers never deadlock on devices.
    PostgreSQL: one raw statement (JSON decoded by orjson); others: the ORM.
    """
    if connection.vendor == "postgresql":
        t, e = MonitoringDevice._meta.db_table, Elevator._meta.db_table
        where, param = ("d.device_id = ANY(%s::text[])", list(device_ids)) if device_ids is not None else ("d.id = ANY(%s::bigint[])", list(pks))
        rows = _pg_fetch(
            f"SELECT d.id, d.device_id, d.active, d.online, d.last_seen, d.last_device_time, d.last_message_id, "
            f"d.last_status::text, d.last_stats::text, d.state::text, d.window_start, d.window_count, d.timer_due, "
            f"d.elevator_id, e.status, e.area_id, e.rated_speed_mps, e.category "
            # LATERAL … OFFSET 0: one primary-key probe per device; a plain join lets the planner hash
            # the whole elevator table for a batch of 1000 devices (4× the cost)
            f"FROM {t} d CROSS JOIN LATERAL (SELECT e.status, e.area_id, e.rated_speed_mps, e.category FROM {e} e "
            f"WHERE e.id = d.elevator_id OFFSET 0) e WHERE {where} ORDER BY d.id"
            + (" FOR NO KEY UPDATE OF d" if lock else ""), [param])  # the row lock a non-key UPDATE takes
        out = {}
        for r in rows:
            r = list(r)
            r[7], r[8], r[9] = _json_column(r[7]), _json_column(r[8]), _json_column(r[9])
            d = _Dev(tuple(r))
            out[d.device_id] = d
        return out
    qs = MonitoringDevice.objects.filter(device_id__in=device_ids) if device_ids is not None else MonitoringDevice.objects.filter(pk__in=pks)
    qs = qs.order_by("pk")
    if lock and connection.features.has_select_for_update_of:
        qs = qs.select_for_update(of=("self",))
    elif lock and connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return {r[1]: _Dev(r) for r in qs.values_list(*_DEV_FIELDS)}


def _json_column(text: str | None):
    """A device JSON column's value; ``{}`` when orjson refuses it (jsonb holds numbers such as 1e400
    that no double can: such a state is reset, never a reason for the device's messages to fail)."""
    if text is None:
        return {}
    try:
        return _loads(text)
    except ValueError:
        return {}


def _save_devices(devices: list[_Dev]) -> None:
    """Write the per-batch device state (no history rows: operational state).

    PostgreSQL: one ``UPDATE … FROM unnest(arrays)`` for the whole batch (12 bound binary arrays);
    others: one executemany.
    """
    if not devices:
        return
    if connection.vendor == "postgresql":
        return _save_devices_pg(devices)
    meta = MonitoringDevice._meta
    fields = [meta.get_field(n) for n in _STATE_FIELDS]
    sets = ", ".join(f"{f.column} = %s" for f in fields)
    sql = f"UPDATE {meta.db_table} SET {sets}, messages_accepted = messages_accepted + %s WHERE id = %s"
    params = [[f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields] + [d.accepted, d.pk] for d in devices]
    with connection.cursor() as cur:
        cur.executemany(sql, params)


_STATE_FIELDS = ["online", "last_seen", "last_device_time", "last_message_id", "last_status", "last_stats", "state",
                 "window_start", "window_count", "timer_due"]


def _save_devices_pg(devices: list[_Dev]) -> None:
    t = MonitoringDevice._meta.db_table
    dumps = _dumps
    cols = list(zip(*[(d.pk, d.online, d.last_seen, d.last_device_time, d.last_message_id, dumps(d.last_status).decode(),
                       dumps(d.last_stats).decode(), dumps(d.state).decode(), d.window_start, d.window_count, d.timer_due, d.accepted)
                      for d in devices]))
    _pg_fetch(
        f"UPDATE {t} AS d SET online=v.online, last_seen=v.last_seen, last_device_time=v.last_device_time, "
        f"last_message_id=v.last_message_id, last_status=v.last_status::jsonb, last_stats=v.last_stats::jsonb, "
        f"state=v.state::jsonb, window_start=v.window_start, window_count=v.window_count, timer_due=v.timer_due, "
        f"messages_accepted=d.messages_accepted + v.n "
        f"FROM unnest(%s::bigint[], %s::boolean[], %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], "
        f"%s::text[], %s::timestamptz[], %s::integer[], %s::timestamptz[], %s::bigint[]) "
        f"AS v(id, online, last_seen, last_device_time, last_message_id, last_status, last_stats, state, window_start, "
        f"window_count, timer_due, n) WHERE d.id = v.id", [list(c) for c in cols])


def _clear_offline(device_pks: list[int], now: dt.datetime) -> int:
    """Clear the active offline alarms of these devices (they just spoke); returns how many."""
    qs = Alarm.objects.filter(type=AlarmType.OFFLINE, cleared_at__isnull=True)
    if connection.vendor == "postgresql":  # one bound array, not one parameter per device
        ids = [pk for (pk,) in _pg_fetch(f"SELECT id FROM {Alarm._meta.db_table} WHERE device_id = ANY(%s::bigint[]) "
                                         f"AND type = %s AND cleared_at IS NULL", [device_pks, str(AlarmType.OFFLINE)])]
        if not ids:
            return 0
        qs = qs.filter(pk__in=ids)
    else:
        qs = qs.filter(device_id__in=device_pks)
    return qs.update(cleared_at=now, cleared_reason=C.alarm_text("cleared_message"))


def _active_alarms(elevator_ids) -> dict[int, set]:
    """``{elevator id: {type, …}}`` of the active alarms of these elevators."""
    out: dict[int, set] = {}
    if not elevator_ids:
        return out
    if connection.vendor == "postgresql":
        rows = _pg_fetch(f"SELECT elevator_id, type FROM {Alarm._meta.db_table} WHERE elevator_id = ANY(%s::bigint[]) "
                         f"AND cleared_at IS NULL", [list(elevator_ids)])
    else:
        rows = Alarm.objects.filter(elevator_id__in=elevator_ids, cleared_at__isnull=True).values_list("elevator_id", "type")
    for eid, typ in rows:
        out.setdefault(eid, set()).add(typ)
    return out


class PreparedBatch:
    """The database-free first stage of :func:`process_batch` for ``raws``: JSON, schema, topic,
    size and device-time checks and in-batch duplicates (:func:`prepare_batch`).

    ``parsed``: the valid messages, first occurrence of each (device, id); ``dead``:
    ``(index, raw, reason, detail, device, message id)``; ``duplicates``: indexes
    of in-batch repeats; ``now``: the batch's clock reading (aware).
    """

    __slots__ = ("raws", "now", "parsed", "dead", "duplicates")

    def __init__(self, raws: list[RawMessage], now: dt.datetime, parsed: list, dead: list, duplicates: list):
        self.raws, self.now, self.parsed, self.dead, self.duplicates = raws, now, parsed, dead, duplicates


#: how far back a backfill may reach (device time before receive time), s: ten years, the service life of an
#: acquisition device's data (liftsafe design); the live path's limit is ``iot_max_past_age_s``
BACKFILL_MAX_AGE_S = 10 * 365 * 86400


def prepare_batch(raws: Iterable[RawMessage], *, now: dt.datetime | None = None, backfill: bool = False) -> PreparedBatch:
    """Parse and check a batch without touching the database (pure CPU: a worker runs it for
    the next batch in a second thread while the current one waits on PostgreSQL).

    Each message's ``received_at`` defaults to ``now`` (aware, default the clock).
    Never raises on bad input: a message that breaks the parser is a ``schema`` dead letter.
    """
    raws = list(raws)
    now = now or timezone.now()
    cfg = _Cfg()
    max_bytes, future_s, past_s = cfg.max_bytes, cfg.future_s, cfg.past_s
    if backfill:
        past_s = BACKFILL_MAX_AGE_S
    dead: list[tuple[int, RawMessage, str, str, str, str]] = []
    parsed: list[_Msg] = []
    duplicates: list[int] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(raws):
        if raw.received_at is None:
            raw.received_at = now
        try:
            msg, err = _parse(raw, raw.received_at, max_bytes, future_s, past_s)
        except Exception as exc:  # noqa: BLE001 - never crash a worker on one message
            msg, err = None, (R.SCHEMA, f"unexpected: {exc!r}"[:300], "", "")
        if err:
            dead.append((i, raw, *err))
            continue
        msg.index = i
        key = (msg.device, msg.id)
        if key in seen:
            duplicates.append(i)
            continue
        seen.add(key)
        parsed.append(msg)
    return PreparedBatch(raws, now, parsed, dead, duplicates)


def dead_letter(raw: RawMessage, reason: str, detail: str, *, device: str = "", message_id: str = "") -> DeadLetter:
    """Store one dead letter in its own transaction. Never fails on the content (:func:`safe_text`); the
    device and message id are taken from the payload when it is a JSON object and not given."""
    if not device and not message_id:
        try:
            obj = raw.payload if isinstance(raw.payload, dict) else _loads(raw.payload)
            if isinstance(obj, dict):
                device, message_id = str(obj.get("device", ""))[:64], str(obj.get("id", ""))[:64]
        except Exception:  # noqa: BLE001 - any payload
            pass
    if raw.received_at is None:
        raw.received_at = timezone.now()
    with transaction.atomic():
        (row,) = DeadLetter.objects.bulk_create(_dead_letter_rows([(raw, reason, detail, device, message_id)]))
    return row



def purge_ledger(now: dt.datetime | None = None) -> int:
    """Delete processed-message ids older than ``iot_ledger_retention_days``."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=float(rule("iot_ledger_retention_days")))
    return ProcessedMessage.objects.filter(received_at__lt=cutoff).delete()[0]
