"""Duration indicators: response, arrival and on-site times of entrapments (mean, median, p90, KPI rates;
SQL aggregates on PostgreSQL, Python elsewhere: the same numbers).

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

import datetime as dt
import statistics as pystats

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import DurationField, ExpressionWrapper, F, Q, QuerySet

from .base import percentile


def duration_stats(seconds: list[float], limit_s: float | None = None) -> dict:
    """``{"n", "mean", "median", "p90"}`` in minutes (2 decimals) of ``seconds``, plus ``within`` (count ≤ ``limit_s``)."""
    n = len(seconds)
    out = {"n": n, "mean": None, "median": None, "p90": None, "within": None}
    if n:
        out["mean"] = round(sum(seconds) / n / 60.0, 2)
        out["median"] = round(pystats.median(seconds) / 60.0, 2)
        out["p90"] = round(percentile(seconds, 90) / 60.0, 2)
    if limit_s is not None:
        out["within"] = sum(1 for s in seconds if s <= limit_s)
    return out


def _secs(td) -> float:
    return td.total_seconds() if isinstance(td, dt.timedelta) else float(td) / 1e6


DURATIONS = {"response": ("dispatched_at", "responded_at"), "arrival": ("dispatched_at", "arrived_at"),
             "on_site": ("arrived_at", "released_at")}


def _durations(cases: QuerySet) -> dict[str, list[float]]:
    """``{kind: [seconds]}`` for the :data:`DURATIONS` of every case in ``cases`` having both times
    (one query fetching the three difference columns; no case objects). The Python path (SQLite)."""
    exprs = {k: ExpressionWrapper(F(b) - F(a), output_field=DurationField()) for k, (a, b) in DURATIONS.items()}
    out: dict[str, list[float]] = {k: [] for k in DURATIONS}
    rows = cases.filter(Q(dispatched_at__isnull=False) | Q(arrived_at__isnull=False)).annotate(**{f"d_{k}": e for k, e in exprs.items()})
    for row in rows.values_list(*[f"d_{k}" for k in DURATIONS]):
        for k, v in zip(DURATIONS, row):
            if v is not None:
                out[k].append(_secs(v))
    return out


def duration_stats_python(cases: QuerySet, limits: dict[str, float | None]) -> dict[str, dict]:
    """``{kind: duration_stats(...)}`` for every kind of :data:`DURATIONS` over ``cases`` (values fetched, Python)."""
    durations = _durations(cases)
    return {k: duration_stats(durations[k], limits.get(k)) for k in DURATIONS}


def duration_stats_sql(cases: QuerySet, limits: dict[str, float | None]) -> dict[str, dict]:
    """Same as :func:`duration_stats_python`, computed by PostgreSQL in one statement (no values fetched):
    ``count``, ``sum`` (exact, microseconds), ``percentile_cont(0.5)`` (= ``statistics.median``),
    ``percentile_disc(0.9)`` (= nearest rank ``ceil(0.9 n)``, :func:`percentile`) and
    ``count(*) FILTER (WHERE d <= limit)``; NULL differences (a time missing) are ignored by every aggregate.

    PostgreSQL only (ordered-set aggregates); shapes as :func:`duration_stats`.
    """
    qs = cases.filter(Q(dispatched_at__isnull=False) | Q(arrived_at__isnull=False)).values(
        "dispatched_at", "responded_at", "arrived_at", "released_at")
    try:
        inner, params = qs.query.sql_with_params()
    except EmptyResultSet:  # nothing can match (e.g. an empty scope): no statement at all
        return duration_stats_python(qs.none(), limits)
    cols, sel, args = [], [], []
    for k, (a, b) in DURATIONS.items():
        # date_part (double) rounded to whole microseconds: exact for any duration below ~285 years, and cheaper
        # than EXTRACT's numeric arithmetic (bench: 0.5 instead of 0.65-0.85 s for a province month)
        cols.append(f"round(date_part('epoch', q.{b} - q.{a}) * 1000000)::bigint AS {k}")
        sel += [f"count({k})", f"sum({k})", f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {k})",
                f"percentile_disc(0.9) WITHIN GROUP (ORDER BY {k})"]
        if limits.get(k) is not None:
            sel.append(f"count(*) FILTER (WHERE {k} <= %s)")
            args.append(int(round(limits[k] * 1_000_000)))
    sql = f"SELECT {', '.join(sel)} FROM (SELECT {', '.join(cols)} FROM ({inner}) q) d"
    with connections[qs.db].cursor() as cur:
        cur.execute(sql, [*args, *params])  # the SELECT's limits come before the subquery's parameters
        row = list(cur.fetchone())
    out = {}
    for k in DURATIONS:
        n, s, med, p90 = row[:4]
        del row[:4]
        st = {"n": n, "mean": None, "median": None, "p90": None, "within": None}
        if n:
            st["mean"] = round(int(s) / 1e6 / n / 60.0, 2)
            st["median"] = round(float(med) / 1e6 / 60.0, 2)
            st["p90"] = round(int(p90) / 1e6 / 60.0, 2)
        if limits.get(k) is not None:
            st["within"] = row.pop(0)
        out[k] = st
    return out


def rescue_duration_stats(cases: QuerySet, limits: dict[str, float | None]) -> dict[str, dict]:
    """Rescue-time statistics of ``cases`` (already narrowed to entrapments): SQL aggregates on PostgreSQL,
    Python elsewhere (SQLite has no ordered-set aggregates). Both give the same numbers."""
    if connections[cases.db].vendor == "postgresql":
        return duration_stats_sql(cases, limits)
    return duration_stats_python(cases, limits)
