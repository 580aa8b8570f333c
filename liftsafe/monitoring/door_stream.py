"""Door-condition analytics on a live statistics stream (the streaming twin of :mod:`liftsafe.monitoring.door`).

A door sensor reports ``vibration_db`` in its ``stats`` messages, either one
sample per message or a block of samples (``data.series = {"hz": 4,
"vibration_db": [...]}``, the last sample at the message's ``ts``). The
platform keeps, per device (``MonitoringDevice.state["door"]``, so several
workers sharing the MQTT subscription see one state):

- the baseline: mean and standard deviation of the device's first
  ``door_vibration_baseline`` samples (Welford);
- a rolling window of the last ``door_vibration_window`` samples;
- the length of the current run of samples whose rolling mean is above
  baseline mean + ``door_vibration_sigma`` sd.

A run reaching ``door_vibration_sustain`` samples is a sustained abnormal
vibration: the caller raises an ``abnormal_vibration`` alarm (once per run);
when the rolling mean falls back under the limit the alarm is cleared. The
windows are counted in samples, exactly as the batch analysis
(:func:`liftsafe.monitoring.door.flag_vibration`) counts them, so the same
series flags the same windows (rules ``door_vibration_*``, liftsafe design).

The demo replays the real Huawei door series (``data/huawei-door-pdm.csv.gz``,
4 Hz) through this path: :class:`DoorReplay` turns it into ``stats`` messages
for one device, looping, at the series' rate times a speed factor.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

from liftsafe.rules import rule

#: at most this many samples in one ``series`` block (keeps a message under ``iot_max_message_bytes``)
MAX_SERIES = 400


@dataclass
class DoorEvent:
    """What one observation changed: ``kind`` ``"raise"`` (sustained run reached) or ``"clear"`` (back under the limit).

    ``samples`` is the run length so far, ``peak_db`` its highest sample, ``limit`` the dB limit, ``index`` the
    sample's position in the observed block (0-based; its device time is ``ts - (n - 1 - index) / hz``)."""

    kind: str
    index: int
    samples: int = 0
    peak_db: float = 0.0
    limit: float = 0.0


def samples_of(data: dict) -> tuple[list[float], float | None]:
    """``(vibration samples in time order, hz or None)`` of one stats message's ``data``.

    A ``series`` block wins; otherwise the single ``vibration_db`` value; otherwise no samples."""
    series = data.get("series")
    if isinstance(series, dict):
        values = [float(v) for v in series.get("vibration_db") or []]
        return values, float(series["hz"]) if series.get("hz") else None
    if "vibration_db" in data:
        return [float(data["vibration_db"])], None
    return [], None


#: a stored statistic beyond this magnitude is corrupt (the schema bounds samples to -200…300 dB)
_SANE = 1e9


def _finite(v, default=None):
    """``v`` as a float when it is a finite number of sane magnitude, else ``default``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return default
    try:
        v = float(v)
    except OverflowError:  # an int beyond a double (PostgreSQL writes a stored 1e400 out in digits)
        return default
    return v if math.isfinite(v) and abs(v) <= _SANE else default


def _load(state: dict) -> tuple | None:
    """The detector's variables from ``state``, or None when any is missing-but-required, of the wrong type,
    non-finite or absurd (a corrupt row, or one an earlier version overflowed with ±1e308)."""
    if not state:
        return 0, 0.0, 0.0, [], 0, 0.0, False, None
    n = state.get("n", 0)
    mean, m2, peak = _finite(state.get("mean", 0.0)), _finite(state.get("m2", 0.0)), _finite(state.get("peak", 0.0))
    win, run, limit = state.get("win", []), state.get("run", 0), state.get("limit")
    if (type(n) is not int or n < 0 or type(run) is not int or run < 0 or None in (mean, m2, peak) or m2 < 0
            or not isinstance(win, list) or (limit is not None and _finite(limit) is None)):
        return None
    window = [_finite(x) for x in win]
    if None in window:
        return None
    return n, mean, m2, window, run, peak, bool(state.get("flag", False)), limit


def observe(state: dict, values: list[float]) -> list[DoorEvent]:
    """Feed ``values`` (dB, time order) into the detector ``state`` (a JSON-able dict, updated in place).

    Returns the raise/clear events in order. Pure: no database access. A corrupt ``state`` (wrong types,
    non-finite or absurd statistics) is reset first, and so is a state the values would drive beyond a
    finite double: the detector then learns its baseline again rather than failing every later message."""
    nb, win = int(rule("door_vibration_baseline")), int(rule("door_vibration_window"))
    k, sustain = float(rule("door_vibration_sigma")), int(rule("door_vibration_sustain"))
    values = [v for v in (_finite(x) for x in values) if v is not None]
    loaded = _load(state)
    if loaded is None:
        state.clear()
        loaded = _load(state)
    n, mean, m2, window, run, peak, flagged, limit = loaded
    total = math.fsum(window)
    events: list[DoorEvent] = []
    for i, v in enumerate(values):
        if n < nb:  # baseline (Welford); the limit is known once it is complete
            n += 1
            delta = v - mean
            mean += delta / n
            m2 += delta * (v - mean)
            if n == nb:
                sd = math.sqrt(m2 / max(1, n - 1))
                limit = mean + k * sd
        window.append(v)
        total += v
        if len(window) > win:
            total -= window.pop(0)
        abnormal = limit is not None and len(window) == win and total / win > limit
        if abnormal:
            run += 1
            peak = v if run == 1 else max(peak, v)
            if run == sustain and not flagged:
                flagged = True
                events.append(DoorEvent("raise", i, run, peak, float(limit)))
        else:
            if flagged:
                events.append(DoorEvent("clear", i, run, peak, float(limit)))
            run, peak, flagged = 0, 0.0, False
    if _finite(mean) is None or _finite(m2) is None or (limit is not None and _finite(limit) is None):
        state.clear()  # overflowed: start a new baseline
        return events
    state.update(n=n, mean=mean, m2=m2, win=[round(x, 3) for x in window], run=run, peak=peak, flag=flagged,
                 limit=limit, last=values[-1] if values else _finite(state.get("last")))
    return events


def summary(state: dict | None) -> dict | None:
    """What a page shows of a device's door state: ``{"baseline_done", "samples", "mean", "sd", "limit",
    "rolling_mean", "last", "flagged", "run"}`` (dB), or None when the device never reported vibration."""
    if not isinstance(state, dict) or not state.get("n"):
        return None
    loaded = _load(state)
    if loaded is None:  # corrupt: shown as not reporting until the next sample resets it
        return None
    n, mean, m2, win, run, _peak, flagged, limit = loaded
    nb = int(rule("door_vibration_baseline"))
    return {"baseline_done": n >= nb, "samples": n, "baseline_needed": nb, "mean": mean,
            "sd": math.sqrt(m2 / max(1, n - 1)), "limit": limit,
            "rolling_mean": (math.fsum(win) / len(win)) if win else None, "last": _finite(state.get("last")),
            "flagged": flagged, "run": run}


# --------------------------------------------------------------------------- demo replay of the real series
@dataclass
class DoorReplay:
    """Replays the real 4 Hz door series (repaired by :func:`door.read_series`) as one device's ``stats`` stream.

    ``speed`` × 4 Hz samples per second of wall time (``speed`` 1 = the recorded rate), looping at the end.
    :meth:`messages` returns ``[(topic, payload)]`` for the samples due by ``now``: blocks of at most
    :data:`MAX_SERIES` samples (``series.hz`` = 4 × speed, so device time keeps pace with the wall clock),
    each with the latest ball-bearing, humidity and vibration values as plain statistics."""

    device: str
    speed: float = 10.0
    id_base: int = 0
    rows: list = field(default_factory=list, repr=False)
    pos: int = 0
    seq: int = 0
    last: dt.datetime | None = None
    carry: float = 0.0
    loops: int = 0

    def __post_init__(self) -> None:
        if not self.rows:
            from .door import read_series

            self.rows = read_series().rows
        self.seq = self.id_base

    @property
    def hz(self) -> float:
        from .door import HZ

        return HZ * self.speed

    def messages(self, now: dt.datetime, *, max_samples: int = 4000) -> list[tuple[str, bytes]]:
        from .ingest import topic_for

        if self.last is None:
            self.last = now
            return []
        due = (now - self.last).total_seconds() * self.hz + self.carry
        n = min(int(due), max_samples)
        self.carry = due - int(due) if n < max_samples else 0.0
        self.last = now
        out = []
        step = dt.timedelta(seconds=1 / self.hz)
        remaining = n
        while remaining > 0:
            take = min(remaining, MAX_SERIES)
            block = []
            for _ in range(take):
                block.append(self.rows[self.pos])
                self.pos += 1
                if self.pos >= len(self.rows):
                    self.pos, self.loops = 0, self.loops + 1
            remaining -= take
            ts = now - remaining * step  # the block's last sample
            last = block[-1]
            self.seq += 1
            body = {"v": 1, "type": "stats", "device": self.device, "id": f"door-{self.seq}",
                    "ts": ts.isoformat(timespec="milliseconds"),
                    "data": {"ball_bearing": last["ball_bearing"], "humidity": last["humidity"],
                             "vibration_db": last["vibration_db"],
                             "series": {"hz": self.hz, "vibration_db": [r["vibration_db"] for r in block]}}}
            out.append((topic_for(self.device, "stats"), json.dumps(body, separators=(",", ":")).encode()))
        return out
