"""Door-condition analytics on a 4 Hz door sensor series (the real Huawei file in ``data/``).

The file (``ball-bearing;humidity;vibration``, semicolon separated, no
timestamps) went through a German-locale spreadsheet: some decimals became
dates (``"31. Jul"`` = 31.07, ``"18. Mrz"`` = 18.03; SOURCE.md), and others,
not valid as day.month, became month-year (``"Apr 45"`` = 4.45, 1945). Each such cell
is repaired to ``day.month`` and counted per column; any other unparseable
cell rejects its row with the reason. Nothing is silently misread.

The series is ingested as one device's statistics stream: sample ``i`` gets
device time ``start + i / 4 s``; the latest sample becomes the device's
``last_stats``; sustained abnormal vibration (rolling mean over
``door_vibration_window`` samples above the baseline mean + ``door_vibration_sigma``
standard deviations for ``door_vibration_sustain`` samples; baseline = the first
``door_vibration_baseline`` samples) is flagged and raises an
``abnormal_vibration`` alarm, cleared when the window ends.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from liftsafe.rules import rule

DATA_FILE = Path(__file__).resolve().parent / "data" / "huawei-door-pdm.csv.gz"
HZ = 4.0
COLUMNS = {"ball-bearing": "ball_bearing", "humidity": "humidity", "vibration": "vibration_db"}
MONTHS = {"Jan": 1, "Feb": 2, "Mrz": 3, "Apr": 4, "Mai": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Okt": 10, "Nov": 11, "Dez": 12}
_DAY_MONTH = re.compile(r"^(\d{1,2})\.\s?(" + "|".join(MONTHS) + r")$")  # 31.07 → "31. Jul"
_MONTH_YEAR = re.compile(r"^(" + "|".join(MONTHS) + r")\s(\d{2})$")  # 4.45 → April 1945 → "Apr 45"


class CellError(ValueError):
    """A cell that is neither a number nor a repairable German date."""


def parse_cell(text: str) -> tuple[float, bool]:
    """Return ``(value, repaired)``; ``"31. Jul"`` → ``(31.07, True)``, ``"Apr 45"`` → ``(4.45, True)``.

    The spreadsheet read ``d.mm`` (d ≤ 31, mm ≤ 12) as day.month and shows
    "d. Mon"; it read ``m.yy`` (m ≤ 12, not a valid day.month) as month.year
    and shows "Mon yy". Both are reversed exactly.

    Raises:
        CellError: empty, non-numeric or non-finite cells (with the text).
    """
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        if m := _DAY_MONTH.match(t):
            return float(f"{int(m.group(1))}.{MONTHS[m.group(2)]:02d}"), True
        if m := _MONTH_YEAR.match(t):
            return float(f"{MONTHS[m.group(1)]}.{m.group(2)}"), True
        raise CellError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise CellError(f"not finite: {text!r}")
    return v, False


@dataclass
class Series:
    """Parsed series: ``rows`` of ``{"ball_bearing", "humidity", "vibration_db"}``; counts of repairs and rejections."""

    rows: list[dict] = field(default_factory=list)
    repairs: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)


def read_series(path: Path = DATA_FILE) -> Series:
    """Read the (gzip'd or plain) semicolon CSV; repair German date cells, reject other bad rows.

    Raises:
        ValueError: if the header is not ``ball-bearing;humidity;vibration``.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    out = Series()
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = [h.strip() for h in next(reader)]
        if header != list(COLUMNS):
            raise ValueError(f"header: expected {';'.join(COLUMNS)}, got {';'.join(header)}")
        for lineno, cells in enumerate(reader, start=2):
            if len(cells) != 3:
                out.rejected[f"{len(cells)} cells instead of 3"] += 1
                continue
            row, fixes = {}, []
            try:
                for (col, key), cell in zip(COLUMNS.items(), cells):
                    v, repaired = parse_cell(cell)
                    row[key] = v
                    if repaired:
                        fixes.append(key)
            except CellError as exc:
                out.rejected[f"{col}: {str(exc).split(':')[0]}"] += 1
                continue
            out.repairs.update(fixes)
            out.rows.append(row)
    return out


def flag_vibration(values: list[float]) -> tuple[dict, list[dict]]:
    """Sustained abnormal vibration windows over a 4 Hz series (rules ``door_vibration_*``).

    Returns ``(baseline, flags)``: baseline ``{"mean", "sd", "samples"}``;
    flags ``[{"start": i, "end": i, "samples": n, "peak_db": x}]`` (sample indexes, end inclusive).
    """
    nb, win = int(rule("door_vibration_baseline")), int(rule("door_vibration_window"))
    k, sustain = float(rule("door_vibration_sigma")), int(rule("door_vibration_sustain"))
    base = values[:nb]
    mean = sum(base) / len(base)
    sd = math.sqrt(sum((v - mean) ** 2 for v in base) / max(1, len(base) - 1))
    limit = mean + k * sd
    flags: list[dict] = []
    q: deque = deque()
    total = 0.0
    run_start, peak = None, 0.0
    for i, v in enumerate(values):
        q.append(v)
        total += v
        if len(q) > win:
            total -= q.popleft()
        abnormal = len(q) == win and total / win > limit
        if abnormal:
            if run_start is None:
                run_start, peak = i, v
            peak = max(peak, v)
        if (not abnormal or i == len(values) - 1) and run_start is not None:
            end = i if abnormal else i - 1
            if end - run_start + 1 >= sustain:
                flags.append({"start": run_start, "end": end, "samples": end - run_start + 1, "peak_db": peak})
            run_start = None
    return {"mean": mean, "sd": sd, "samples": len(base), "limit": limit}, flags


def ingest(device, *, start: dt.datetime, path: Path = DATA_FILE):
    """Ingest the series as ``device``'s statistics stream from device time ``start``; store a DoorAnalyticsRun.

    Raises ``abnormal_vibration`` alarms for flagged windows (cleared at their end).
    Returns the :class:`~liftsafe.monitoring.models.DoorAnalyticsRun`.
    """
    from .codes import AlarmType, alarm_text
    from .models import DoorAnalyticsRun, MonitoringDevice
    from .alarms import clear_alarms, raise_alarm

    series = read_series(path)
    baseline, flags = flag_vibration([r["vibration_db"] for r in series.rows])
    step = dt.timedelta(seconds=1 / HZ)
    when = lambda i: start + i * step  # noqa: E731
    now = timezone.now()
    with transaction.atomic():
        for f in flags:
            raise_alarm(device.elevator, AlarmType.ABNORMAL_VIBRATION, device=device, code="abnormal_vibration",
                        detail=alarm_text("vibration_s", window=rule("door_vibration_window"), limit=f"{baseline['limit']:.2f}",
                                          seconds=f"{f['samples'] / HZ:.0f}", peak=f"{f['peak_db']:.1f}"),
                        device_time=when(f["start"]), now=now)
            clear_alarms(device.elevator_id, [AlarmType.ABNORMAL_VIBRATION], now=now, reason=alarm_text("cleared_vibration"))
        last = series.rows[-1] if series.rows else {}
        MonitoringDevice.objects.filter(pk=device.pk).update(
            last_stats={**last, "ts": when(len(series.rows) - 1).isoformat()} if last else {})
        run = DoorAnalyticsRun.objects.create(
            device=device, source=path.name, started_at=now, series_start=start, rows=len(series.rows),
            repairs=dict(series.repairs), rejected=dict(series.rejected), baseline=baseline,
            flags=[{**f, "start": when(f["start"]).isoformat(), "end": when(f["end"]).isoformat()} for f in flags])
    return run
