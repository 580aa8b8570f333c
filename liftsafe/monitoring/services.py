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

import datetime as dt
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import fastjsonschema
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from . import codes as C
from .codes import AlarmType
from .models import Alarm, DeadLetter, Incident, MonitoringDevice, ProcessedMessage

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "message-v1.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_validate = fastjsonschema.compile(SCHEMA)
TOPIC_PREFIX = "liftsafe/v1"
R = DeadLetter.Reason


def topic_for(device_id: str, msg_type: str) -> str:
    """MQTT topic of a device message: ``liftsafe/v1/<device id>/<type>`` (docs/monitoring.md)."""
    return f"{TOPIC_PREFIX}/{device_id}/{msg_type}"


# --------------------------------------------------------------------------- hooks
def _no_visit(elevator_id: int, at: dt.datetime) -> bool:
    return False


#: Hook: ``f(elevator_id, at) -> bool``, True while a maintenance visit is open on the
#: elevator; alarms are then suppressed like in inspection mode. The maintenance
#: module (not yet written) replaces it with :func:`set_maintenance_visit_hook`.
maintenance_visit_open: Callable[[int, dt.datetime], bool] = _no_visit


def set_maintenance_visit_hook(func: Callable[[int, dt.datetime], bool] | None) -> None:
    """Install (or with None, remove) the maintenance-visit hook used for alarm suppression."""
    global maintenance_visit_open
    maintenance_visit_open = func or _no_visit


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


# --------------------------------------------------------------------------- messages
@dataclass
class RawMessage:
    """One message as received: ``payload`` bytes/str (or an already-parsed dict from the HTTP API).

    ``received_at`` is the platform's receive time (aware); ``topic`` the MQTT
    topic or "" (HTTP); ``transport`` ``mqtt`` | ``http`` | ``sim``.
    """

    payload: Any
    topic: str = ""
    received_at: dt.datetime | None = None
    transport: str = "mqtt"


@dataclass
class _Msg:
    index: int
    device: str
    id: str
    type: str
    ts: dt.datetime
    data: dict
    raw: RawMessage


@dataclass
class BatchResult:
    """What one :func:`process_batch` call did. ``outcomes[i]`` is the fate of message ``i``:
    ``accepted`` | ``duplicate`` | ``out_of_order`` (stored, status not applied) | ``dead:<reason>``."""

    outcomes: list[str] = field(default_factory=list)
    dead: Counter = field(default_factory=Counter)
    alarms_raised: list[int] = field(default_factory=list)
    alarms_repeated: int = 0
    alarms_cleared: int = 0
    suppressed: int = 0
    rate_capped: int = 0
    #: (elevator id, alarm type) pairs active at batch start plus those raised since; None = unknown (query)
    active: set | None = field(default=None, repr=False)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)


def _payload_text(raw: RawMessage) -> str:
    p = raw.payload
    if isinstance(p, (bytes, bytearray)):
        return bytes(p[:4096]).decode("utf-8", "replace")
    if isinstance(p, str):
        return p[:4096]
    try:
        return json.dumps(p, ensure_ascii=False, default=str)[:4096]
    except Exception:  # noqa: BLE001 - anything unserialisable is still kept as text
        return repr(p)[:4096]


def _parse(raw: RawMessage, now: dt.datetime, max_bytes: int, future_s: float, past_s: float):
    """Return ``(_Msg, None)`` or ``(None, (reason, detail, device, message_id))``."""
    p = raw.payload
    if isinstance(p, (bytes, bytearray)) or (isinstance(p, str) and raw.transport != "http"):
        size = len(p) if not isinstance(p, str) else len(p.encode("utf-8"))
        if size > max_bytes:
            return None, (R.TOO_LARGE, f"{size} bytes > limit {max_bytes}", "", "")
        try:
            obj = json.loads(p)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, (R.MALFORMED_JSON, str(exc)[:300], "", "")
    else:
        obj = p
        try:
            if len(json.dumps(obj, default=str)) > max_bytes:
                return None, (R.TOO_LARGE, f"message over the limit of {max_bytes} bytes", "", "")
        except (TypeError, ValueError) as exc:
            return None, (R.SCHEMA, str(exc)[:300], "", "")
    dev = obj.get("device") if isinstance(obj, dict) else None
    mid = obj.get("id") if isinstance(obj, dict) else None
    dev_s = dev[:64] if isinstance(dev, str) else ""
    mid_s = mid[:64] if isinstance(mid, str) else ""
    try:
        _validate(obj)
    except fastjsonschema.JsonSchemaException as exc:
        return None, (R.SCHEMA, str(exc)[:300], dev_s, mid_s)
    if raw.topic:
        parts = raw.topic.split("/")
        if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_PREFIX or parts[2] != dev or parts[3] != obj["type"]:
            return None, (R.TOPIC_MISMATCH, f"topic {raw.topic!r} ≠ {topic_for(dev, obj['type'])!r}", dev_s, mid_s)
    try:
        ts = dt.datetime.fromisoformat(obj["ts"])
    except ValueError as exc:
        return None, (R.SCHEMA, f"ts: {exc}", dev_s, mid_s)
    skew = (ts - now).total_seconds()
    if skew > future_s:
        return None, (R.DEVICE_TIME_FUTURE, f"ts {obj['ts']} is {skew:.0f} s ahead of receive time", dev_s, mid_s)
    if -skew > past_s:
        return None, (R.DEVICE_TIME_PAST, f"ts {obj['ts']} is {-skew:.0f} s before receive time", dev_s, mid_s)
    return _Msg(0, dev, mid, obj["type"], ts, obj.get("data") or {}, raw), None


def _ledger_insert(rows: list[tuple[str, str, dt.datetime]]) -> set[tuple[str, str]]:
    """Insert (device, message id, received) rows, ignoring ones already there; return the new pairs."""
    if not rows:
        return set()
    table = ProcessedMessage._meta.db_table
    recv = ProcessedMessage._meta.get_field("received_at")
    new: set[tuple[str, str]] = set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {table} (device_key, message_id, received_at) "
                        f"SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) "
                        f"ON CONFLICT (device_key, message_id) DO NOTHING RETURNING device_key, message_id",
                        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]])
            return {(d, m) for d, m in cur.fetchall()}
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


def _dead_letter_rows(items: list[tuple[RawMessage, str, str, str, str]]) -> list[DeadLetter]:
    return [DeadLetter(reason=reason, detail=detail[:500], received_at=raw.received_at, device_key=dev[:64],
                       message_id=mid[:64], topic=raw.topic[:255], transport=raw.transport[:8], payload=_payload_text(raw))
            for raw, reason, detail, dev, mid in items]


# elevator fields the detection needs (the rest stay unloaded on the hot path)
_ELEVATOR_FIELDS = ["elevator__id", "elevator__status", "elevator__area_id", "elevator__rated_speed_mps", "elevator__category"]
_DEVICE_FIELDS = ["online", "last_seen", "last_device_time", "last_message_id", "last_status", "last_stats", "state",
                  "window_start", "window_count", "timer_due"]


def _save_devices(devices: list[MonitoringDevice], accepted: Counter) -> None:
    """Write the per-batch device state in one executemany (no history rows: operational state)."""
    if not devices:
        return
    if connection.vendor == "postgresql":
        return _save_devices_pg(devices, accepted)
    meta = MonitoringDevice._meta
    fields = [meta.get_field(n) for n in _DEVICE_FIELDS]
    sets = ", ".join(f"{f.column} = %s" for f in fields)
    sql = f"UPDATE {meta.db_table} SET {sets}, messages_accepted = messages_accepted + %s WHERE id = %s"
    params = [[f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields] + [accepted[d.pk], d.pk] for d in devices]
    with connection.cursor() as cur:
        cur.executemany(sql, params)


def _save_devices_pg(devices: list[MonitoringDevice], accepted: Counter) -> None:
    """PostgreSQL: one ``UPDATE … FROM unnest(arrays)`` for the whole batch (12 parameters, not 12 per device)."""
    t = MonitoringDevice._meta.db_table
    dumps = json.dumps
    cols = list(zip(*[(d.pk, d.online, d.last_seen, d.last_device_time, d.last_message_id, dumps(d.last_status),
                       dumps(d.last_stats), dumps(d.state), d.window_start, d.window_count, d.timer_due, accepted[d.pk])
                      for d in devices]))
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {t} AS d SET online=v.online, last_seen=v.last_seen, last_device_time=v.last_device_time, "
            f"last_message_id=v.last_message_id, last_status=v.last_status::jsonb, last_stats=v.last_stats::jsonb, "
            f"state=v.state::jsonb, window_start=v.window_start, window_count=v.window_count, timer_due=v.timer_due, "
            f"messages_accepted=d.messages_accepted + v.n "
            f"FROM unnest(%s::bigint[], %s::boolean[], %s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[], %s::text[], "
            f"%s::text[], %s::timestamptz[], %s::integer[], %s::timestamptz[], %s::bigint[]) "
            f"AS v(id, online, last_seen, last_device_time, last_message_id, last_status, last_stats, state, window_start, "
            f"window_count, timer_due, n) WHERE d.id = v.id", [list(c) for c in cols])


def process_batch(raws: Iterable[RawMessage], *, now: dt.datetime | None = None,
                  allowed_devices: set[str] | None = None) -> BatchResult:
    """Validate, de-duplicate and apply a batch of device messages in one transaction.

    Every message ends as exactly one outcome (see :class:`BatchResult`); rejected
    ones are stored as :class:`DeadLetter` rows with the reason. Nothing raised by
    bad input escapes: a worker never crashes on a message. Returns after the
    commit, so the caller may then acknowledge the whole batch.

    ``now`` (aware) defaults to the clock; each message's ``received_at``
    defaults to ``now``. ``allowed_devices`` (HTTP API): devices outside it
    are treated as unknown (the caller may not report for them).
    """
    raws = list(raws)
    now = now or timezone.now()
    res = BatchResult(outcomes=[""] * len(raws))
    max_bytes = int(rule("iot_max_message_bytes"))
    future_s, past_s = float(rule("iot_max_future_skew_s")), float(rule("iot_max_past_age_s"))
    dead: list[tuple[int, RawMessage, str, str, str, str]] = []
    parsed: list[_Msg] = []
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
            res.outcomes[i] = "duplicate"
            continue
        seen.add(key)
        parsed.append(msg)

    with transaction.atomic():
        new = _ledger_insert([(m.device, m.id, m.raw.received_at) for m in parsed])
        fresh = []
        for m in parsed:
            if (m.device, m.id) in new:
                fresh.append(m)
            else:
                res.outcomes[m.index] = "duplicate"
        qs = (MonitoringDevice.objects.select_related("elevator").filter(device_id__in={m.device for m in fresh}).order_by("pk")
              .only(*[f.name for f in MonitoringDevice._meta.concrete_fields], *_ELEVATOR_FIELDS))
        if connection.features.has_select_for_update_of:
            qs = qs.select_for_update(of=("self",))
        elif connection.features.has_select_for_update:
            qs = qs.select_for_update()
        devices = {d.device_id: d for d in qs}
        res.active = set(Alarm.objects.filter(elevator_id__in={d.elevator_id for d in devices.values()}, cleared_at__isnull=True)
                         .values_list("elevator_id", "type"))
        by_device: dict[str, list[_Msg]] = {}
        for m in fresh:
            d = devices.get(m.device)
            if d is None or not d.active or (allowed_devices is not None and m.device not in allowed_devices):
                dead.append((m.index, m.raw, R.UNKNOWN_DEVICE, f"no active device {m.device!r}", m.device, m.id))
            elif d.elevator.status == Elevator.Status.SCRAPPED:
                dead.append((m.index, m.raw, R.SCRAPPED_ELEVATOR, f"device {m.device} is bound to scrapped elevator {d.elevator_id}", m.device, m.id))
            else:
                by_device.setdefault(m.device, []).append(m)
        flood_window, flood_max = float(rule("iot_flood_window_s")), int(rule("iot_flood_max_messages"))
        touched: list[MonitoringDevice] = []
        accepted: Counter = Counter()
        back_online: list[int] = []
        for dev_id, msgs in by_device.items():
            d = devices[dev_id]
            msgs.sort(key=lambda m: (m.raw.received_at, m.ts))
            ok: list[_Msg] = []
            for m in msgs:
                r = m.raw.received_at
                if d.window_start is None or (r - d.window_start).total_seconds() >= flood_window:
                    d.window_start, d.window_count = r, 0
                d.window_count += 1
                if d.window_count > flood_max:
                    dead.append((m.index, m.raw, R.FLOOD, f"more than {flood_max} messages in {flood_window:.0f} s", m.device, m.id))
                else:
                    ok.append(m)
            if ok:
                if not d.online:
                    back_online.append(d.pk)
                d.online = True
                d.last_seen = max(m.raw.received_at for m in ok)
                ok.sort(key=lambda m: m.ts)
                for m in ok:
                    res.outcomes[m.index] = _apply(d, m, res, now)
                    d.last_message_id = m.id
                accepted[d.pk] += len(ok)
            touched.append(d)
        _save_devices(touched, accepted)
        if back_online:
            res.alarms_cleared += Alarm.objects.filter(device_id__in=back_online, type=AlarmType.OFFLINE, cleared_at__isnull=True).update(
                cleared_at=now, cleared_reason="message received")
        for i, _raw, reason, *_rest in dead:
            res.outcomes[i] = f"dead:{str(reason)}"
            res.dead[str(reason)] += 1
        DeadLetter.objects.bulk_create(_dead_letter_rows([tuple(x[1:]) for x in dead]))
    return res


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


def _suppressed(d: MonitoringDevice, at: dt.datetime) -> bool:
    return d.last_status.get("mode") in C.SUPPRESSING_MODES or maintenance_visit_open(d.elevator_id, at)


def _raise(d: MonitoringDevice, type_: str, res: BatchResult, now: dt.datetime, *, code: str, detail: str, ts: dt.datetime) -> None:
    if (type_ not in C.NEVER_SUPPRESSED and _suppressed(d, ts)) or (
            type_ == AlarmType.ENTRAPMENT and not C.can_trap_passengers(d.elevator.category)):
        res.suppressed += 1
        return
    alarm, created = raise_alarm(d.elevator, type_, device=d, code=code, detail=detail,
                                 snapshot=_snapshot(d.last_status), device_time=ts, now=now)
    if alarm is not None and res.active is not None:
        res.active.add((d.elevator_id, str(type_)))
    if alarm is None:
        res.rate_capped += 1
    elif created:
        res.alarms_raised.append(alarm.pk)
    else:
        res.alarms_repeated += 1


def _clear(d: MonitoringDevice, types: Iterable[str], res: BatchResult, now: dt.datetime, reason: str) -> None:
    if res.active is not None:  # only touch the database when such an alarm is active (the common case is none)
        types = [t for t in types if (d.elevator_id, str(t)) in res.active]
        if not types:
            return
        res.active.difference_update((d.elevator_id, str(t)) for t in types)
    res.alarms_cleared += clear_alarms(d.elevator_id, types, now=now, reason=reason)


def _timer(d: MonitoringDevice, name: str, cond: bool, ts: dt.datetime, limit_s: float) -> bool:
    """Track how long ``cond`` has held (device time); True once it held ``limit_s`` seconds."""
    key = f"{name}_since"
    if not cond:
        d.state.pop(key, None)
        return False
    since = d.state.get(key)
    if since is None:
        d.state[key] = ts.isoformat()
        return limit_s <= 0
    return (ts - dt.datetime.fromisoformat(since)).total_seconds() >= limit_s


def _apply(d: MonitoringDevice, m: _Msg, res: BatchResult, now: dt.datetime) -> str:
    """Apply one accepted message to the device state; raise/clear alarms. Returns the outcome."""
    if m.type == "heartbeat":
        return "accepted"
    if m.type == "stats":
        d.last_stats = {**d.last_stats, **m.data, "ts": m.ts.isoformat()}
        return "accepted"
    if m.type == "event":
        code = m.data["code"]
        mode = C.EVENT_MODE.get(code)
        if mode is not None and (d.last_device_time is None or m.ts >= d.last_device_time):
            d.last_status = {**d.last_status, "mode": mode}
        if code == C.RESTORE_CODE:
            _clear(d, C.CLEARED_BY_RESTORE, res, now, "event 40")
        type_ = C.CODE_ALARM.get(code)
        if type_:
            detail = C.EVENT_CODES.get(code, "")
            if type_ == AlarmType.ENTRAPMENT:
                zone = d.last_status.get("door_zone")
                detail += " · " + ("at a landing" if zone == C.IN_DOOR_ZONE else "away from a landing" if zone == C.OUTSIDE_DOOR_ZONE else "position unknown")
            _raise(d, type_, res, now, code=code, detail=detail[:255], ts=m.ts)
        return "accepted"
    # status
    if d.last_device_time is not None and m.ts < d.last_device_time:
        return "out_of_order"
    prev = d.last_status
    s = m.data
    d.last_status, d.last_device_time = dict(s), m.ts
    ts = m.ts
    stopped, running = s["running"] == 0, s["running"] == 1
    door_closed = s["door"] == C.DOOR_CLOSED
    in_zone = s["door_zone"] == C.IN_DOOR_ZONE
    # power loss (FACTS §4.1 停电)
    if s["power"] == C.POWER_OUTAGE:
        _raise(d, AlarmType.POWER_LOSS, res, now, code="status.power", detail="power outage", ts=ts)
    else:
        _clear(d, [AlarmType.POWER_LOSS], res, now, "power normal")
    # entrapment: passenger present, doors closed, car stopped, beyond iot_entrapment_s (FACTS §4.1 平层/非平层关人)
    trapped = s["passenger"] == C.PASSENGER_PRESENT and door_closed and stopped
    if _timer(d, "trap", trapped, ts, float(rule("iot_entrapment_s"))):
        where = "at a landing" if in_zone else "away from a landing"  # 平层关人 / 非平层关人; shown via codes.detail_label
        _raise(d, AlarmType.ENTRAPMENT, res, now, code="status.entrapment", detail=f"passenger trapped {where}", ts=ts)
    elif s["passenger"] == C.PASSENGER_ABSENT or (not door_closed and in_zone):
        _clear(d, [AlarmType.ENTRAPMENT], res, now, "passenger released")
    # stop outside the door zone (FACTS §4.1 04 / 门区外停梯)
    if _timer(d, "zone", stopped and not in_zone, ts, float(rule("iot_stop_outside_door_zone_s"))):
        _raise(d, AlarmType.STOP_OUTSIDE_ZONE, res, now, code="status.stop_outside_zone", detail="car stopped outside the door zone", ts=ts)
    elif in_zone:
        _clear(d, [AlarmType.STOP_OUTSIDE_ZONE], res, now, "back in door zone")
    # door open while running / unintended movement (car leaves a landing with the doors open)
    if running and not door_closed:
        if prev.get("running") == 0 and prev.get("door") == C.DOOR_NOT_CLOSED:
            _raise(d, AlarmType.UNINTENDED_MOVEMENT, res, now, code="status.ucm", detail="car moved with the doors open", ts=ts)
        elif _timer(d, "door_run", True, ts, float(rule("iot_door_open_running_s"))):
            _raise(d, AlarmType.DOOR_OPEN_RUNNING, res, now, code="status.door_open_running", detail="door open while running", ts=ts)
    else:
        d.state.pop("door_run_since", None)
        if door_closed:
            _clear(d, [AlarmType.DOOR_OPEN_RUNNING], res, now, "door closed")
    # over-travel (FACTS §4.1 冲顶/蹲底): final limit switches
    for key, type_ in (("up_limit", AlarmType.OVER_TRAVEL_TOP), ("down_limit", AlarmType.OVER_TRAVEL_BOTTOM)):
        if s.get(key) == 1:
            _raise(d, type_, res, now, code=f"status.{key}", detail=f"{key} switch", ts=ts)
        elif s.get(key) == 2:
            _clear(d, [type_], res, now, f"{key} released")
    # overspeed (FACTS §4.1 超速 1.2×)
    rated = d.elevator.rated_speed_mps
    if rated and s.get("speed") is not None:
        if s["speed"] > float(rule("iot_overspeed_ratio")) * float(rated):
            _raise(d, AlarmType.OVERSPEED, res, now, code="status.overspeed", detail=f"{s['speed']} m/s > {rule('iot_overspeed_ratio')}× {rated} m/s", ts=ts)
        elif s["speed"] <= float(rated):
            _clear(d, [AlarmType.OVERSPEED], res, now, "speed normal")
    # timers pending → the periodic job fires them if no new status comes
    pending = [dt.datetime.fromisoformat(d.state[k]) + dt.timedelta(seconds=float(rule(r)))
               for k, r in (("trap_since", "iot_entrapment_s"), ("zone_since", "iot_stop_outside_door_zone_s")) if k in d.state]
    d.timer_due = (now + (min(pending) - ts)) if pending else None
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
    """Mark ``alarm`` acknowledged by ``user`` (first acknowledgement wins; idempotent)."""
    Alarm.objects.filter(pk=alarm.pk, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now(), acknowledged_by=user)
    alarm.refresh_from_db()
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


def _intake():
    """The emergency intake service, or None while the emergency app does not provide it."""
    try:
        from liftsafe.emergency.services import intake_alarm
    except ImportError:
        return None
    return intake_alarm


def open_case_for(alarm: Alarm) -> bool:
    """Open (or attach to) the elevator's emergency case for an entrapment alarm via the emergency intake.

    Idempotent (``idempotency_key = "iot-alarm-<id>"``). A failure is recorded
    in ``case_error`` and retried by the periodic job, never raised: the alarm
    itself must not be lost. Returns True when the alarm is linked to a case.
    """
    intake = _intake()
    if intake is None:
        return False
    details = {**(alarm.snapshot or {}), "alarm_id": alarm.pk, "code": alarm.code, "detail": alarm.detail,
               "device": alarm.device.device_id if alarm.device_id else "",
               "device_time": alarm.device_time.isoformat() if alarm.device_time else None}
    floor = (alarm.snapshot or {}).get("car_position")
    elevator = Elevator.objects.select_related("area").get(pk=alarm.elevator_id)
    try:
        with transaction.atomic():
            result = intake(elevator, channel="iot", case_type="entrapment", received_at=alarm.raised_at,
                            details=details, source_ref=f"monitoring.alarm:{alarm.pk}", idempotency_key=f"iot-alarm-{alarm.pk}",
                            car_position="" if floor is None else str(floor))
    except Exception as exc:  # noqa: BLE001 - the alarm stands; the job retries
        log.exception("intake_alarm failed for alarm %s", alarm.pk)
        Alarm.objects.filter(pk=alarm.pk).update(case_error=f"{type(exc).__name__}: {exc}"[:255])
        return False
    Alarm.objects.filter(pk=alarm.pk).update(case_id=result.case.pk, case_error="")
    alarm.case_id = result.case.pk
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
                            detail=f"no message since {dev.last_seen.isoformat()}", snapshot=_snapshot(dev.last_status), now=now)
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
            qs = MonitoringDevice.objects.select_related("elevator").filter(pk=pk, timer_due__lte=now)
            if connection.features.has_select_for_update_of:
                qs = qs.select_for_update(of=("self",))
            d = qs.first()
            if d is None or not d.last_status or d.last_device_time is None:
                continue
            res = BatchResult()
            device_now = d.last_device_time + (now - (d.last_seen or now))
            m = _Msg(0, d.device_id, "", "status", device_now, d.last_status, RawMessage(None, received_at=now))
            saved_ts = d.last_device_time
            _apply(d, m, res, now)
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
    if _intake() is None:
        return 0
    for alarm in Alarm.objects.select_related("elevator", "device").filter(type=AlarmType.ENTRAPMENT, cleared_at__isnull=True, case_id__isnull=True)[:500]:
        n += open_case_for(alarm)
    return n


def purge_ledger(now: dt.datetime | None = None) -> int:
    """Delete processed-message ids older than ``iot_ledger_retention_days``."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=float(rule("iot_ledger_retention_days")))
    return ProcessedMessage.objects.filter(received_at__lt=cutoff).delete()[0]
