"""Scheduled report generation: on the first day of each month, quarter and year, the report of the period
that just ended, for each top-level area and each area that has a regulator (platform as author, draft,
``scheduled=True``). Idempotent: an existing report (draft or published) is skipped, so any number of runs
or workers produce each report once."""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from liftsafe.core.models import Area, Profile, Role
from liftsafe.core.tasks import periodic

from .models import Report
from .periods import Period, local_tz

log = logging.getLogger(__name__)


def due_periods(today: dt.date) -> list[Period]:
    """The periods that ended just before ``today``, when ``today`` is the 1st of a month (else [])."""
    if today.day != 1:
        return []
    last = today - dt.timedelta(days=1)
    out = [Period.containing("month", last)]
    if today.month in (1, 4, 7, 10):
        out.append(Period.containing("quarter", last))
    if today.month == 1:
        out.append(Period.containing("year", last))
    return out


def report_areas() -> list[Area]:
    """Top-level areas and every area some regulator is responsible for, ordered by path."""
    ids = set(Area.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    ids |= set(Profile.objects.filter(role=Role.REGULATOR, area__isnull=False).values_list("area_id", flat=True))
    return list(Area.objects.filter(pk__in=ids).order_by("path"))


def generate_due_reports(now: dt.datetime | None = None) -> int:
    """Generate the reports due at ``now`` (default now); returns how many were created."""
    from .services import generate_report

    now = now or timezone.now()
    today = timezone.localtime(now, local_tz()).date()
    language = getattr(settings, "LANGUAGE_CODE", "zh-hans")
    created = 0
    for period in due_periods(today):
        for area in report_areas():
            if Report.objects.filter(area=area, period_kind=period.kind, period_start=period.start, language=language).exists():
                continue
            try:
                generate_report(None, area_code=area.code, period=period, language=language, scheduled=True, now=now)
                created += 1
            except Exception:  # one failing area must not stop the others; logged, retried next run
                log.exception("scheduled report %s %s failed", area.code, period.label)
    return created


@periodic(seconds=3600, name="reports.generate_due_reports")
def scheduled_reports() -> int:
    """Hourly: on the first day of a period, generate the just-ended period's reports (skips existing ones)."""
    return generate_due_reports()
