"""Hazard background jobs: overdue notifications and automatic entrapment leads (idempotent)."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from liftsafe.core.models import Area
from liftsafe.core.tasks import periodic
from liftsafe.registry.models import Organisation
from liftsafe.rules import rule

from .models import OPEN_STATES, Hazard

BATCH = 5000


def _notify(**kwargs):
    from liftsafe.core.notifications import notify

    return notify(**kwargs)


def notify_overdue(today: dt.date | None = None) -> int:
    """Notify the responsible unit and the area's regulators once per overdue threshold per hazard.

    Thresholds: rule ``hazard_overdue_thresholds_days`` (days past the deadline;
    0 = the day after the deadline). A hazard that crosses several thresholds
    between two runs is notified for the highest one only. Each hazard is
    claimed by raising ``overdue_notified`` in the same transaction as its
    notification, and ``notify`` gets a dedupe key per hazard per threshold, so
    two runs (or two workers) never send one twice. Returns the number of
    notifications created.
    """
    today = today or timezone.localdate()
    thresholds = sorted(int(t) for t in rule("hazard_overdue_thresholds_days"))
    sent = 0
    for idx in range(len(thresholds), 0, -1):
        days = thresholds[idx - 1]
        cutoff = today - dt.timedelta(days=days)
        base = Hazard.objects.filter(state__in=OPEN_STATES, deadline__lt=cutoff, overdue_notified__lt=idx)
        while True:
            with transaction.atomic():
                rows = list(base.select_for_update(skip_locked=True, of=("self",))
                            .values_list("id", "title", "deadline", "level", "responsible_unit_id", "area_id", "elevator__source_id")
                            .order_by("id")[:BATCH])
                if not rows:
                    break
                Hazard.objects.filter(pk__in=[r[0] for r in rows]).update(overdue_notified=idx)
                orgs = Organisation.objects.in_bulk({r[4] for r in rows if r[4]})
                areas = Area.objects.in_bulk({r[5] for r in rows})
                for pk, title, deadline, level, unit_id, area_id, device in rows:
                    late = (today - deadline).days
                    subject = f"隐患 #{pk} 已逾期 {late} 天 / hazard #{pk} overdue {late} d"
                    body = f"{title}\n电梯 {device}; 整改期限 {deadline}; 级别 {level}"
                    payload = {"hazard_id": pk, "threshold_days": days, "deadline": deadline.isoformat(), "level": level}
                    n = _notify(kind="hazards.overdue", subject=subject, body=body, organisation=orgs.get(unit_id), area=areas.get(area_id),
                                payload=payload, dedupe_key=f"hazard:{pk}:overdue:{days}")
                    sent += n is not None
            if len(rows) < BATCH:
                break
    return sent


@periodic(seconds=3600, name="hazards.notify_overdue")
def notify_overdue_job() -> int:
    return notify_overdue()


@periodic(seconds=900, name="hazards.entrapment_leads")
def entrapment_leads_job() -> int:
    from .services import raise_entrapment_leads

    return raise_entrapment_leads()
