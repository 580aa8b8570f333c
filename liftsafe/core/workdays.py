"""Official Chinese working days (docs/domain §15.3), in one place for every app.

Working days follow the State Council's yearly holiday notice with its make-up working days (调休), through the
maintained ``chinese-calendar`` package. For a year the package does not know yet (the notice is published late
in the year before), the answer falls back to Monday-Friday and says so (``calendar_known`` False): never a guess
at holidays, never a crash.
"""
from __future__ import annotations

import datetime as dt


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """``(working, calendar_known)`` for ``day``; ``calendar_known`` False means weekdays-only was used."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False
