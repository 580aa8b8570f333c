"""Report writes: generate (or regenerate a draft) and publish. Every write validates fully in one transaction.

Who may: platform administrators, and regulators (``Role.REGULATOR``) whose
area covers the report's area. Everyone else gets ``PermissionDenied``; an
area outside a regulator's scope is refused like an unknown code
(``ValidationError({"area": …})``). The platform itself (``user`` None, the
scheduled job) may generate any area's report.
"""
from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.models import Area, Role
from liftsafe.core.permissions import require

from . import selectors
from .models import Report
from liftsafe.core.zones import area_zone

from .periods import Period, local_tz, parse_period, report_zone


class _Platform:
    """The platform acting for the scheduled job: sees everything, like an administrator."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None
    _liftsafe_scope = None


def _platform_user():
    from liftsafe.core.scoping import Scope

    u = _Platform()
    u._liftsafe_scope = Scope(role=Role.ADMIN, is_admin=True)
    return u


def _check(user, area_code: str | None) -> Area:
    if user is not None:
        require(user, "report.manage")
    acting = user if user is not None else _platform_user()
    area = selectors.resolve_area(acting, area_code)
    if area is None:
        raise ValidationError({"area": [_("Choose an area for the report.")]})
    return area


def generate_report(user, *, area_code: str | None, period: str | Period, language: str = "zh-hans",
                    scheduled: bool = False, now: dt.datetime | None = None) -> Report:
    """Compute and store the report of ``area_code`` × ``period`` × ``language`` (a draft).

    An existing draft is regenerated (its snapshot replaced, generated_at/by
    updated); a published report is never changed. Two simultaneous first
    generations of the same report end with one row: the insert that loses
    on the unique constraint becomes an update of the winner's row.

    Args:
        user: the acting user, or None for the platform (scheduled job).
        period: a finished period (label or :class:`Period`).

    Returns:
        The stored :class:`Report`.

    Raises:
        PermissionDenied: ``user`` is not an administrator or regulator.
        ValidationError: ``{"area"|"period"|"language": …}`` bad input; ``{"status": …}`` the report is
            already published.
    """
    now = now or timezone.now()
    area = _check(user, area_code)
    with report_zone(area_zone(area)):  # "finished" in the report area's local time
        p = parse_period(period, today=timezone.localtime(now, local_tz()).date())
    acting = user if user is not None else _platform_user()
    with transaction.atomic():
        existing = (Report.objects.select_for_update()
                    .filter(area=area, period_kind=p.kind, period_start=p.start, language=language).first())
        if existing is not None and existing.is_published:
            raise ValidationError({"status": [_("The report %(label)s is published and can no longer be regenerated.")
                                              % {"label": p.label}]})
        data = selectors.build(acting, area_code=area.code, period=p, language=language, now=now)

        def fill(report: Report) -> Report:
            report.period_end, report.period_label = p.end, p.label
            report.data, report.generated_at, report.scheduled = data, now, scheduled
            report.generated_by = user if isinstance(user, get_user_model()) else None
            return report

        if existing is not None:
            fill(existing).save()
            return existing
        report = fill(Report(area=area, period_kind=p.kind, period_start=p.start, language=language))
        try:
            with transaction.atomic():  # savepoint: a lost insert race leaves the outer transaction usable
                report.save()
        except IntegrityError:
            # another worker inserted the same report since our read (unique area × period × language): update
            # its row instead (waits for its lock); a report published meanwhile is left alone
            report = (Report.objects.select_for_update()
                      .get(area=area, period_kind=p.kind, period_start=p.start, language=language))
            if report.is_published:
                raise ValidationError({"status": [_("The report %(label)s is published and can no longer be regenerated.")
                                                  % {"label": p.label}]}) from None
            fill(report).save()
    return report


def publish_report(user, report: Report, now: dt.datetime | None = None) -> Report:
    """Publish a draft: it becomes immutable; records who and when.

    Raises:
        PermissionDenied: ``user`` is not an administrator or a regulator covering the report's area.
        ValidationError: ``{"status": …}`` already published; ``{"area": …}`` area outside the regulator's scope.
    """
    _check(user, report.area.code)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.is_published:
            raise ValidationError({"status": [_("The report is already published.")]})
        report.status = Report.Status.PUBLISHED
        report.published_at = now or timezone.now()
        report.published_by = user
        report.save()
    return report
