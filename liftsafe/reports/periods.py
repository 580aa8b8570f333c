"""Report periods: a calendar month, quarter or year in the platform's local time.

A :class:`Period` is half-open ``[start, end)`` over *local dates* in the report's zone: the report
area's time zone (``Area.time_zone``, inherited, :mod:`liftsafe.core.zones`) while a report is
built inside :func:`report_zone`, else the deployment's ``settings.TIME_ZONE`` (``LIFTSAFE_TIME_ZONE``,
default Asia/Shanghai): a month report for New York covers New York's month;
:attr:`Period.start_at` / :attr:`Period.end_at` are the aware datetime bounds
used to filter timestamps (``start_at <= t < end_at``).

Labels: ``"2023-05"`` (month), ``"2023-Q2"`` (quarter), ``"2023"`` (year).
docs/domain §3.6: rates per month divide by :attr:`Period.months` (1, 3 or 12).
"""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

KINDS = ("month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RE_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_RE_YEAR = re.compile(r"^(\d{4})$")


_REPORT_ZONE: ContextVar[dt.tzinfo | None] = ContextVar("liftsafe_report_zone", default=None)


def local_tz() -> dt.tzinfo:
    """The report's local time zone: the one set by :func:`report_zone` (the report area's), else the
    deployment's (``settings.TIME_ZONE``)."""
    return _REPORT_ZONE.get() or ZoneInfo(settings.TIME_ZONE)


@contextmanager
def report_zone(tz: dt.tzinfo | None):
    """Within the block, :func:`local_tz` (period bounds, "today", local hours and months) is ``tz``
    (None: the deployment's). Nested blocks restore the outer zone on exit."""
    token = _REPORT_ZONE.set(tz)
    try:
        yield tz or ZoneInfo(settings.TIME_ZONE)
    finally:
        _REPORT_ZONE.reset(token)


def _add_months(d: dt.date, n: int) -> dt.date:
    """First-of-month date ``n`` months after ``d`` (``d`` must be a first of month)."""
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """One reporting period.

    Attributes:
        kind: ``"month"`` | ``"quarter"`` | ``"year"``.
        start: first local date (inclusive), always the 1st of a month.
        end: first local date after the period (exclusive).
    """

    kind: str
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, kind: str, year: int, index: int = 1) -> "Period":
        """The period of ``kind`` in ``year``; ``index`` is the month (1-12) or quarter (1-4); ignored for a year."""
        if kind == "month":
            start = dt.date(year, index, 1)
        elif kind == "quarter":
            start = dt.date(year, 3 * (index - 1) + 1, 1)
        elif kind == "year":
            start = dt.date(year, 1, 1)
        else:
            raise ValueError(f"unknown period kind {kind!r}")
        return cls(kind, start, _add_months(start, _MONTHS[kind]))

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> "Period":
        """The period of ``kind`` that contains local date ``day``."""
        index = {"month": day.month, "quarter": (day.month - 1) // 3 + 1, "year": 1}[kind]
        return cls.of(kind, day.year, index)

    @property
    def months(self) -> int:
        """Number of calendar months (1, 3 or 12)."""
        return _MONTHS[self.kind]

    @property
    def label(self) -> str:
        """``"2023-05"``, ``"2023-Q2"`` or ``"2023"``."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}"

    def previous(self) -> "Period":
        """The period of the same kind just before this one (2023-01 → 2022-12, 2023-Q1 → 2022-Q4)."""
        start = _add_months(self.start, -self.months)
        return Period(self.kind, start, self.start)

    def same_last_year(self) -> "Period":
        """The same period one year earlier (2023-05 → 2022-05)."""
        start = self.start.replace(year=self.start.year - 1)
        return Period(self.kind, start, _add_months(start, self.months))

    def month_starts(self) -> list[dt.date]:
        """The first day of each month in the period, in order."""
        return [_add_months(self.start, i) for i in range(self.months)]

    @property
    def start_at(self) -> dt.datetime:
        """Aware datetime of local midnight at :attr:`start`."""
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=local_tz())

    @property
    def end_at(self) -> dt.datetime:
        """Aware datetime of local midnight at :attr:`end` (exclusive bound)."""
        return dt.datetime.combine(self.end, dt.time.min, tzinfo=local_tz())

    def as_dict(self) -> dict:
        """``{"kind", "label", "start", "end", "months"}`` (ISO dates): the ReportData ``period``."""
        return {"kind": self.kind, "label": self.label, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "months": self.months}

    def __str__(self) -> str:
        return self.label


def parse_period(text: str | Period, today: dt.date | None = None, *, allow_current: bool = False) -> Period:
    """Parse ``"2023-05"``, ``"2023-Q2"`` (or ``"2023Q2"``) or ``"2023"`` into a :class:`Period`.

    A period must have ended by ``today`` (default: the local date now): a
    report of an unfinished period would change as data arrives. With
    ``allow_current=True`` (the live dashboard) the current, unfinished period
    is accepted; a period that starts after ``today`` never is.

    Raises:
        ValidationError: ``{"period": [reason]}`` for text that is not a
            period, a year outside 1900-9999, or a period in the future.
    """
    if isinstance(text, Period):
        period = text
    else:
        raw = (text or "").strip()
        period = None
        try:
            if m := _RE_MONTH.match(raw):
                if 1 <= int(m[2]) <= 12:
                    period = Period.of("month", int(m[1]), int(m[2]))
            elif m := _RE_QUARTER.match(raw):
                period = Period.of("quarter", int(m[1]), int(m[2]))
            elif m := _RE_YEAR.match(raw):
                period = Period.of("year", int(m[1]))
        except ValueError:
            period = None
        if period is None or period.start.year < 1900:
            raise ValidationError({"period": [_("“%(value)s” is not a period: use YYYY-MM, YYYY-Qn or YYYY.") % {"value": raw[:40]}]})
    today = today or timezone.localdate(timezone.now(), local_tz())
    if period.start > today:
        raise ValidationError({"period": [_("%(label)s is in the future.") % {"label": period.label}]})
    if not allow_current and period.end > today:
        raise ValidationError({"period": [_("%(label)s has not ended yet; a report covers a finished period.") % {"label": period.label}]})
    return period
