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


def observe(state: dict, values: list[float]) -> list[DoorEvent]:
    """Feed ``values`` (dB, time order) into the detector ``state`` (a JSON-able dict, updated in place).

    Returns the raise/clear events in order. Pure: no database access."""
    nb, win = int(rule("door_vibration_baseline")), int(rule("door_vibration_window"))
    k, sustain = float(rule("door_vibration_sigma")), int(rule("door_vibration_sustain"))
    n, mean, m2 = int(state.get("n", 0)), float(state.get("mean", 0.0)), float(state.get("m2", 0.0))
    window: list[float] = list(state.get("win", []))
    run, peak, flagged = int(state.get("run", 0)), float(state.get("peak", 0.0)), bool(state.get("flag", False))
    total = math.fsum(window)
    events: list[DoorEvent] = []
    limit = state.get("limit")
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
    state.update(n=n, mean=mean, m2=m2, win=[round(x, 3) for x in window], run=run, peak=peak, flag=flagged,
                 limit=limit, last=values[-1] if values else state.get("last"))
    return events


def summary(state: dict | None) -> dict | None:
    """What a page shows of a device's door state: ``{"baseline_done", "samples", "mean", "sd", "limit",
    "rolling_mean", "last", "flagged", "run"}`` (dB), or None when the device never reported vibration."""
    if not state or not state.get("n"):
        return None
    n, nb = int(state["n"]), int(rule("door_vibration_baseline"))
    win = state.get("win") or []
    return {"baseline_done": n >= nb, "samples": n, "baseline_needed": nb, "mean": state.get("mean"),
            "sd": math.sqrt(state.get("m2", 0.0) / max(1, n - 1)), "limit": state.get("limit"),
            "rolling_mean": (sum(win) / len(win)) if win else None, "last": state.get("last"),
            "flagged": bool(state.get("flag")), "run": int(state.get("run", 0))}


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
        from .services import topic_for

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
