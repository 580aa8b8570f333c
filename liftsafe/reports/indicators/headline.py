"""Headline indicators of one period: fleet, cases, faults, entrapments and their rates, durations, hazards.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _l

from liftsafe.rules import rule

from ..periods import Period
from .base import NOT_FAULT_Q, FAULT_Q, ENTRAPMENT_Q, _Base, pct
from .durations import rescue_duration_stats


# --------------------------------------------------------------------------- headline numbers (one period)
HEADLINE_LABELS = {
    "elevators_in_use": (_l("Elevators in use"), "count"),
    "cases": (_l("Cases received"), "count"),
    "faults": (_l("Faults (entrapments and fault reports, excluding false alarms)"), "count"),
    "entrapments": (_l("Entrapments"), "count"),
    "false_alarms": (_l("False alarms and cancelled cases"), "count"),
    "people_released": (_l("People released"), "count"),
    "fault_rate": (_l("Fault rate"), "%"),
    "entrapment_rate": (_l("Entrapment rate"), "%"),
    "monthly_entrapment_rate": (_l("Monthly entrapment rate"), "%"),
    "entrapments_per_10k": (_l("Entrapments per 10,000 elevators"), "per 10k"),
    "response_mean": (_l("Response time, mean"), "min"),
    "response_median": (_l("Response time, median"), "min"),
    "response_p90": (_l("Response time, 90th percentile"), "min"),
    "response_kpi_rate": (_l("3-minute response rate"), "%"),
    "arrival_mean": (_l("Arrival time, mean"), "min"),
    "arrival_median": (_l("Arrival time, median"), "min"),
    "arrival_p90": (_l("Arrival time, 90th percentile"), "min"),
    "arrival_kpi_rate": (_l("30-minute arrival rate"), "%"),
    "on_site_mean": (_l("On-site rescue time, mean"), "min"),
    "on_site_median": (_l("On-site rescue time, median"), "min"),
    "on_site_p90": (_l("On-site rescue time, 90th percentile"), "min"),
    "repeat_elevators": (_l("Repeat elevators"), "count"),
    "hazards_filed": (_l("Hazards filed"), "count"),
    "rectification_rate": (_l("Hazard rectification rate"), "%"),
    "on_time_rate": (_l("Hazard on-time rectification rate"), "%"),
    "recurrence_rate": (_l("Hazard recurrence rate"), "%"),
}


def headline(base: _Base, period: Period, fleet: int, now: dt.datetime | None = None) -> dict[str, tuple]:
    """``{indicator key: (value, numerator, denominator)}`` for ``period`` (see module docstring).

    Aggregates: one COUNT/SUM over the period's cases, one duration column per
    duration kind, one hazard and one re-check aggregate.
    """
    from liftsafe.hazards.models import Recheck
    from liftsafe.hazards.models import State as HState

    cases = base.cases(period)
    now = now or timezone.now()
    r_kpi, a_kpi = rule("report_response_kpi_s"), rule("report_arrival_kpi_s")

    def kpi_due(field: str, limit_s: float) -> Q:
        # a dispatched entrapment is judged once its time is recorded, once the limit has passed, or once the period
        # ended: a missing time then counts as a miss
        q = Q(dispatched_at__isnull=False)
        if now < period.end_at:
            q &= Q(**{f"{field}__isnull": False}) | Q(dispatched_at__lte=now - dt.timedelta(seconds=limit_s))
        return ENTRAPMENT_Q & q

    c = cases.aggregate(cases=Count("id"), faults=Count("id", filter=FAULT_Q), entrapments=Count("id", filter=ENTRAPMENT_Q),
                        not_faults=Count("id", filter=NOT_FAULT_Q), people=Sum("released_count", filter=FAULT_Q),
                        resp_due=Count("id", filter=kpi_due("responded_at", r_kpi)),
                        arr_due=Count("id", filter=kpi_due("arrived_at", a_kpi)))
    months = period.months
    out: dict[str, tuple] = {
        "elevators_in_use": (fleet, fleet, None),
        "cases": (c["cases"], c["cases"], None),
        "faults": (c["faults"], c["faults"], None),
        "entrapments": (c["entrapments"], c["entrapments"], None),
        "false_alarms": (c["not_faults"], c["not_faults"], None),
        "people_released": (c["people"] or 0, c["people"] or 0, None),
        "fault_rate": (pct(c["faults"], fleet), c["faults"], fleet),
        "entrapment_rate": (pct(c["entrapments"], fleet), c["entrapments"], fleet),
        "monthly_entrapment_rate": (pct(c["entrapments"], fleet * months, digits=3), c["entrapments"], fleet * months),
        "entrapments_per_10k": (pct(c["entrapments"], fleet, scale=10000.0), c["entrapments"], fleet),
    }
    limits = {"response": r_kpi, "arrival": a_kpi, "on_site": None}
    due = {"response": c["resp_due"], "arrival": c["arr_due"]}
    stats = rescue_duration_stats(cases.filter(ENTRAPMENT_Q), limits)  # rescue times: entrapments only (docs/domain §3.4)
    for kind, limit in limits.items():
        st = stats[kind]
        for stat in ("mean", "median", "p90"):
            out[f"{kind}_{stat}"] = (st[stat], None, st["n"])
        if limit is not None:
            # denominator: the dispatched entrapments due (kpi_due), not only those with the time recorded
            out[f"{kind}_kpi_rate"] = (pct(st["within"], due[kind]), st["within"], due[kind])
    repeat_min = int(rule("report_repeat_min_entrapments"))
    rep = (cases.filter(ENTRAPMENT_Q).values("elevator_id").annotate(n=Count("id")).filter(n__gte=repeat_min)
           .order_by().count())
    out["repeat_elevators"] = (rep, rep, None)
    hz = base.hazards()
    filed = hz.filter(filed_at__gte=period.start_at, filed_at__lt=period.end_at)
    h = filed.aggregate(filed=Count("id"), closed=Count("id", filter=Q(state=HState.CLOSED, closed_at__lt=period.end_at)))
    closed_in = hz.filter(state=HState.CLOSED, closed_at__gte=period.start_at, closed_at__lt=period.end_at).aggregate(
        n=Count("id"), on_time=Count("id", filter=Q(closed_on_time=True)))
    rc = (Recheck.objects.filter(hazard__in=hz.values("pk"), checked_at__gte=period.start_at, checked_at__lt=period.end_at)
          .exclude(result=Recheck.Result.PENDING)
          .aggregate(done=Count("id"), rec=Count("id", filter=Q(result=Recheck.Result.RECURRENCE))))
    out["hazards_filed"] = (h["filed"], h["filed"], None)
    out["rectification_rate"] = (pct(h["closed"], h["filed"]), h["closed"], h["filed"])
    out["on_time_rate"] = (pct(closed_in["on_time"], closed_in["n"]), closed_in["on_time"], closed_in["n"])
    out["recurrence_rate"] = (pct(rc["rec"], rc["done"]), rc["rec"], rc["done"])
    return out
