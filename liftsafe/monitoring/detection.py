"""Monitoring detection: the rules turning one accepted device message into alarms raised or cleared
(status timers, door zone, over-travel, overspeed, event codes, door vibration via :mod:`.door_stream`).

Detection rules and thresholds: docs/domain §4.1 (codes, firmware timers) and the ``iot_*`` rules of
:mod:`liftsafe.rules`.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Iterable

from django.db import DatabaseError

from liftsafe.rules import rule

from . import codes as C
from . import door_stream
from .alarms import clear_alarms, raise_alarm
from .codes import AlarmType
from .ingest import BatchResult, _Cfg, _Dev, _Msg

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- detection
def _snapshot(status: dict) -> dict:
    """The status snapshot in the docs/domain §3.5 upload names (attached to alarms and cases)."""
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


def _suppressed(d: _Dev, at: dt.datetime, visit_open: Callable[[int, dt.datetime], bool] | None = None) -> bool:
    return d.last_status.get("mode") in C.SUPPRESSING_MODES or (visit_open is not None and visit_open(d.elevator_id, at))


def _raise(d: _Dev, type_: str, res: BatchResult, now: dt.datetime, *, code: str, detail: str, ts: dt.datetime) -> None:
    if (type_ not in C.NEVER_SUPPRESSED and _suppressed(d, ts, res.visit_open)) or (
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
    # power loss (docs/domain §4.1 停电)
    if s["power"] == C.POWER_OUTAGE:
        _raise(d, AlarmType.POWER_LOSS, res, now, code="status.power", detail=C.alarm_text("power_outage"), ts=ts)
    else:
        _clear(d, _POWER_LOSS, res, now, C.alarm_text("cleared_power"))
    # entrapment: passenger present, doors closed, car stopped, beyond iot_entrapment_s (docs/domain §4.1 平层/非平层关人)
    passenger = s["passenger"]
    trapped = passenger == C.PASSENGER_PRESENT and door_closed and stopped
    if _timer(d, "trap", trapped, ts, cfg.entrapment_s):
        where = "trapped_at_landing" if in_zone else "trapped_away"  # 平层关人 / 非平层关人 (codes.ALARM_TEXTS)
        _raise(d, AlarmType.ENTRAPMENT, res, now, code="status.entrapment", detail=C.alarm_text(where), ts=ts)
    elif passenger == C.PASSENGER_ABSENT or (not door_closed and in_zone):
        _clear(d, _ENTRAPMENT, res, now, C.alarm_text("cleared_released"))
    # stop outside the door zone (docs/domain §4.1 04 / 门区外停梯)
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
    # over-travel (docs/domain §4.1 冲顶/蹲底): final limit switches
    for key, type_, types in _LIMITS:
        v = s.get(key)
        if v == 1:
            _raise(d, type_, res, now, code=f"status.{key}", detail=C.alarm_text(key), ts=ts)
        elif v == 2:
            _clear(d, types, res, now, C.alarm_text(f"cleared_{key}"))
    # overspeed (docs/domain §4.1 超速 1.2×)
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

