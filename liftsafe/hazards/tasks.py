"""Hazard background jobs: overdue notifications and automatic entrapment leads (idempotent)."""
from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Q

from liftsafe.core.models import Area
from liftsafe.core.notifications import notify_many
from liftsafe.core.tasks import periodic
from liftsafe.core.zones import before_local_today_q, local_dates_agree, local_today
from liftsafe.registry.models import Organisation
from liftsafe.rules import rule

from .models import OPEN_STATES, Hazard

BATCH = 5000


def dedupe_key(hazard_id: int, deadline: dt.date, days: int) -> str:
    """Once-only key of an overdue notification: per hazard, per deadline (a new deadline — extended,
    or set when a recurrence reopens the hazard — starts a new round), per threshold."""
    return f"hazard:{hazard_id}:overdue:{deadline.isoformat()}:{days}"


def notify_overdue(today: dt.date | None = None) -> int:
    """Notify the responsible unit and the area's regulators once per overdue threshold per hazard.

    Thresholds: rule ``hazard_overdue_thresholds_days`` (days past the deadline;
    0 = from the day after the deadline). A hazard that crosses several thresholds
    between two runs is notified for the highest one only (a lower one is skipped
    once a higher one was sent). Once-only is the outbox's unique ``dedupe_key``
    (:func:`dedupe_key`), so two runs — or two workers — never send one twice; no
    per-hazard bookkeeping is stored. One notification addresses both recipients
    (``organisation`` = responsible unit, ``area`` = the hazard's area → its regulators).
    Returns the number of notifications queued.
    """
    thresholds = sorted(int(t) for t in rule("hazard_overdue_thresholds_days"))
    local = today is None  # "today" where each lift is (issue 16): per area zone unless the caller fixes the date
    if local:
        today = local_dates_agree()  # every zone on the same date (most of the day): one date, the fast path
    if connection.vendor == "postgresql" and today is not None:
        return _notify_overdue_pg(today, thresholds)
    from liftsafe.core.models import Notification

    sent = 0
    for idx in range(len(thresholds) - 1, -1, -1):
        days = thresholds[idx]
        higher = thresholds[idx:]
        past = Q(deadline__lt=today - dt.timedelta(days=days)) if today is not None else before_local_today_q("deadline", days=days)
        qs = (Hazard.objects.filter(past, state__in=OPEN_STATES)
              .values_list("id", "title", "deadline", "level", "responsible_unit_id", "area_id", "elevator__source_id").order_by("id"))
        last = 0
        while True:
            rows = list(qs.filter(id__gt=last)[:BATCH])
            if not rows:
                break
            last = rows[-1][0]
            keys = {r[0]: [dedupe_key(r[0], r[2], t) for t in higher] for r in rows}
            done = set(Notification.objects.filter(dedupe_key__in=[k for ks in keys.values() for k in ks]).values_list("dedupe_key", flat=True))
            rows = [r for r in rows if not done.intersection(keys[r[0]])]
            orgs = Organisation.objects.in_bulk({r[4] for r in rows if r[4]})
            areas = Area.objects.in_bulk({r[5] for r in rows})
            items = []
            for pk, title, deadline, level, unit_id, area_id, device in rows:
                late = ((today or local_today(area_id)) - deadline).days
                items.append(dict(
                    kind="hazards.overdue", subject=f"隐患 #{pk} 已逾期 {late} 天 / hazard #{pk} overdue {late} d",
                    body=f"{title}\n电梯 {device}; 整改期限 {deadline}; 级别 {level}",
                    organisation=orgs.get(unit_id), area=areas.get(area_id), dedupe_key=dedupe_key(pk, deadline, days),
                    payload={"hazard_id": pk, "threshold_days": days, "deadline": deadline.isoformat(), "level": level}))
            with transaction.atomic():
                sent += notify_many(items)
    return sent


_PG_SQL = """
INSERT INTO {notification} (kind, subject, body, payload, dedupe_key, status, attempts, delivered_channels,
                            next_attempt_at, last_error, created_at, organisation_id, area_id)
SELECT 'hazards.overdue',
       left('隐患 #' || h.id || ' 已逾期 ' || (%(today)s::date - h.deadline) || ' 天 / hazard #' || h.id
            || ' overdue ' || (%(today)s::date - h.deadline) || ' d', 255),
       h.title || E'\\n电梯 ' || e.source_id || '; 整改期限 ' || to_char(h.deadline, 'YYYY-MM-DD') || '; 级别 ' || h.level,
       jsonb_build_object('hazard_id', h.id, 'threshold_days', %(days)s, 'deadline', to_char(h.deadline, 'YYYY-MM-DD'), 'level', h.level),
       'hazard:' || h.id || ':overdue:' || to_char(h.deadline, 'YYYY-MM-DD') || ':' || %(days)s,
       'pending', 0, '[]'::jsonb, now(), '', now(), h.responsible_unit_id, h.area_id
FROM {hazard} h JOIN {elevator} e ON e.id = h.elevator_id
WHERE h.state IN ('open', 'rectifying', 'submitted') AND h.deadline < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM {notification} n WHERE n.dedupe_key IN ({keys}))
ON CONFLICT (dedupe_key) DO NOTHING
"""
_PG_KEY = "'hazard:' || h.id || ':overdue:' || to_char(h.deadline, 'YYYY-MM-DD') || ':{days}'"


def _notify_overdue_pg(today: dt.date, thresholds: list[int]) -> int:
    """PostgreSQL path of :func:`notify_overdue`: per threshold one ``INSERT … SELECT … ON CONFLICT
    (dedupe_key) DO NOTHING`` queues the same outbox rows ``notify`` would, server side (an anti-join on
    the dedupe keys skips what was sent) — 100,000 overdue hazards in seconds, not minutes."""
    from liftsafe.core.models import Notification
    from liftsafe.registry.models import Elevator

    sent = 0
    with transaction.atomic(), connection.cursor() as cur:
        for idx in range(len(thresholds) - 1, -1, -1):
            days = thresholds[idx]
            keys = ", ".join(_PG_KEY.format(days=int(t)) for t in thresholds[idx:])  # index probes per hazard
            sql = _PG_SQL.format(hazard=Hazard._meta.db_table, notification=Notification._meta.db_table,
                                 elevator=Elevator._meta.db_table, keys=keys)
            cur.execute(sql, {"cutoff": today - dt.timedelta(days=days), "today": today, "days": days})
            sent += max(cur.rowcount, 0)
    return sent


@periodic(seconds=3600, name="hazards.notify_overdue")
def notify_overdue_job() -> int:
    return notify_overdue()


@periodic(seconds=900, name="hazards.entrapment_leads")
def entrapment_leads_job() -> int:
    from .services import raise_entrapment_leads

    return raise_entrapment_leads()
