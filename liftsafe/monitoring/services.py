"""Monitoring writes: device binding, message processing, alarm lifecycle, correlation, offline detection.

The one entry point for device traffic is :func:`process_batch` (MQTT consumer,
HTTP batch endpoint and the in-process simulator all call it). It is
idempotent by (device id, message id) through the :class:`ProcessedMessage`
ledger, written in the same transaction as the effects, so a transport that
acknowledges only after it returns (after the commit) loses nothing and a
redelivery has no second effect.

Detection rules and thresholds: docs/domain §4.1 (codes, firmware timers) and the
``iot_*`` rules of :mod:`liftsafe.rules`.

This module keeps the entry points (batch processing, HTTP intake, the periodic jobs) and re-exports
the names of the modules split out of it: :mod:`.ingest` (parsing, schema, ledger, dead letters, batch
splitting), :mod:`.detection` (rules turning messages into alarms), :mod:`.alarms` (alarm lifecycle,
incidents, cases) and :mod:`.devices` (binding).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Iterable

from django.db import connection, transaction
from django.utils import timezone

from liftsafe.core import flows, permissions
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from . import codes as C
from .codes import AlarmType
from .models import Alarm, DeadLetter, MonitoringDevice

from .ingest import (  # noqa: F401 - re-exported: liftsafe.monitoring.services keeps every name
    SCHEMA_PATH, SCHEMA, _validate, _loads, _dumps, _schema_for_type,
    _TYPE_VALIDATORS, TOPIC_PREFIX, R, CAPPED_TYPES, topic_for, RawMessage,
    _Msg, BatchResult, _Cfg, _UNSAFE_CHARS, safe_text, _payload_bytes,
    _payload_text, _parse, _json_error, split_batch, _ledger_insert, _ledger_delete,
    _pg_fetch, _dead_letter_rows, _Dev, _DEV_FIELDS, _load_devices, _json_column,
    _save_devices, _STATE_FIELDS, _save_devices_pg, _clear_offline, _active_alarms, PreparedBatch,
    BACKFILL_MAX_AGE_S, prepare_batch, dead_letter, purge_ledger,
)
from .devices import (  # noqa: F401 - re-exported: liftsafe.monitoring.services keeps every name
    bind_device, unbind_device, device_bind, device_unbind,
)
from .alarms import (  # noqa: F401 - re-exported: liftsafe.monitoring.services keeps every name
    raise_alarm, clear_alarms, acknowledge_alarm, clear_alarm, _correlate, open_case_for,
    close_stale_incidents, retry_case_links,
)
from .detection import (  # noqa: F401 - re-exported: liftsafe.monitoring.services keeps every name
    _snapshot, _suppressed, _raise, _clear, _timer, _door_vibration,
    _POWER_LOSS, _ENTRAPMENT, _STOP_OUTSIDE, _DOOR_OPEN_RUNNING, _OVERSPEED, _LIMITS,
    _apply_safe, _apply,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- maintenance link
def maintenance_visit_open(elevator_id: int, at: dt.datetime) -> bool:
    """True while a maintenance visit is open on the elevator at ``at`` (alarms are then suppressed like in
    inspection mode): the flow ``monitoring.maintenance_visit_open`` (declared in apps.py, not required;
    the maintenance app registers the handler). No handler → False."""
    if not flows.registry.handlers("monitoring.maintenance_visit_open"):
        return False
    return bool(flows.call("monitoring.maintenance_visit_open", elevator_id=elevator_id, at=at))


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
    res.visit_open = maintenance_visit_open
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
            res.visit_open = maintenance_visit_open
            device_now = d.last_device_time + (now - (d.last_seen or now))
            m = _Msg(0, d.device_id, "", "status", device_now, d.last_status, RawMessage(None, received_at=now))
            saved_ts = d.last_device_time
            _apply_safe(d, m, res, now)
            d.last_device_time = saved_ts
            MonitoringDevice.objects.filter(pk=d.pk).update(state=d.state, timer_due=d.timer_due)
            raised += len(res.alarms_raised)
    return raised
