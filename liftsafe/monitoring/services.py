"""Monitoring writes: device binding, message processing, alarm lifecycle, correlation, offline detection.

The one entry point for device traffic is :func:`process_batch` (MQTT consumer,
HTTP batch endpoint and the in-process simulator all call it). It is
idempotent by (device id, message id) through the :class:`ProcessedMessage`
ledger, written in the same transaction as the effects, so a transport that
acknowledges only after it returns (after the commit) loses nothing and a
redelivery has no second effect.

Detection rules and thresholds: FACTS §4.1 (codes, firmware timers) and the
``iot_*`` rules of :mod:`liftsafe.rules`.
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
from typing import Any, Iterable

import fastjsonschema
import orjson
import psycopg
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core import flows
from liftsafe.core import permissions
from liftsafe.core.history import save_with_history
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from . import codes as C
from .codes import AlarmType
from .models import Alarm, DeadLetter, Incident, MonitoringDevice, ProcessedMessage

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


# --------------------------------------------------------------------------- maintenance link
def maintenance_visit_open(elevator_id: int, at: dt.datetime) -> bool:
    """True while a maintenance visit is open on the elevator at ``at`` (alarms are then suppressed like in
    inspection mode): the flow ``monitoring.maintenance_visit_open`` (declared in apps.py, not required;
    the maintenance app registers the handler). No handler → False."""
    if not flows.registry.handlers("monitoring.maintenance_visit_open"):
        return False
    return bool(flows.call("monitoring.maintenance_visit_open", elevator_id=elevator_id, at=at))


# --------------------------------------------------------------------------- binding
def bind_device(elevator: Elevator, device_id: str, *, vendor: str = "") -> MonitoringDevice:
    """Bind a new monitoring device ``device_id`` to ``elevator`` (or re-bind an existing one).

    Raises:
        ValidationError: ``{"elevator": ...}`` if the elevator is scrapped;
            ``{"device_id": ...}`` if the id is empty or not ``[A-Za-z0-9_.:-]{1,64}``.
    """
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", device_id or ""):
        raise ValidationError({"device_id": "device id must be 1-64 characters of A-Z a-z 0-9 _ . : -"})
    if elevator.status == Elevator.Status.SCRAPPED:
        raise ValidationError({"elevator": "a scrapped elevator cannot have a monitoring device bound to it"})
    with transaction.atomic():
        dev, created = MonitoringDevice.objects.select_for_update().get_or_create(
            device_id=device_id, defaults={"elevator": elevator, "vendor": vendor})
        if not created and (dev.elevator_id != elevator.pk or not dev.active):
            dev.elevator = elevator
            dev.active = True
            dev.state = {}
            dev.save()
    return dev


def unbind_device(device: MonitoringDevice) -> None:
    """Deactivate a device: its later messages are dead-lettered as unknown."""
    MonitoringDevice.objects.filter(pk=device.pk).update(active=False, online=False)


# --------------------------------------------------------------------------- who may do what (docs/monitoring.md "Roles")
# declared once in liftsafe.core.permissions.ACTIONS: "device.bind" (the elevator's current maintenance unit — the
# integrator that installs the device and runs the enterprise application platform, FACTS §4.1 — and administrators),
# "device.submit" (the same, by API token, for its own elevators), "alarm.handle" (96333 operators of the area, the
# elevator's maintenance unit, administrators; everyone else reads alarms only)


def device_bind(user, elevator: Elevator, device_id: str, *, vendor: str = "") -> MonitoringDevice:
    """Bind ``device_id`` to ``elevator`` on behalf of ``user`` (permission action ``device.bind``).

    A device id active on another elevator moves only if ``user`` may bind there too.

    Raises:
        PermissionDenied: ``user`` is not the elevator's maintenance unit or an administrator.
        ValidationError: ``{"device_id": ...}`` bad id or already bound to an elevator the user does not manage;
            ``{"elevator": ...}`` scrapped elevator (:func:`bind_device`).
    """
    if not permissions.allowed(user, "device.bind", elevator):  # on an elevator in scope (current contract)
        raise PermissionDenied(_("Only the elevator's maintenance unit or an administrator may bind monitoring devices."))
    current = MonitoringDevice.objects.filter(device_id=device_id or "", active=True).exclude(elevator_id=elevator.pk).first()
    if current is not None and not permissions.in_scope(user, current):
        raise ValidationError({"device_id": _("this device id is bound to another elevator; it must be unbound there first")})
    dev = bind_device(elevator, device_id, vendor=vendor)
    log.info("device %s bound to elevator %s by %s", dev.device_id, elevator.pk, getattr(user, "username", user))
    return dev


def device_unbind(user, device: MonitoringDevice) -> MonitoringDevice:
    """Unbind (deactivate) ``device`` on behalf of ``user``; its offline alarm is cleared. Idempotent.

    Raises:
        PermissionDenied: ``user`` is not the maintenance unit of the device's elevator or an administrator.
    """
    if not permissions.allowed(user, "device.bind", device.elevator):
        raise PermissionDenied(_("Only the elevator's maintenance unit or an administrator may unbind monitoring devices."))
    with transaction.atomic():
        unbind_device(device)
        Alarm.objects.filter(device=device, type=AlarmType.OFFLINE, cleared_at__isnull=True).update(
            cleared_at=timezone.now(), cleared_reason=C.alarm_text("cleared_unbound"))
    device.refresh_from_db()
    return device


def submit_messages(user, messages: list, *, now: dt.datetime | None = None, backfill: bool = False) -> "BatchResult":
    """HTTP batch intake on behalf of ``user`` (permission action ``device.submit``; ``device.backfill`` for history): :func:`process_resilient` for the
    messages of devices bound to the user's elevators; any other named device's messages are dead-lettered
    ``unknown_device`` *without* a ledger entry, so a caller can never claim another device's message ids.

    ``messages``: each message's JSON bytes (:func:`split_batch`: parsed by the same function as an MQTT
    payload) or an already-parsed object. ``backfill``: historical intake (:func:`process_batch`),
    only for the roles of action ``device.backfill``.

    Raises:
        PermissionDenied: ``user`` may not submit device messages, or not backfill (nothing is stored).
    """
    from liftsafe.registry.selectors import scope_elevators

    scope = scope_of(user)
    if backfill:
        permissions.require(user, "device.backfill")
    else:
        permissions.require(user, "device.submit")
    now = now or timezone.now()
    peeked = [_peek(m) for m in messages]
    named = {dev for dev, _mid in peeked if dev is not None}
    allowed = set(scope_elevators(scope, MonitoringDevice.objects.filter(device_id__in=named, active=True), prefix="elevator__")
                  .values_list("device_id", flat=True))
    inside = [i for i, (dev, _mid) in enumerate(peeked) if dev is None or dev in allowed]
    res = process_resilient([RawMessage(messages[i], transport="http", received_at=now) for i in inside], now=now,
                            allowed_devices=allowed, backfill=backfill)
    outcomes = ["dead:" + str(R.UNKNOWN_DEVICE)] * len(messages)
    for j, i in enumerate(inside):
        outcomes[i] = res.outcomes[j]
    kept = set(inside)
    outside = [i for i in range(len(messages)) if i not in kept]
    # judged by the parser first (a message naming an invalid device id is a schema error, as over MQTT);
    # only a valid message of a device that is not the caller's is unknown_device, without a ledger entry
    checked = prepare_batch([RawMessage(messages[i], transport="http", received_at=now) for i in outside], now=now,
                            backfill=backfill)
    invalid = {outside[j]: (reason, detail, dev, mid) for j, _raw, reason, detail, dev, mid in checked.dead}
    foreign = []
    for i in outside:
        raw = RawMessage(messages[i], transport="http", received_at=now)
        if i in invalid:
            foreign.append((raw, *invalid[i]))
            outcomes[i] = f"dead:{invalid[i][0]}"
            res.dead[str(invalid[i][0])] += 1
        else:
            foreign.append((raw, R.UNKNOWN_DEVICE, f"no active device {peeked[i][0][:64]!r} of yours", peeked[i][0], peeked[i][1]))
            res.dead[str(R.UNKNOWN_DEVICE)] += 1
    if foreign:
        DeadLetter.objects.bulk_create(_dead_letter_rows(foreign))
    res.outcomes = outcomes
    return res


def _peek(m) -> tuple[str | None, str]:
    """``(device id, message id)`` named by one HTTP message (JSON bytes or an object); device None when the
    message names none (it is then judged by the parser)."""
    obj = m
    if isinstance(m, (bytes, bytearray, str)):
        try:
            obj = _loads(m)
        except ValueError:
            return None, ""
    if isinstance(obj, dict) and isinstance(obj.get("device"), str):
        mid = obj.get("id")
        return obj["device"], mid if isinstance(mid, str) else ""
    return None, ""


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


def process_batch(raws: Iterable[RawMessage] = (), *, now: dt.datetime | None = None,
                  allowed_devices: set[str] | None = None, prepared: PreparedBatch | None = None,
                  backfill: bool = False) -> BatchResult:
    """Validate, de-duplicate and apply a batch of device messages in one transaction.

    Every message ends as exactly one outcome (see :class:`BatchResult`); rejected
    ones are stored as :class:`DeadLetter` rows with the reason. Nothing raised by
    bad input escapes: a worker never crashes on a message. Returns after the
    commit, so the caller may then acknowledge the whole batch.

    ``now`` (aware) defaults to the clock; each message's ``received_at``
    defaults to ``now``. ``allowed_devices`` (HTTP API): devices outside it
    are treated as unknown (the caller may not report for them).

    Round trips per batch (PostgreSQL): ledger insert, device select (locked),
    active alarms, device update — one statement each whatever the batch size —
    plus the dead letters and the statements of alarms raised or cleared.

    ``prepared``: the batch's :func:`prepare_batch` result, if the caller ran that stage
    already (``raws`` and ``now`` are then taken from it). Use it once: processing
    consumes it (after a failed attempt, pass ``raws`` again).

    ``backfill`` (issue 16, historical intake): device times up to :data:`BACKFILL_MAX_AGE_S` back are
    accepted, with the same schema, bounds, size and future-time checks, ledger and device checks; such a
    message never touches the live state (online, last seen, status, timers, flood window) and raises no
    live alarm or case: an alarm event is recorded as a historical alarm, cleared at its own device time
    (:func:`_record_history`). Outcome ``backfilled``.
    """
    p = prepared if prepared is not None else prepare_batch(raws, now=now, backfill=backfill)
    raws, now, parsed = p.raws, p.now, p.parsed
    dead = list(p.dead)
    res = BatchResult(outcomes=[""] * len(raws))
    cfg = _Cfg()
    outcomes = res.outcomes
    for i in p.duplicates:
        outcomes[i] = "duplicate"

    with transaction.atomic():
        new = _ledger_insert([(m.device, m.id, m.raw.received_at) for m in parsed])
        fresh = []
        for m in parsed:
            if (m.device, m.id) in new:
                fresh.append(m)
            else:
                outcomes[m.index] = "duplicate"
        devices = _load_devices(device_ids={m.device for m in fresh}) if fresh else {}
        res.active = _active_alarms({d.elevator_id for d in devices.values()})
        by_device: dict[str, list[_Msg]] = {}
        scrapped = Elevator.Status.SCRAPPED
        for m in fresh:
            d = devices.get(m.device)
            if d is None or not d.active or (allowed_devices is not None and m.device not in allowed_devices):
                dead.append((m.index, m.raw, R.UNKNOWN_DEVICE, f"no active device {m.device!r}", m.device, m.id))
            elif d.elevator_status == scrapped:
                dead.append((m.index, m.raw, R.SCRAPPED_ELEVATOR, f"device {m.device} is bound to scrapped elevator {d.elevator_id}", m.device, m.id))
            else:
                lst = by_device.get(m.device)
                if lst is None:
                    by_device[m.device] = [m]
                else:
                    lst.append(m)
        if backfill:
            for dev_id, msgs in by_device.items():
                for m in msgs:
                    outcomes[m.index] = _record_history(devices[dev_id], m)
            by_device = {}
        flood_window, flood_max = cfg.flood_window, cfg.flood_max
        capped: list[tuple[str, str]] = []
        touched: list[_Dev] = []
        back_online: list[int] = []
        for dev_id, msgs in by_device.items():
            d = devices[dev_id]
            if len(msgs) > 1:
                msgs.sort(key=lambda m: (m.raw.received_at, m.ts))
            ok: list[_Msg] = []
            for m in msgs:
                if m.type not in CAPPED_TYPES:  # status and events (alarm codes, entrapments) are never capped
                    ok.append(m)
                    continue
                # the window runs on device time and only forward: a backlog drained after an outage arrives
                # all at once but spans its own (device) minutes; a device cannot reset it by sending older times
                t = m.ts
                if d.window_start is None or t - d.window_start >= flood_window:
                    d.window_start, d.window_count = t, 0
                d.window_count += 1
                if d.window_count > flood_max:
                    dead.append((m.index, m.raw, R.FLOOD, f"more than {flood_max} {'/'.join(sorted(CAPPED_TYPES))} messages "
                                 f"in {flood_window.total_seconds():.0f} s of device time", m.device, m.id))
                    capped.append((m.device, m.id))
                else:
                    ok.append(m)
            if ok:
                if not d.online:
                    back_online.append(d.pk)
                d.online = True
                if len(ok) > 1:
                    d.last_seen = max(m.raw.received_at for m in ok)
                    ok.sort(key=lambda m: m.ts)
                else:
                    d.last_seen = ok[0].raw.received_at
                for m in ok:
                    outcomes[m.index] = _apply_safe(d, m, res, now, cfg)
                    d.last_message_id = m.id
                d.accepted = len(ok)
            touched.append(d)
        _save_devices(touched)
        if capped:  # a capped message was not processed: its resend must be, so it leaves the ledger
            _ledger_delete(capped)
        if back_online:
            res.alarms_cleared += _clear_offline(back_online, now)
        for i, _raw, reason, *_rest in dead:
            outcomes[i] = f"dead:{str(reason)}"
            res.dead[str(reason)] += 1
        if dead:
            DeadLetter.objects.bulk_create(_dead_letter_rows([tuple(x[1:]) for x in dead]))
    return res


def _record_history(d: _Dev, m: _Msg) -> str:
    """Backfill one message: an event whose code raises an alarm becomes a historical alarm (raised and
    cleared at the message's device time, no case, no incident, not counted by the alarm cap); anything
    else is only recorded in the ledger. Returns ``backfilled``."""
    if m.type == "event":
        type_ = C.CODE_ALARM.get(m.data["code"])
        if type_ and not (type_ == AlarmType.ENTRAPMENT and not C.can_trap_passengers(d.category)):
            Alarm.objects.create(elevator_id=d.elevator_id, device_id=d.pk, type=type_, code=m.data["code"][:32],
                                 detail=C.EVENT_CODES.get(m.data["code"], "")[:255], device_time=m.ts, raised_at=m.ts,
                                 last_occurred_at=m.ts, cleared_at=m.ts, cleared_reason=C.alarm_text("cleared_history"))
    return "backfilled"


#: attempts per message once a batch failed and is split (:func:`process_resilient`)
MESSAGE_ATTEMPTS = 2


def database_available() -> bool:
    """Whether the database answers now (``SELECT 1``): tells a failure caused by a message (the database
    answers) from an outage (it does not), so that only the first kind dead-letters a message."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        return True
    except Exception:  # noqa: BLE001 - any failure means: not now
        return False


def process_resilient(raws: Iterable[RawMessage] = (), *, now: dt.datetime | None = None,
                      allowed_devices: set[str] | None = None, prepared: PreparedBatch | None = None,
                      backfill: bool = False) -> BatchResult:
    """:func:`process_batch`, but one message can never fail the others (the MQTT consumer and the HTTP
    endpoint call this).

    If the batch fails while the database answers (:func:`database_available`), it is split: each
    message is processed alone, up to :data:`MESSAGE_ATTEMPTS` times; a message that still fails is
    dead-lettered ``processing_error`` with the exception as its reason (:func:`dead_letter`) and counts as
    handled, so the caller acknowledges it and goes on. Every other message has its normal outcome; one
    already committed alone is a ``duplicate`` if the batch is ever retried (ledger).

    Raises:
        Exception: whatever :func:`process_batch` raised, when the database does not answer (an outage:
            the caller keeps the messages unacknowledged and retries), or storing the dead letter failed.
    """
    if prepared is not None:
        raws, now = prepared.raws, prepared.now
    raws = list(raws)
    now = now or timezone.now()
    try:
        return process_batch(raws, now=now, allowed_devices=allowed_devices, prepared=prepared, backfill=backfill)
    except Exception:
        if not database_available():
            raise
        log.exception("batch of %d failed with the database up: processing its messages one by one", len(raws))
    total = BatchResult(outcomes=[""] * len(raws))
    for i, raw in enumerate(raws):
        error: Exception | None = None
        for _attempt in range(MESSAGE_ATTEMPTS):
            try:
                r = process_batch([raw], now=now, allowed_devices=allowed_devices, backfill=backfill)
                break
            except Exception as exc:  # noqa: BLE001 - isolated below
                error = exc
        else:
            if not database_available():
                raise error
            log.error("message %d of the batch failed %d times; dead-lettered: %r", i, MESSAGE_ATTEMPTS, error)
            dead_letter(raw, R.PROCESSING_ERROR, f"{type(error).__name__}: {error}")
            total.outcomes[i] = f"dead:{R.PROCESSING_ERROR}"
            total.dead[str(R.PROCESSING_ERROR)] += 1
            continue
        total.outcomes[i] = r.outcomes[0]
        total.dead.update(r.dead)
        total.alarms_raised += r.alarms_raised
        total.alarms_repeated += r.alarms_repeated
        total.alarms_cleared += r.alarms_cleared
        total.suppressed += r.suppressed
        total.rate_capped += r.rate_capped
    return total


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


# --------------------------------------------------------------------------- detection
def _snapshot(status: dict) -> dict:
    """The status snapshot in the FACTS §3.5 upload names (attached to alarms and cases)."""
    return {
        "service_mode": status.get("mode"),
        "car_status": status.get("running"),
        "car_direction": status.get("dir"),
        "car_position": status.get("floor"),
        "door_zone": status.get("door_zone"),
        "door_status": status.get("door"),
        "passenger_status": status.get("passenger"),
        "power_status": status.get("power"),
        "up_limit": status.get("up_limit"),
        "down_limit": status.get("down_limit"),
        "speed_mps": status.get("speed"),
    }


def _suppressed(d: _Dev, at: dt.datetime) -> bool:
    return d.last_status.get("mode") in C.SUPPRESSING_MODES or maintenance_visit_open(d.elevator_id, at)


def _raise(d: _Dev, type_: str, res: BatchResult, now: dt.datetime, *, code: str, detail: str, ts: dt.datetime) -> None:
    if (type_ not in C.NEVER_SUPPRESSED and _suppressed(d, ts)) or (
            type_ == AlarmType.ENTRAPMENT and not C.can_trap_passengers(d.category)):
        res.suppressed += 1
        return
    alarm, created = raise_alarm(d.elevator(), type_, device=d.model(), code=code, detail=detail,
                                 snapshot=_snapshot(d.last_status), device_time=ts, now=now)
    if alarm is not None and res.active is not None:
        res.active.setdefault(d.elevator_id, set()).add(str(type_))
    if alarm is None:
        res.rate_capped += 1
    elif created:
        res.alarms_raised.append(alarm.pk)
    else:
        res.alarms_repeated += 1


def _clear(d: _Dev, types: Iterable[str], res: BatchResult, now: dt.datetime, reason: str) -> None:
    if res.active is not None:  # only touch the database when such an alarm is active (the common case is none)
        act = res.active.get(d.elevator_id)
        if not act:
            return
        types = [t for t in types if str(t) in act]
        if not types:
            return
        act.difference_update(str(t) for t in types)
    res.alarms_cleared += clear_alarms(d.elevator_id, types, now=now, reason=reason)


def _timer(d: _Dev, name: str, cond: bool, ts: dt.datetime, limit_s: float) -> bool:
    """Track how long ``cond`` has held (device time); True once it held ``limit_s`` seconds."""
    key = f"{name}_since"
    if not cond:
        d.state.pop(key, None)
        return False
    since = d.state.get(key)
    if since is not None:
        try:
            return (ts - dt.datetime.fromisoformat(since)).total_seconds() >= limit_s
        except (TypeError, ValueError, OverflowError):  # a corrupt stored timer restarts
            pass
    d.state[key] = ts.isoformat()
    return limit_s <= 0


def _door_vibration(d: _Dev, m: _Msg, res: BatchResult, now: dt.datetime) -> None:
    """Feed a door sensor's vibration samples to its streaming detector (:mod:`.door_stream`, state in
    ``d.state["door"]``); a sustained abnormal run raises ``abnormal_vibration``, the end of it clears it."""
    from . import door_stream

    values, hz = door_stream.samples_of(m.data)
    state = d.state.setdefault("door", {})
    for ev in door_stream.observe(state, values):
        if ev.kind == "raise":
            ts = m.ts - dt.timedelta(seconds=(len(values) - 1 - ev.index) / hz) if hz else m.ts
            detail = C.alarm_text("vibration_hz" if hz else "vibration", window=rule("door_vibration_window"),
                                  limit=f"{ev.limit:.2f}", samples=ev.samples, hz=f"{hz:g}" if hz else "",
                                  peak=f"{ev.peak_db:.1f}")
            _raise(d, AlarmType.ABNORMAL_VIBRATION, res, now, code="abnormal_vibration", ts=ts, detail=detail)
        else:
            _clear(d, [AlarmType.ABNORMAL_VIBRATION], res, now, C.alarm_text("cleared_vibration"))


_POWER_LOSS, _ENTRAPMENT, _STOP_OUTSIDE = [AlarmType.POWER_LOSS], [AlarmType.ENTRAPMENT], [AlarmType.STOP_OUTSIDE_ZONE]
_DOOR_OPEN_RUNNING, _OVERSPEED = [AlarmType.DOOR_OPEN_RUNNING], [AlarmType.OVERSPEED]
_LIMITS = (("up_limit", AlarmType.OVER_TRAVEL_TOP, [AlarmType.OVER_TRAVEL_TOP]),
           ("down_limit", AlarmType.OVER_TRAVEL_BOTTOM, [AlarmType.OVER_TRAVEL_BOTTOM]))


def _apply_safe(d: _Dev, m: _Msg, res: BatchResult, now: dt.datetime, cfg: _Cfg | None = None) -> str:
    """:func:`_apply`; if it fails on the device's stored state (not on the database), the state is reset
    (:meth:`_Dev.reset`) and the message applied again, so a corrupt row cannot block its device's alarms."""
    try:
        return _apply(d, m, res, now, cfg)
    except DatabaseError:
        raise
    except Exception:  # noqa: BLE001 - corrupt state: reset and apply once more
        log.exception("device %s: applying message %r failed", d.device_id, m.id)
        d.reset()
        return _apply(d, m, res, now, cfg)


def _apply(d: _Dev, m: _Msg, res: BatchResult, now: dt.datetime, cfg: _Cfg | None = None) -> str:
    """Apply one accepted message to the device state; raise/clear alarms. Returns the outcome.

    Heartbeats only refresh ``last_seen`` (done by the caller); stats merge into
    ``last_stats``; events and statuses run the detection rules of their type.
    """
    typ = m.type
    if typ == "heartbeat":
        return "accepted"
    if typ == "stats":
        if "vibration_db" in m.data or "series" in m.data:  # door sensor: streaming analytics (door_stream)
            _door_vibration(d, m, res, now)
            m.data.pop("series", None)  # the sample block is analysed, not stored as the latest counters
        d.last_stats = {**d.last_stats, **m.data, "ts": m.ts.isoformat()}
        return "accepted"
    cfg = cfg or _Cfg()
    if typ == "event":
        code = m.data["code"]
        mode = C.EVENT_MODE.get(code)
        if mode is not None and (d.last_device_time is None or m.ts >= d.last_device_time):
            d.last_status = {**d.last_status, "mode": mode}
        if code == C.RESTORE_CODE:
            _clear(d, C.CLEARED_BY_RESTORE, res, now, C.alarm_text("cleared_restore"))
        type_ = C.CODE_ALARM.get(code)
        if type_:
            detail = C.EVENT_CODES.get(code, "")
            if type_ == AlarmType.ENTRAPMENT:
                zone = d.last_status.get("door_zone")
                detail += " · " + C.alarm_text("at_landing" if zone == C.IN_DOOR_ZONE else "away_from_landing"
                                               if zone == C.OUTSIDE_DOOR_ZONE else "position_unknown")
            _raise(d, type_, res, now, code=code, detail=detail[:255], ts=m.ts)
        return "accepted"
    # status
    ts = m.ts
    if d.last_device_time is not None and ts < d.last_device_time:
        return "out_of_order"
    prev = d.last_status
    s = m.data
    d.last_status, d.last_device_time = dict(s), ts
    running_v = s["running"]
    stopped, running = running_v == 0, running_v == 1
    door_closed = s["door"] == C.DOOR_CLOSED
    in_zone = s["door_zone"] == C.IN_DOOR_ZONE
    state = d.state
    # power loss (FACTS §4.1 停电)
    if s["power"] == C.POWER_OUTAGE:
        _raise(d, AlarmType.POWER_LOSS, res, now, code="status.power", detail=C.alarm_text("power_outage"), ts=ts)
    else:
        _clear(d, _POWER_LOSS, res, now, C.alarm_text("cleared_power"))
    # entrapment: passenger present, doors closed, car stopped, beyond iot_entrapment_s (FACTS §4.1 平层/非平层关人)
    passenger = s["passenger"]
    trapped = passenger == C.PASSENGER_PRESENT and door_closed and stopped
    if _timer(d, "trap", trapped, ts, cfg.entrapment_s):
        where = "trapped_at_landing" if in_zone else "trapped_away"  # 平层关人 / 非平层关人 (codes.ALARM_TEXTS)
        _raise(d, AlarmType.ENTRAPMENT, res, now, code="status.entrapment", detail=C.alarm_text(where), ts=ts)
    elif passenger == C.PASSENGER_ABSENT or (not door_closed and in_zone):
        _clear(d, _ENTRAPMENT, res, now, C.alarm_text("cleared_released"))
    # stop outside the door zone (FACTS §4.1 04 / 门区外停梯)
    if _timer(d, "zone", stopped and not in_zone, ts, cfg.zone_s):
        _raise(d, AlarmType.STOP_OUTSIDE_ZONE, res, now, code="status.stop_outside_zone", detail=C.alarm_text("stop_outside_zone"), ts=ts)
    elif in_zone:
        _clear(d, _STOP_OUTSIDE, res, now, C.alarm_text("cleared_zone"))
    # door open while running / unintended movement (car leaves a landing with the doors open)
    if running and not door_closed:
        if prev.get("running") == 0 and prev.get("door") == C.DOOR_NOT_CLOSED:
            _raise(d, AlarmType.UNINTENDED_MOVEMENT, res, now, code="status.ucm", detail=C.alarm_text("ucm"), ts=ts)
        elif _timer(d, "door_run", True, ts, cfg.door_run_s):
            _raise(d, AlarmType.DOOR_OPEN_RUNNING, res, now, code="status.door_open_running", detail=C.alarm_text("door_open_running"), ts=ts)
    else:
        state.pop("door_run_since", None)
        if door_closed:
            _clear(d, _DOOR_OPEN_RUNNING, res, now, C.alarm_text("cleared_door"))
    # over-travel (FACTS §4.1 冲顶/蹲底): final limit switches
    for key, type_, types in _LIMITS:
        v = s.get(key)
        if v == 1:
            _raise(d, type_, res, now, code=f"status.{key}", detail=C.alarm_text(key), ts=ts)
        elif v == 2:
            _clear(d, types, res, now, C.alarm_text(f"cleared_{key}"))
    # overspeed (FACTS §4.1 超速 1.2×)
    rated = d.rated_speed
    speed = s.get("speed")
    if rated and speed is not None:
        ratio = cfg.overspeed_ratio
        if speed > float(ratio) * float(rated):
            _raise(d, AlarmType.OVERSPEED, res, now, code="status.overspeed",
                   detail=C.alarm_text("overspeed", speed=speed, ratio=ratio, rated=rated), ts=ts)
        elif speed <= float(rated):
            _clear(d, _OVERSPEED, res, now, C.alarm_text("cleared_speed"))
    # timers pending → the periodic job fires them if no new status comes
    if "trap_since" in state or "zone_since" in state:
        pending = [dt.datetime.fromisoformat(state[k]) + dt.timedelta(seconds=lim)
                   for k, lim in (("trap_since", cfg.entrapment_s), ("zone_since", cfg.zone_s)) if k in state]
        d.timer_due = now + (min(pending) - ts)
    else:
        d.timer_due = None
    return "accepted"


# --------------------------------------------------------------------------- alarms
def raise_alarm(elevator: Elevator, type_: str, *, device: MonitoringDevice | None = None, code: str = "", detail: str = "",
                snapshot: dict | None = None, device_time: dt.datetime | None = None,
                now: dt.datetime | None = None) -> tuple[Alarm | None, bool]:
    """Raise an alarm, or count a repeat of the active one of the same (elevator, type).

    Atomic under concurrency: the partial unique constraint decides, the loser
    of a race becomes a repeat. A new alarm beyond the elevator's cap
    (``iot_alarm_rate_max`` per ``iot_alarm_rate_window_s``) is not created.
    New power-loss alarms are correlated into an area incident; entrapments
    open (or attach to) an emergency case. Must run inside a transaction.

    Returns ``(alarm, created)``; ``(None, False)`` when rate-capped, or for an entrapment on an
    elevator without a passenger car (dumbwaiter 3430, escalator 33xx: :func:`codes.can_trap_passengers`).
    """
    now = now or timezone.now()
    if type_ == AlarmType.ENTRAPMENT and not C.can_trap_passengers(elevator.category):
        return None, False
    active = Alarm.objects.filter(elevator_id=elevator.pk, type=type_, cleared_at__isnull=True)
    if active.update(occurrences=F("occurrences") + 1, last_occurred_at=now):
        return active.first(), False
    window = now - dt.timedelta(seconds=float(rule("iot_alarm_rate_window_s")))
    if type_ != AlarmType.ENTRAPMENT and Alarm.objects.filter(elevator_id=elevator.pk, raised_at__gte=window).count() >= int(rule("iot_alarm_rate_max")):
        return None, False
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(elevator=elevator, device=device, type=type_, code=code[:32], detail=detail[:255],
                                         snapshot=snapshot or {}, device_time=device_time, raised_at=now, last_occurred_at=now)
    except IntegrityError:
        active.update(occurrences=F("occurrences") + 1, last_occurred_at=now)
        return active.first(), False
    if type_ == AlarmType.POWER_LOSS:
        _correlate(alarm, now)
    elif type_ == AlarmType.ENTRAPMENT:
        power = Alarm.objects.filter(elevator_id=elevator.pk, type=AlarmType.POWER_LOSS, cleared_at__isnull=True,
                                     incident__isnull=False).values_list("incident_id", flat=True).first()
        if power:
            Alarm.objects.filter(pk=alarm.pk).update(incident_id=power)
            alarm.incident_id = power
        open_case_for(alarm)
    return alarm, True


def clear_alarms(elevator_id: int, types: Iterable[str], *, now: dt.datetime | None = None, reason: str = "") -> int:
    """Clear the active alarms of these types on the elevator; returns how many were cleared."""
    return Alarm.objects.filter(elevator_id=elevator_id, type__in=list(types), cleared_at__isnull=True).update(
        cleared_at=now or timezone.now(), cleared_reason=reason[:64])


def acknowledge_alarm(user, alarm: Alarm) -> Alarm:
    """Mark ``alarm`` acknowledged by ``user`` (first acknowledgement wins; idempotent; recorded in its history).

    Raises:
        PermissionDenied: ``user`` is not an operator of the area, the elevator's maintenance unit or an
            administrator (permission action ``alarm.handle``).
    """
    if not permissions.allowed(user, "alarm.handle", alarm):
        raise PermissionDenied(_("Only a 96333 operator, the elevator's maintenance unit or an administrator may acknowledge alarms."))
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.acknowledged_at is None:
            alarm.acknowledged_at, alarm.acknowledged_by = timezone.now(), user
            save_with_history(alarm, user, "acknowledged", update_fields=["acknowledged_at", "acknowledged_by"])
    return alarm


def clear_alarm(user, alarm: Alarm, *, reason: str) -> Alarm:
    """Clear an active alarm by hand (人工解除), e.g. a false alarm or a device that will not send the clear;
    acknowledges it too. If the condition persists the device's next message raises a new alarm. Idempotent
    on a cleared alarm. The emergency case of an entrapment is not touched (the emergency module closes it).

    Raises:
        PermissionDenied: as :func:`acknowledge_alarm`.
        ValidationError: ``{"reason": ...}`` empty or longer than 64 characters.
    """
    if not permissions.allowed(user, "alarm.handle", alarm):
        raise PermissionDenied(_("Only a 96333 operator, the elevator's maintenance unit or an administrator may clear alarms."))
    reason = " ".join((reason or "").split())
    max_len = Alarm._meta.get_field("cleared_reason").max_length
    if not reason:
        raise ValidationError({"reason": _("say why the alarm is cleared (e.g. false alarm, fault repaired on site)")})
    if len(reason) > max_len:
        raise ValidationError({"reason": _("at most %(n)d characters") % {"n": max_len}})
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.cleared_at is None:
            now = timezone.now()
            alarm.cleared_at, alarm.cleared_reason = now, reason
            fields = ["cleared_at", "cleared_reason"]
            if alarm.acknowledged_at is None:
                alarm.acknowledged_at, alarm.acknowledged_by = now, user
                fields += ["acknowledged_at", "acknowledged_by"]
            save_with_history(alarm, user, "cleared", update_fields=fields)
    return alarm


def _correlate(alarm: Alarm, now: dt.datetime) -> Incident:
    """Attach a new power-loss alarm to its area's open incident (or open one), atomically."""
    area_id = alarm.elevator.area_id
    window = dt.timedelta(seconds=float(rule("iot_correlation_window_s")))
    for _ in range(3):
        inc = Incident.objects.filter(area_id=area_id, kind=alarm.type, closed_at__isnull=True).first()
        if inc is not None and inc.last_alarm_at < now - window:
            Incident.objects.filter(pk=inc.pk, closed_at__isnull=True).update(closed_at=inc.last_alarm_at)
            inc = None
        if inc is None:
            try:
                with transaction.atomic():
                    inc = Incident.objects.create(area_id=area_id, kind=alarm.type, opened_at=now, last_alarm_at=now)
            except IntegrityError:
                continue
        Incident.objects.filter(pk=inc.pk).update(alarm_count=F("alarm_count") + 1, last_alarm_at=now)
        Alarm.objects.filter(pk=alarm.pk).update(incident=inc)
        alarm.incident = inc
        return inc
    raise RuntimeError("could not correlate alarm")  # pragma: no cover - three lost races in a row


def open_case_for(alarm: Alarm) -> bool:
    """Open (or attach to) the elevator's emergency case for an entrapment alarm via the flow
    ``monitoring.entrapment_alarm`` (emergency registers the handler at start-up; see :mod:`liftsafe.core.flows`).

    Idempotent (``idempotency_key = "iot-alarm-<id>"``). A failure (including a
    missing handler, :class:`~liftsafe.core.flows.FlowNotConnected`) is logged,
    recorded in ``case_error`` and retried by the periodic job, never raised:
    the alarm itself must not be lost. Returns True when the alarm is linked to a case.
    """
    details = {**(alarm.snapshot or {}), "alarm_id": alarm.pk, "code": alarm.code, "detail": alarm.detail,
               "device": alarm.device.device_id if alarm.device_id else "",
               "device_time": alarm.device_time.isoformat() if alarm.device_time else None}
    floor = (alarm.snapshot or {}).get("car_position")
    elevator = Elevator.objects.select_related("area").get(pk=alarm.elevator_id)
    try:
        with transaction.atomic():
            case_id = flows.call("monitoring.entrapment_alarm", elevator=elevator, received_at=alarm.raised_at,
                                 details=details, source_ref=f"monitoring.alarm:{alarm.pk}",
                                 idempotency_key=f"iot-alarm-{alarm.pk}", car_position="" if floor is None else str(floor))
    except Exception as exc:  # noqa: BLE001 - the alarm stands; the job retries
        log.exception("intake_alarm failed for alarm %s", alarm.pk)
        Alarm.objects.filter(pk=alarm.pk).update(case_error=f"{type(exc).__name__}: {exc}"[:255])
        return False
    Alarm.objects.filter(pk=alarm.pk).update(case_id=case_id, case_error="")
    alarm.case_id = case_id
    return True


# --------------------------------------------------------------------------- periodic work
def detect_offline(now: dt.datetime | None = None) -> int:
    """Mark devices silent for ``iot_offline_after_s`` offline and raise their offline alarm.

    Race-free against a message arriving as the timeout fires: the update is
    conditional on ``last_seen`` still being older than the cutoff (and the
    message path locks the device row and clears the offline alarm in the
    transaction that moves ``last_seen``), so either the message wins and no
    alarm is raised, or the alarm is raised and that message clears it.
    Returns the number of devices newly offline.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=float(rule("iot_offline_after_s")))
    n = 0
    candidates = list(MonitoringDevice.objects.filter(online=True, active=True, last_seen__lt=cutoff)
                      .values_list("pk", flat=True)[:5000])
    for pk in candidates:
        with transaction.atomic():
            if MonitoringDevice.objects.filter(pk=pk, online=True, last_seen__lt=cutoff).update(online=False):
                dev = MonitoringDevice.objects.select_related("elevator").get(pk=pk)
                raise_alarm(dev.elevator, AlarmType.OFFLINE, device=dev, code="heartbeat",
                            detail=C.alarm_text("offline", since=dev.last_seen.isoformat()), snapshot=_snapshot(dev.last_status), now=now)
                n += 1
    return n


def fire_due_timers(now: dt.datetime | None = None) -> int:
    """Fire detection timers (entrapment, stop outside the door zone) of devices that went quiet.

    A device that reports only on change sends no new status while a passenger
    is trapped; this re-evaluates its last status at the device time it would
    have now (``last_device_time`` + time since ``last_seen``). Returns alarms raised.
    """
    now = now or timezone.now()
    raised = 0
    for pk in list(MonitoringDevice.objects.filter(timer_due__lte=now, active=True).values_list("pk", flat=True)[:2000]):
        with transaction.atomic():
            d = next(iter(_load_devices(pks=[pk]).values()), None)
            if d is None or d.timer_due is None or d.timer_due > now or not d.last_status or d.last_device_time is None:
                continue
            res = BatchResult()
            device_now = d.last_device_time + (now - (d.last_seen or now))
            m = _Msg(0, d.device_id, "", "status", device_now, d.last_status, RawMessage(None, received_at=now))
            saved_ts = d.last_device_time
            _apply_safe(d, m, res, now)
            d.last_device_time = saved_ts
            MonitoringDevice.objects.filter(pk=d.pk).update(state=d.state, timer_due=d.timer_due)
            raised += len(res.alarms_raised)
    return raised


def close_stale_incidents(now: dt.datetime | None = None) -> int:
    """Close open incidents whose last alarm is older than the correlation window and whose alarms are all cleared."""
    now = now or timezone.now()
    window = now - dt.timedelta(seconds=float(rule("iot_correlation_window_s")))
    n = 0
    for inc in Incident.objects.filter(closed_at__isnull=True, last_alarm_at__lt=window):
        if not inc.alarms.filter(cleared_at__isnull=True).exists():
            n += Incident.objects.filter(pk=inc.pk, closed_at__isnull=True).update(closed_at=now)
    return n


def retry_case_links() -> int:
    """Open cases for active entrapment alarms that have none yet (intake failed or arrived later)."""
    n = 0
    for alarm in Alarm.objects.select_related("elevator", "device").filter(type=AlarmType.ENTRAPMENT, cleared_at__isnull=True, case_id__isnull=True)[:500]:
        n += open_case_for(alarm)
    return n


def purge_ledger(now: dt.datetime | None = None) -> int:
    """Delete processed-message ids older than ``iot_ledger_retention_days``."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=float(rule("iot_ledger_retention_days")))
    return ProcessedMessage.objects.filter(received_at__lt=cutoff).delete()[0]
