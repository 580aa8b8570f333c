"""Scheduled report generation: the report of the month, quarter and year that just ended, for each top-level
area and each area that has a regulator (platform as author, draft, ``scheduled=True``).

Catch-up: a period stays due for :data:`CATCHUP_DAYS` days after its end (not only on the 1st), so a worker that
was down on the first day of the month still produces the missing reports on its next hourly run. Idempotent: an
existing report (draft or published) is skipped, and two workers inserting the same report at once end with one
(``services.generate_report`` turns the loser's insert into an update), so any number of runs or workers produce
each report once."""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from liftsafe.core.models import Area, Profile, Role
from liftsafe.core.tasks import periodic

from .models import Report
from liftsafe.core.zones import area_zone

from .periods import Period

log = logging.getLogger(__name__)


CATCHUP_DAYS = 28  # < the shortest month: at most one just-ended period of each kind is due on any day


def due_periods(today: dt.date) -> list[Period]:
    """The most recently ended month, quarter and year (in that order) that ended within the last
    :data:`CATCHUP_DAYS` days before or on ``today`` (local date): on the 1st the periods that just ended, and
    for the following days the same ones again (the job skips reports that exist)."""
    out = []
    for kind in ("month", "quarter", "year"):
        last = Period.containing(kind, today).previous()
        if (today - last.end).days < CATCHUP_DAYS:
            out.append(last)
    return out


def report_areas() -> list[Area]:
    """Top-level areas and every area some regulator is responsible for, ordered by path."""
    ids = set(Area.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    ids |= set(Profile.objects.filter(role=Role.REGULATOR, area__isnull=False).values_list("area_id", flat=True))
    return list(Area.objects.filter(pk__in=ids).order_by("path"))


def generate_due_reports(now: dt.datetime | None = None) -> int:
    """Generate the reports due at ``now`` (default now) in each area's local time (``Area.time_zone``);
    returns how many were created."""
    from .services import generate_report

    now = now or timezone.now()
    language = getattr(settings, "LANGUAGE_CODE", "zh-hans")
    created = 0
    for area in report_areas():
        today = timezone.localtime(now, area_zone(area)).date()  # the period has ended in the area's local time
        for period in due_periods(today):
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
    """Hourly: generate the just-ended periods' missing reports (see :func:`due_periods`; skips existing ones)."""
    return generate_due_reports()
