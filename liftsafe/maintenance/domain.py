"""Pure maintenance rules: tier nesting, due dates, overdue, evidence flags, working days, actions.

No database access here (except :func:`require`, which reads the user's profile). Sources:
docs/domain §5 (T5002 tiers, nested), §13 (cycles), §15.1 (overdue rule, on-site proof, fraud patterns),
§15.3 (working days with 调休).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Iterable

from django.utils.translation import gettext_lazy as _

from liftsafe.core.workdays import is_working_day
from liftsafe.rules import rule

from .catalogue import TIERS

# --------------------------------------------------------------------------- roles
#: The actions (visit.plan, visit.check_in, … oversight.view) are declared in liftsafe.core.permissions.ACTIONS.
def role_of(user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return "admin"
    profile = getattr(user, "profile", None)
    return profile.role if profile else None


# --------------------------------------------------------------------------- tiers and due dates
def depth(tier: str) -> int:
    """0 half-monthly … 3 yearly. A visit of depth d covers every tier of depth ≤ d (docs/domain §5)."""
    return TIERS.index(tier)


def covers(done_tier: str, tier: str) -> bool:
    """True if a visit of ``done_tier`` counts as a visit of ``tier`` (same or deeper; docs/domain §5)."""
    return depth(done_tier) >= depth(tier)


def next_due(completed: Iterable[tuple[dt.date, str]], *, start: dt.date) -> dict[str, dt.date]:
    """Next due date per tier, from completed visits ``[(date, tier), …]``.

    Each tier's due date = last completed visit of that tier **or a deeper one** + the tier's interval
    (rule ``maintenance_interval_days``; docs/domain §5, §13). An early visit therefore moves the next due
    date earlier, never later. A tier never done is due on ``start`` (e.g. the contract start).
    """
    intervals = rule("maintenance_interval_days")
    done = list(completed)
    out = {}
    for tier in TIERS:
        last = max((d for d, t in done if covers(t, tier)), default=None)
        out[tier] = start if last is None else last + dt.timedelta(days=intervals[tier])
    return out


def tier_due(due: dict[str, dt.date], on: dt.date) -> str | None:
    """The deepest tier due on or before ``on`` (the visit to plan covers the lower ones), or None."""
    due_now = [t for t in TIERS if due[t] <= on]
    return due_now[-1] if due_now else None


def days_since(last: dt.date | None, today: dt.date) -> int | None:
    return None if last is None else (today - last).days


def is_overdue(last_visit: dt.date | None, today: dt.date) -> bool:
    """Overdue = more than ``maintenance_overdue_days`` (15) calendar days since the last visit of any tier
    (every tier covers the half-monthly one). Holidays give no extra time. Source: docs/domain §15.1.
    A lift never visited is overdue (there is no visit to count from)."""
    return last_visit is None or (today - last_visit).days > rule("maintenance_overdue_days")


# --------------------------------------------------------------------------- working days (docs/domain §15.3)
@dataclass
class WorkingDay:
    day: dt.date
    calendar_known: bool  # False: the official calendar for that year is not published; weekends only


def working_day_on_or_before(day: dt.date, *, not_before: dt.date | None = None) -> WorkingDay:
    """The last working day on or before ``day`` (a plan moves a visit **earlier** before a holiday, never
    later; docs/domain §15.1). Stops at ``not_before`` (returns it) if no working day lies in between."""
    known = True
    d = day
    while True:
        ok, k = is_working_day(d)
        known = known and k
        if ok or (not_before is not None and d <= not_before):
            return WorkingDay(d, known)
        d -= dt.timedelta(days=1)


# --------------------------------------------------------------------------- evidence flags (docs/domain §15.1)
FLAG_LABELS = {
    "short_dwell": _("visit shorter than the minimum dwell time"),
    "far_from_lift": _("checked in far from the lift"),
    "no_location": _("no phone location at check-in"),
    "one_device": _("both workers on one device"),
    "no_second_worker": _("no second worker"),
    "no_valid_certificate": _("no worker with a valid certificate on the visit date"),
    "expired_certificate": _("a worker's certificate is not valid on the visit date"),
    "back_filled": _("back-filled (submitted long after the visit)"),
}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, Earth radius 6,371,008.8 m)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@dataclass
class Evidence:
    checked_in_at: dt.datetime | None
    checked_out_at: dt.datetime | None
    location: tuple[float, float] | None  # phone at check-in
    lift_location: tuple[float, float] | None
    devices: tuple[str, str]  # first and second worker's device ids ("" = unknown)
    second_worker: bool
    certificates_valid: tuple[bool, ...]  # per worker: holds a certificate valid on the visit date
    received_at: dt.datetime | None = None
    claimed_started_at: dt.datetime | None = None


def evidence_flags(e: Evidence) -> list[str]:
    """Flags for the regulator (docs/domain §15.1: 30-second visits, two workers one phone, check-in far away,
    a cardboard second worker, uncertified workers, paper records). Never blocking; sorted codes of
    :data:`FLAG_LABELS`. Thresholds: rules ``maintenance_min_dwell_s``, ``maintenance_checkin_radius_m``,
    ``maintenance_backfill_after_h``."""
    flags = set()
    if e.checked_in_at and e.checked_out_at and (e.checked_out_at - e.checked_in_at).total_seconds() < rule("maintenance_min_dwell_s"):
        flags.add("short_dwell")
    if e.location is None:
        flags.add("no_location")
    elif e.lift_location is not None and distance_m(*e.location, *e.lift_location) > rule("maintenance_checkin_radius_m"):
        flags.add("far_from_lift")
    if not e.second_worker:
        flags.add("no_second_worker")
    elif e.devices[0] and e.devices[0] == e.devices[1]:
        flags.add("one_device")
    if not any(e.certificates_valid):
        flags.add("no_valid_certificate")
    if not all(e.certificates_valid):
        flags.add("expired_certificate")
    if e.received_at and e.claimed_started_at and \
            (e.received_at - e.claimed_started_at).total_seconds() > rule("maintenance_backfill_after_h") * 3600:
        flags.add("back_filled")
    return sorted(flags)
