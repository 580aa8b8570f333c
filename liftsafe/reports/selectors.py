"""Report numbers: every indicator of issue 6, computed by database aggregates, scoped to the caller.

One definition per number, shared by the dashboard, the report snapshot, the
API and every rendering. :func:`report_data` returns the
:class:`~liftsafe.reports.schema.ReportData` dict (see ``schema.py`` for the
shape); :func:`dashboard` is the same for the current, unfinished period.

Scope: the numbers cover only what the caller may see —
``registry.selectors.scope_elevators`` narrows elevators, and cases through
``elevator__`` (a maintenance unit: its contracted elevators; a regulator: its
area); hazards through ``hazards.selectors.hazards_for``. An area outside
the caller's scope is refused exactly like an unknown code.

Area: elevators (the fleet) by their registry area now; cases by their own
``EmergencyCase.area`` — the area where the case happened, set at intake — so a
city or district report reads only that area's cases (index
``emergency_case_area_recv_idx``) without joining elevators, and a re-coded
elevator's old cases stay in the area where they happened.

Definitions (the appendix of every report repeats them; see docs/reports.md):

- *elevators in use*: elevators in scope and area in use at the END of each
  period (:func:`fleet_q`): installation date before the period's end or
  unknown; status ``in_use`` now, or ``scrapped`` with ``status_date`` on/after
  the period's end; no ``LifecycleEvent`` "scrapped" before the period's end.
  The previous and last-year periods get their own fleet.
- *case*: an emergency case received (``received_at``) in the period.
- *fault* (故障次数): a case of type entrapment or fault report that is not a
  false alarm or cancelled (enquiries are not faults). *Entrapment*: a fault of
  type entrapment (困人).
- *fault rate* = faults ÷ elevators in use × 100% (CPASE M001-2015, FACTS §3.6);
  *entrapment rate* = entrapments ÷ elevators in use × 100%; *monthly entrapment
  rate* = entrapment rate ÷ months in the period (Jinan, FACTS §3.6);
  *per 10,000 elevators* = entrapments ÷ elevators in use × 10,000 (FACTS §3.6).
- durations from the cached first-occurrence times of the case (FACTS §3.4,
  ``emergency.selectors.durations``): response = responded − dispatched,
  arrival = arrived − dispatched, on-site = released − arrived; over the
  *entrapments* of the period having both times (rescue of trapped passengers:
  TSG T5002 Art. 5; fault reports, enquiries, false alarms and cancelled cases
  are not counted); mean, median, p90 (nearest rank), minutes. On PostgreSQL
  computed by SQL aggregates, elsewhere in Python: the same numbers.
- 3-minute response rate = dispatched entrapments responded ≤ ``report_response_kpi_s``
  after dispatch ÷ dispatched entrapments; 30-minute arrival rate likewise with
  arrival and ``report_arrival_kpi_s`` (FACTS §3.4 Shandong KPIs). A dispatched
  entrapment without the time recorded counts as a miss once the limit has
  passed or the period has ended (before that, in a live period, it is not yet
  in the denominator).
- hazards: *filed* = accepted hazards (not leads/dismissed) filed in the period;
  *rectification rate* = those of them closed before the period's end ÷ filed;
  *on-time rate* = hazards closed in the period on or before their deadline ÷
  hazards closed in the period; *recurrence rate* = re-checks done in the
  period that found a recurrence ÷ re-checks done in the period (FACTS §7).

On PostgreSQL the report's queries run in one read-only transaction with
``SET LOCAL work_mem`` = rule ``report_pg_work_mem`` (sorts and hashes of the
period's GROUP BYs stay in memory).

Percentages are rounded to 2 decimals (raw numerator and denominator kept in
each indicator), minutes to 2 decimals. Every list is ordered
deterministically (value, then code/name, then id).
"""
from __future__ import annotations

import datetime as dt
import math
import re
import statistics as pystats
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections, transaction
from django.db.models import Case, CharField, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractHour, ExtractMonth, ExtractYear, TruncDate
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import pgettext

from liftsafe.core.models import AREA_ROLES, Area, Role
from liftsafe.core.scoping import Scope, scope_of
from liftsafe.emergency import domain
from liftsafe.emergency.causes import CAUSES
from liftsafe.emergency.models import CaseType, Channel, EmergencyCase
from liftsafe.registry.codes import CATEGORY_CHOICES, PLACE_TYPE_CHOICES
from liftsafe.registry.models import Elevator, MaintenanceContract, Organisation
from liftsafe.registry.selectors import scope_elevators
from liftsafe.rules import rule

from liftsafe.core.zones import zone_names_under

from .periods import Period, local_tz, parse_period, report_zone
from .schema import SCHEMA_VERSION, ReportData

LANGUAGES = ("zh-hans", "en")
# what counts as a fault / entrapment / false alarm: one definition, owned by emergency (liftsafe.emergency.domain)
NOT_FAULT_STATES = domain.FALSE_ALARM_STATES
FAULT_TYPES = domain.FAULT_TYPES
NOT_FAULT_Q = domain.FALSE_ALARM_Q
FAULT_Q = domain.FAULT_Q
ENTRAPMENT_Q = domain.ENTRAPMENT_Q


# --------------------------------------------------------------------------- scope and base querysets
def resolve_area(user, area_code: str | None) -> Area | None:
    """The :class:`Area` a report of ``user`` covers.

    ``area_code`` None/empty: the user's own area (area roles), else None
    (= everything the user may see). An unknown code and a code outside the
    user's scope raise the same error.

    Raises:
        ValidationError: ``{"area": [reason]}``.
    """
    scope = scope_of(user)
    code = (area_code or "").strip()
    if not code:
        if scope.area_path and not scope.is_admin:
            return Area.objects.filter(path=scope.area_path).first()
        return None
    area = Area.objects.filter(code=code).first()
    if area is not None and not _area_in_scope(scope, area):
        area = None
    if area is None:
        raise ValidationError({"area": [_("Unknown area code “%(code)s”.") % {"code": code[:32]}]})
    return area


def _area_in_scope(scope: Scope, area: Area) -> bool:
    if scope.is_admin:
        return True
    if scope.sees_nothing:
        return False
    if scope.role in (Role.REGULATOR, Role.OPERATOR, Role.RESCUE_STATION):
        return bool(scope.area_path) and area.path.startswith(scope.area_path)
    # organisation roles: an area holding at least one of their elevators (or above one)
    return scope_elevators(scope, Elevator.objects.filter(area__path__startswith=area.path)).exists()


@dataclass
class _Base:
    """The scoped base querysets of one report (all periods share elevators; cases/hazards are per period)."""

    user: object
    scope: Scope
    area: Area | None
    tz: dt.tzinfo

    def __post_init__(self):
        # An area role's or an administrator's report area lies inside their scope (resolve_area checked it),
        # so the area filter alone is the scope: no second filter through the area path. When the area holds
        # every area of the database (a province deployment's root), there is no filter (no join) at all.
        self._area_ids: list[int] | None = None
        if self.area is not None and Area.objects.exclude(path__startswith=self.area.path).exists():
            self._area_ids = list(Area.objects.filter(path__startswith=self.area.path).values_list("pk", flat=True))
        self._area_is_scope = self.scope.is_admin or (self.scope.role in AREA_ROLES and self.area is not None)

    def _narrow(self, qs: QuerySet, prefix: str, area_field: str | None = None) -> QuerySet:
        """``qs`` in the report's area (``area_field``, default ``<prefix>area_id``) and the caller's scope
        (through the elevator at ``prefix``)."""
        if self._area_ids is not None:
            qs = qs.filter(**{f"{area_field or prefix + 'area_id'}__in": self._area_ids})
        if not self._area_is_scope:
            qs = scope_elevators(self.scope, qs, prefix=prefix)
        return qs

    def elevators(self, period: Period) -> QuerySet[Elevator]:
        """Elevators in use at the end of ``period``, in scope and area (see :func:`fleet_q`)."""
        return self._narrow(Elevator.objects.filter(fleet_q(period)), "")

    def cases(self, period: Period) -> QuerySet[EmergencyCase]:
        """Cases received in ``period`` in the area (the case's own area, where it happened: no elevator join)
        on elevators in scope (any elevator status)."""
        qs = EmergencyCase.objects.filter(received_at__gte=period.start_at, received_at__lt=period.end_at)
        return self._narrow(qs, "elevator__", area_field="area_id").order_by()

    def hazards(self):
        from liftsafe.hazards.selectors import filed_q, hazards_for

        qs = hazards_for(self.user).filter(filed_q())
        if self.area is not None:
            qs = qs.filter(area__path__startswith=self.area.path)
        return qs.order_by()


def fleet_q(period: Period, prefix: str = "") -> Q:
    """Elevators counted as *in use at the end of* ``period`` (local date ``period.end``, exclusive):

    - installed before the period's end, or installation date unknown (null);
    - registry status now ``in_use``, or ``scrapped`` with a known scrapping date on or after the period's end
      (``Elevator.status_date``): a lift scrapped later was still in use then;
    - and no ``registry.LifecycleEvent`` of kind ``scrapped`` dated before the period's end.

    Stopped/sealed elevators and scrapped ones without a scrapping date are not counted (the registry keeps no
    history of those statuses, so their past state cannot be known). One SQL predicate (no per-elevator work).
    """
    from liftsafe.registry.models import LifecycleEvent

    p = prefix
    S = Elevator.Status
    end = period.end
    scrapped_before = LifecycleEvent.objects.filter(kind=LifecycleEvent.Kind.SCRAPPED, occurred_on__lt=end).values("elevator_id")
    return ((Q(**{f"{p}installation_date__isnull": True}) | Q(**{f"{p}installation_date__lt": end}))
            & (Q(**{f"{p}status": S.IN_USE}) | Q(**{f"{p}status": S.SCRAPPED, f"{p}status_date__gte": end}))
            & ~Q(**{f"{p}id__in": scrapped_before}))


@dataclass(frozen=True)
class PartialSpan(Period):
    """The first ``end − start`` days of ``full`` (an unfinished period on the live dashboard, or the same
    elapsed span of a comparison period). ``months`` = the elapsed fraction of the full period's months (e.g.
    15 of 30 days of a month = 0.5), so monthly rates divide by elapsed months; ``month_starts`` lists the
    months the span touches. Label and ``as_dict`` are the full period's, plus ``partial``, ``span_end``
    (exclusive), ``elapsed_days`` and ``days``."""

    full: Period | None = None

    @property
    def months(self) -> float:  # type: ignore[override]
        return self.full.months * (self.end - self.start).days / (self.full.end - self.full.start).days

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.full.label

    def month_starts(self) -> list[dt.date]:
        return [m for m in self.full.month_starts() if m < self.end]

    def as_dict(self) -> dict:
        return {**self.full.as_dict(), "partial": True, "span_end": self.end.isoformat(),
                "elapsed_days": (self.end - self.start).days, "days": (self.full.end - self.full.start).days}

    @classmethod
    def first_days(cls, full: Period, days: int) -> "Period":
        """The first ``days`` days of ``full`` (``full`` itself when that covers it all)."""
        end = full.start + dt.timedelta(days=days)
        return full if end >= full.end else cls(full.kind, full.start, end, full)


# --------------------------------------------------------------------------- small helpers
def pct(num: int | None, den: int | None, scale: float = 100.0, digits: int = 2) -> float | None:
    """``num ÷ den × scale`` rounded to ``digits`` decimals, or to 3 significant digits when that would
    round a non-zero rate to 0 (2 entrapments in 72,855 elevators = 0.00275 %, not 0 %); None when
    undefined (den 0/None)."""
    if num is None or not den:
        return None
    value = num * scale / den
    if value and abs(value) < 10 ** -digits * 10:
        digits = max(digits, 2 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; None for an empty list."""
    if not values:
        return None
    v = sorted(values)
    k = max(1, math.ceil(p / 100.0 * len(v)))
    return v[k - 1]


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


def _minus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def age_bands() -> list[tuple[str, int | None, int | None]]:
    """``[(key, min_age, max_age)]`` in completed years from rule ``report_age_bands_years`` (upper bounds,
    inclusive): [5, 10, 15, 20] → 0–5, 6–10, 11–15, 16–20, >20 (FACTS §3.6)."""
    bounds = list(rule("report_age_bands_years"))
    out, lo = [], 0
    for hi in bounds:
        out.append((f"{lo}-{hi}", lo, hi))
        lo = hi + 1
    out.append((f">{bounds[-1]}", lo, None))
    return out


def _age_band_expr(prefix: str, ref: dt.date):
    """SQL CASE giving the age-band key of the elevator (at local date ``ref``) or "unknown"."""
    field = f"{prefix}installation_date"
    whens = [When(**{f"{field}__gt": ref}, then=Value("unknown"))]  # installed after the reference date: age unknown
    for key, _lo, hi in age_bands():
        if hi is None:
            whens.append(When(**{f"{field}__isnull": False}, then=Value(key)))
        else:  # age ≤ hi  ⇔  installed after ref − (hi + 1) years
            whens.append(When(**{f"{field}__gt": _minus_years(ref, hi + 1)}, then=Value(key)))
    return Case(*whens, default=Value("unknown"), output_field=CharField())


def hour_bands() -> list[tuple[int, int]]:
    """``[(from_hour, to_hour)]`` half-open local-hour bands from rule ``report_hour_bands``."""
    b = list(rule("report_hour_bands"))
    return list(zip(b[:-1], b[1:]))


def _label(choices, key, unknown: str) -> str:
    return str(dict(choices).get(key, key)) if key not in (None, "") else unknown


def _ind(key: str, label, unit: str, cur: tuple, prev: tuple | None, ly: tuple | None) -> dict:
    """An Indicator dict from (value, numerator, denominator) triples."""
    return {"key": key, "label": str(label), "unit": unit, "value": cur[0],
            "previous": prev[0] if prev else None, "last_year": ly[0] if ly else None,
            "numerator": cur[1], "denominator": cur[2]}


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
    stats = rescue_duration_stats(cases.filter(ENTRAPMENT_Q), limits)  # rescue times: entrapments only (FACTS §3.4)
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


# --------------------------------------------------------------------------- breakdowns (report period only)
def _fleet_and_cases(base: _Base, period: Period, elev_key, case_key) -> tuple[dict, dict]:
    """``({group: elevators in use}, {group: (faults, entrapments)})``; keys are field names or
    ``(name, expression)`` pairs evaluated on the elevator / case querysets."""
    eq, cq = base.elevators(period).order_by(), base.cases(period)
    if isinstance(elev_key, tuple):
        eq = eq.annotate(**{elev_key[0]: elev_key[1]})
        elev_key = elev_key[0]
    if isinstance(case_key, tuple):
        cq = cq.annotate(**{case_key[0]: case_key[1]})
        case_key = case_key[0]
    fleet = {r[elev_key]: r["n"] for r in eq.values(elev_key).annotate(n=Count("id")).order_by()}
    cases = {r[case_key]: (r["f"], r["e"]) for r in cq.filter(FAULT_Q).values(case_key)
             .annotate(f=Count("id"), e=Count("id", filter=ENTRAPMENT_Q)).order_by()}
    return fleet, cases


def _fleet_rows(keys_labels: list[tuple], fleet: dict, cases: dict, months: int) -> list[list]:
    """Rows [label, elevators, faults, entrapments, fault rate %, entrapment rate %, monthly entrapment rate %]."""
    rows = []
    for key, label in keys_labels:
        n = fleet.get(key, 0)
        f, e = cases.get(key, (0, 0))
        rows.append([label, n, f, e, pct(f, n), pct(e, n), pct(e, n * months, digits=3)])
    return rows


def _fleet_columns() -> list[str]:
    return [_("Elevators in use"), _("Faults"), _("Entrapments"), _("Fault rate (%)"), _("Entrapment rate (%)"),
            _("Monthly entrapment rate (%)")]


def _table(key: str, title, columns: list[str], rows: list[list]) -> dict:
    return {"key": key, "title": str(title), "columns": columns, "rows": rows}


def _chart(key: str, title, kind: str, x: list[str], series: list[tuple[str, list]], unit: str) -> dict:
    return {"key": key, "title": str(title), "kind": kind, "x": [str(v) for v in x],
            "series": [{"name": str(n), "values": v} for n, v in series], "unit": unit}


ATTRIBUTES = ("category", "place_type", "band", "area_id")


def attribute_groups(base: _Base, period: Period) -> tuple[dict, dict]:
    """The four breakdowns by an elevator attribute (category, place type, age band, area) in two scans:
    ``({(category, place_type, band, area_id): elevators in use}, {same key: (faults, entrapments)})``, one
    GROUP BY over the fleet and one over the period's faults joined to their elevators. The fleet's area is the
    elevator's, a fault's area the case's own (where it happened; None for a case stored without one). The tables sum these
    groups in Python (:func:`_project`): ~31,000 groups for the benchmark's province of 1M elevators (105 areas),
    read in well under a second, instead of re-reading the period's cases once per table."""
    ref = period.end - dt.timedelta(days=1)
    fleet = {(r["category"], r["place_type"], r["band"], r["area_id"]): r["n"] for r in base.elevators(period).order_by()
             .annotate(band=_age_band_expr("", ref)).values(*ATTRIBUTES).annotate(n=Count("id")).order_by()}
    ckeys = ("elevator__category", "elevator__place_type", "band", "area_id")
    cases = {tuple(r[k] for k in ckeys): (r["f"], r["e"]) for r in base.cases(period).filter(FAULT_Q)
             .annotate(band=_age_band_expr("elevator__", ref)).values(*ckeys)
             .annotate(f=Count("id"), e=Count("id", filter=ENTRAPMENT_Q)).order_by()}
    return fleet, cases


def _project(groups: tuple[dict, dict], attribute: str) -> tuple[dict, dict]:
    """``(fleet, cases)`` of :func:`attribute_groups` summed by one of :data:`ATTRIBUTES`."""
    i = ATTRIBUTES.index(attribute)
    fleet: dict = {}
    cases: dict = {}
    for key, n in groups[0].items():
        fleet[key[i]] = fleet.get(key[i], 0) + n
    for key, (f, e) in groups[1].items():
        of, oe = cases.get(key[i], (0, 0))
        cases[key[i]] = (of + f, oe + e)
    return fleet, cases


def by_category(base: _Base, period: Period, groups: tuple[dict, dict] | None = None) -> dict:
    fleet, cases = _project(groups or attribute_groups(base, period), "category")
    keys = sorted(set(fleet) | set(cases), key=lambda k: (k is None, k or ""))
    rows = _fleet_rows([(k, _label(CATEGORY_CHOICES, k, _("Unknown"))) for k in keys], fleet, cases, period.months)
    return _table("by_category", _l("Elevators and faults by category"), [_("Category")] + _fleet_columns(), rows)


def by_place_type(base: _Base, period: Period, groups: tuple[dict, dict] | None = None) -> dict:
    fleet, cases = _project(groups or attribute_groups(base, period), "place_type")
    keys = sorted(set(fleet) | set(cases), key=lambda k: (k is None, k or 0))
    rows = _fleet_rows([(k, _label(PLACE_TYPE_CHOICES, k, _("Unknown"))) for k in keys], fleet, cases, period.months)
    return _table("by_place_type", _l("Elevators and faults by place type"), [_("Place type")] + _fleet_columns(), rows)


def by_age_band(base: _Base, period: Period, groups: tuple[dict, dict] | None = None) -> dict:
    fleet, cases = _project(groups or attribute_groups(base, period), "band")
    keys = [(k, _("%(band)s years") % {"band": k}) for k, _lo, _hi in age_bands()] + [("unknown", _("Unknown"))]
    rows = _fleet_rows(keys, fleet, cases, period.months)
    return _table("by_age_band", _l("Elevators and faults by age band (completed years at the period's end)"),
                  [_("Age band")] + _fleet_columns(), rows)


def by_area(base: _Base, period: Period, groups: tuple[dict, dict] | None = None) -> dict:
    """Rows per child area of the report's area (top-level areas for "all"); elevators directly in the
    report's area itself get their own row. Elevators count in their area, faults in the case's own area;
    faults of cases stored without an area (only possible in a report without an area filter) get an
    "Unknown" row, so the rows still add up to the headline."""
    fleet, cases = _project(groups or attribute_groups(base, period), "area_id")
    ids = set(fleet) | set(cases)
    paths = dict(Area.objects.filter(pk__in=ids - {None}).values_list("pk", "path"))
    root = base.area.path if base.area else ""
    group_of: dict[int | None, str] = {None: ""}
    for pk, path in paths.items():
        rest = path[len(root):]
        group_of[pk] = root + rest.split("/", 1)[0] + "/" if rest else root
    en = translation.get_language() == "en"
    groups = {a.path: (a.code, a.name_en if en and a.name_en else a.name)
              for a in Area.objects.filter(path__in=set(group_of.values()))}
    groups[""] = ("", _("Unknown"))
    gf: dict[str, int] = {}
    gc: dict[str, tuple] = {}
    for pk, n in fleet.items():
        gf[group_of[pk]] = gf.get(group_of[pk], 0) + n
    for pk, (f, e) in cases.items():
        g = group_of[pk]
        of, oe = gc.get(g, (0, 0))
        gc[g] = (of + f, oe + e)
    keys = sorted(gf.keys() | gc.keys(), key=lambda p: (p == "", groups.get(p, (p, p))[0]))  # "Unknown" last
    rows = _fleet_rows([(p, groups.get(p, (p, p))[1]) for p in keys], gf, gc, period.months)
    for row, p in zip(rows, keys):
        row.insert(1, groups.get(p, (p, p))[0])
    return _table("by_area", _l("Elevators and faults by area"), [_("Area"), _("Area code")] + _fleet_columns(), rows)


def case_dimensions(base: _Base, period: Period) -> list[dict]:
    """One GROUP BY over the period's cases by channel, type, local hour of receipt, cause (class, item) and
    local month of receipt: rows ``{"channel", "case_type", "h", "cause_class", "cause_item", "y", "m",
    "n" (cases), "f" (faults), "e" (entrapments)}``. The channel, type, hour-band, month and cause tables are
    sums over these rows (a few thousand per month at most)."""
    return list(base.cases(period).annotate(h=ExtractHour("received_at", tzinfo=base.tz),
                                            y=ExtractYear("received_at", tzinfo=base.tz),
                                            m=ExtractMonth("received_at", tzinfo=base.tz))
                .values("channel", "case_type", "h", "cause_class", "cause_item", "y", "m")
                .annotate(n=Count("id"), f=Count("id", filter=FAULT_Q), e=Count("id", filter=ENTRAPMENT_Q)).order_by())


def _sum_by(rows: list[dict], keys: tuple[str, ...], fields: tuple[str, ...]) -> dict:
    out: dict = {}
    for r in rows:
        k = tuple(r[x] for x in keys) if len(keys) > 1 else r[keys[0]]
        acc = out.setdefault(k, [0] * len(fields))
        for i, f in enumerate(fields):
            acc[i] += r[f]
    return out


def cases_by_channel_type(base: _Base, period: Period, dims: list[dict] | None = None) -> tuple[dict, dict]:
    dims = case_dimensions(base, period) if dims is None else dims
    rows_c = _sum_by(dims, ("channel",), ("n", "f", "e"))
    rows_t = _sum_by(dims, ("case_type",), ("n", "f"))
    cols = [_("Cases"), _("Faults"), _("Entrapments")]
    ch = [[str(label), *rows_c.get(k, (0, 0, 0))] for k, label in Channel.choices]
    ch += [[k, *v] for k, v in sorted(rows_c.items()) if k not in Channel.values]
    ty = [[str(label), *rows_t.get(k, (0, 0))] for k, label in CaseType.choices]
    return (_table("by_channel", _l("Cases by channel"), [_("Channel")] + cols, ch),
            _table("by_type", _l("Cases by type"), [_("Type"), _("Cases"), _("Faults")], ty))


def cases_by_hour_band(base: _Base, period: Period, dims: list[dict] | None = None) -> dict:
    dims = case_dimensions(base, period) if dims is None else dims
    hours = _sum_by(dims, ("h",), ("f", "e"))
    rows = []
    for lo, hi in hour_bands():
        f = sum(hours.get(h, (0, 0))[0] for h in range(lo, hi))
        e = sum(hours.get(h, (0, 0))[1] for h in range(lo, hi))
        rows.append([f"{lo:02d}:00–{hi:02d}:00", f, e])
    return _table("by_hour_band", _l("Faults by hour band (local time of receipt)"), [_("Hour band"), _("Faults"), _("Entrapments")], rows)


def cases_by_month(base: _Base, period: Period, dims: list[dict] | None = None) -> dict:
    dims = case_dimensions(base, period) if dims is None else dims
    got = _sum_by(dims, ("y", "m"), ("f", "e"))
    rows = [[f"{d.year}-{d.month:02d}", *got.get((d.year, d.month), (0, 0))] for d in period.month_starts()]
    return _table("by_month", _l("Faults by month"), [_("Month"), _("Faults"), _("Entrapments")], rows)


def causes(base: _Base, period: Period, dims: list[dict] | None = None) -> tuple[dict, dict]:
    dims = case_dimensions(base, period) if dims is None else dims
    rows = [{"cause_class": k[0], "cause_item": k[1], "f": v[0], "e": v[1]}
            for k, v in _sum_by(dims, ("cause_class", "cause_item"), ("f", "e")).items() if v[0]]
    total_f = sum(r["f"] for r in rows if r["cause_class"])
    by_class: dict[str, list[int]] = {}
    for r in rows:
        k = r["cause_class"] or ""
        acc = by_class.setdefault(k, [0, 0])
        acc[0] += r["f"]
        acc[1] += r["e"]
    order = list(CAUSES) + sorted(k for k in by_class if k and k not in CAUSES)
    cls_rows = [[str(CAUSES[k][0]) if k in CAUSES else k, *by_class[k], pct(by_class[k][0], total_f)] for k in order if k in by_class]
    if "" in by_class:
        cls_rows.append([_("Cause not reported"), *by_class[""], None])
    item_rows = []
    for r in sorted((r for r in rows if r["cause_class"]), key=lambda r: (-r["f"], r["cause_class"], r["cause_item"])):
        items = CAUSES.get(r["cause_class"], ("", {}))[1]
        cls = str(CAUSES[r["cause_class"]][0]) if r["cause_class"] in CAUSES else r["cause_class"]
        item = str(items[r["cause_item"]]) if r["cause_item"] in items else (r["cause_item"] or _("Unspecified"))
        item_rows.append([cls, item, r["f"], r["e"], pct(r["f"], total_f)])
    cols = [_("Faults"), _("Entrapments"), _("Share of faults with a cause (%)")]
    return (_table("causes_by_class", _l("Causes by class"), [_("Cause class")] + cols, cls_rows),
            _table("causes_by_item", _l("Causes by item"), [_("Cause class"), _("Cause item")] + cols, item_rows))


def entrapments_by_elevator_month(base: _Base, period: Period, elevator_ids: list[int] | None = None) -> dict[tuple[int, str], int]:
    """``{(elevator id, "YYYY-MM"): entrapments}`` (local month of receipt), one GROUP BY; only non-zero cells."""
    qs = base.cases(period).filter(ENTRAPMENT_Q)
    if elevator_ids is not None:
        qs = qs.filter(elevator_id__in=elevator_ids)
    rows = (qs.annotate(y=ExtractYear("received_at", tzinfo=base.tz), m=ExtractMonth("received_at", tzinfo=base.tz))
            .values("elevator_id", "y", "m").annotate(n=Count("id")).order_by())
    return {(r["elevator_id"], f"{r['y']}-{r['m']:02d}"): r["n"] for r in rows}


def repeat_elevators(base: _Base, period: Period) -> dict:
    """Elevators with ≥ ``report_repeat_min_entrapments`` entrapments, most first (top ``report_top_n``),
    with their entrapments per month for multi-month periods."""
    repeat_min, top = int(rule("report_repeat_min_entrapments")), int(rule("report_top_n"))
    rows = list(base.cases(period).filter(ENTRAPMENT_Q).values("elevator_id").annotate(n=Count("id"))
                .filter(n__gte=repeat_min).order_by("-n", "elevator_id")[:top])
    ids = [r["elevator_id"] for r in rows]
    elevators = {e.pk: e for e in Elevator.objects.filter(pk__in=ids).select_related("area")}
    months = [f"{d.year}-{d.month:02d}" for d in period.month_starts()] if period.months > 1 else []
    cells = entrapments_by_elevator_month(base, period, ids) if months else {}
    en = translation.get_language() == "en"
    out = []
    for r in rows:
        e = elevators[r["elevator_id"]]
        area_name = e.area.name_en if en and e.area.name_en else e.area.name
        out.append([e.display_code, e.source_id, e.address, area_name, r["n"]] + [cells.get((e.pk, m), 0) for m in months])
    return _table("repeat_elevators", _l("Repeat elevators (most entrapments)"),
                  [_("Elevator"), _("Source id"), _("Address"), _("Area"), _("Entrapments")] + months, out)


def _ranking(key: str, title, fleet: dict, cases: dict, names, months: int) -> dict:
    """Top ``report_top_n`` groups with a fleet ≥ ``report_min_fleet_size`` and at least one fault, by fault
    rate, then entrapment rate, then name.

    ``names``: ``{key: name}``, or a function ``(keys) -> {key: name}`` called only for the groups that can
    reach the list (the top ``report_top_n`` by rates and every group tied with the last of them), so a
    ranking of 50,000 use units reads a handful of names instead of all of them.
    """
    min_fleet, top = int(rule("report_min_fleet_size")), int(rule("report_top_n"))
    cand = []
    for k, n in fleet.items():
        f, e = cases.get(k, (0, 0))
        if k is None or n < min_fleet or f == 0:
            continue
        cand.append((-(f / n), -(e / n), k, n, f, e))
    cand.sort(key=lambda c: (c[0], c[1]))
    if 0 < top < len(cand):
        cut = cand[top - 1][:2]
        cand = [c for c in cand if c[:2] <= cut]  # the top n by rates plus every tie with the n-th
    names = names([c[2] for c in cand]) if callable(names) else names
    cand = sorted((a, b, str(names.get(k, k)), str(k), n, f, e) for a, b, k, n, f, e in cand)
    rows = [[i + 1, name, n, f, e, pct(f, n), pct(e, n), pct(e, n * months, digits=3)]
            for i, (_a, _b, name, _k, n, f, e) in enumerate(cand[:top])]
    return _table(key, title, [_("Rank"), _("Name")] + _fleet_columns(), rows)


def _org_names(ids: list) -> dict:
    return dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name"))


def top_use_units(base: _Base, period: Period) -> dict:
    fleet, cases = _fleet_and_cases(base, period, "use_unit_id", "elevator__use_unit_id")
    return _ranking("top_use_units", _l("Use units with the highest fault rate"), fleet, cases, _org_names, period.months)


def top_maintenance_units(base: _Base, period: Period) -> dict:
    """Fleet: in-use elevators under a contract on the period's last day; faults: attributed to the unit whose
    contract covered the elevator on the case's local date.

    One join of the period's faults to ``registry_maintenancecontract`` on the case's ``elevator_id`` and the
    contract period (no join through ``registry_elevator``, no per-case lookups) and plain counts: the contracts
    of one elevator never overlap (``registry.services.contract_create`` refuses an overlap), so each case and
    each elevator meets at most one contract on a given day and ``COUNT(DISTINCT …)`` is not needed.
    """
    ref = period.end - dt.timedelta(days=1)
    fleet = {r["maintenance_unit_id"]: r["n"] for r in MaintenanceContract.objects
             .filter(Q(end_date__isnull=True) | Q(end_date__gte=ref), start_date__lte=ref, elevator__in=base.elevators(period).values("pk"))
             .values("maintenance_unit_id").annotate(n=Count("elevator_id")).order_by()}
    faults = (base.cases(period).filter(FAULT_Q).annotate(case_day=TruncDate("received_at", tzinfo=base.tz))
              .values("elevator_id", "case_type", "case_day"))
    try:
        inner, params = faults.query.sql_with_params()
    except EmptyResultSet:  # nothing can match (e.g. an empty scope)
        inner, params = None, ()
    k = MaintenanceContract._meta.db_table
    sql = (f"SELECT k.maintenance_unit_id, COUNT(*), SUM(CASE WHEN c.case_type = %s THEN 1 ELSE 0 END) "
           f"FROM ({inner}) c JOIN {k} k ON k.elevator_id = c.elevator_id AND k.start_date <= c.case_day "
           f"AND (k.end_date IS NULL OR k.end_date >= c.case_day) GROUP BY k.maintenance_unit_id")
    cases: dict = {}
    if inner is not None:
        with connections[faults.db].cursor() as cur:
            cur.execute(sql, [CaseType.ENTRAPMENT.value, *params])  # the SELECT's placeholder comes before the subquery's
            cases = {mu: (int(f), int(e or 0)) for mu, f, e in cur.fetchall()}
    return _ranking("top_maintenance_units", _l("Maintenance units with the highest fault rate (unit on the case date)"),
                    fleet, cases, _org_names, period.months)


def _brand(name: str | None, raw: str | None) -> str | None:
    s = " ".join((name or raw or "").split()).upper()
    return s or None


def top_brands(base: _Base, period: Period) -> dict:
    """Brand = the manufacturer organisation's name, else the source's manufacturer text; whitespace-folded, upper case."""
    keys = ("manufacturer__name", "manufacturer_name_raw")
    fleet: dict = {}
    for r in base.elevators(period).values(*keys).annotate(n=Count("id")).order_by():
        b = _brand(r["manufacturer__name"], r["manufacturer_name_raw"])
        fleet[b] = fleet.get(b, 0) + r["n"]
    cases: dict = {}
    for r in (base.cases(period).filter(FAULT_Q).values(*[f"elevator__{k}" for k in keys])
              .annotate(f=Count("id"), e=Count("id", filter=ENTRAPMENT_Q)).order_by()):
        b = _brand(r["elevator__manufacturer__name"], r["elevator__manufacturer_name_raw"])
        f, e = cases.get(b, (0, 0))
        cases[b] = (f + r["f"], e + r["e"])
    return _ranking("top_brands", _l("Brands with the highest fault rate"), fleet, cases, {k: k for k in fleet}, period.months)


def hazards_by_level(base: _Base, period: Period) -> dict:
    from liftsafe.hazards.models import Level
    from liftsafe.hazards.models import State as HState

    rows = {r["level"]: r for r in base.hazards().filter(filed_at__gte=period.start_at, filed_at__lt=period.end_at)
            .values("level").annotate(filed=Count("id"), closed=Count("id", filter=Q(state=HState.CLOSED, closed_at__lt=period.end_at)))
            .order_by()}
    out = []
    for lv, label in reversed(Level.choices):
        r = rows.get(lv, {"filed": 0, "closed": 0})
        out.append([str(label), r["filed"], r["closed"], pct(r["closed"], r["filed"])])
    return _table("hazards_by_level", _l("Hazards filed in the period by level"),
                  [_("Level"), _("Filed"), _("Closed by the period's end"), _("Rectification rate (%)")], out)


# --------------------------------------------------------------------------- definitions (appendix)
def _list_text(items: list[str]) -> str:
    """``items`` joined with the active language's list separator (", " in English, "、" in Chinese)."""
    return pgettext("list separator", ", ").join(items)


def age_bands_text() -> str:
    """The age bands of rule ``report_age_bands_years`` in words, in the active language:
    [5, 10, 15, 20] → "0–5, 6–10, 11–15, 16–20, over 20" (zh-Hans "0–5、6–10、11–15、16–20、20 以上")."""
    return _list_text([f"{lo}–{hi}" if hi is not None else _("over %(n)s") % {"n": lo - 1}
                       for _key, lo, hi in age_bands()])


def hour_bands_text() -> str:
    """The local-hour bands of rule ``report_hour_bands`` in words: [0, 7, 9, 24] → "0–7, 7–9, 9–24"
    (half-open: each from its first hour up to, not including, its last)."""
    return _list_text([f"{a}–{b}" for a, b in hour_bands()])


def definitions() -> list[dict]:
    """The appendix: one entry per indicator, ``[{"key", "label", "formula", "source"}]`` in the active
    language. Rule parameters appear as their current values in words (never rule keys); sources cite
    FACTS sections and standards (FACTS §3.3–§13). Stored in each report's snapshot, so a stored report
    keeps the text it was generated with."""
    r_kpi, a_kpi = rule("report_response_kpi_s"), rule("report_arrival_kpi_s")
    d = [
        ("elevators_in_use", _("Elevators in the area and in the reader's scope in use at the end of the period: installed before "
                               "the period's end (or installation date unknown), registry status 'in use', or 'scrapped' with a "
                               "status date on or after the period's end, and no 'scrapped' lifecycle event before the period's "
                               "end; stopped and sealed elevators are not counted. Each comparison period uses its own fleet."),
         _("FACTS §3.6 (在用电梯数量)")),
        ("cases", _("Emergency cases received in the period (any type, any outcome)"), _("FACTS §3.5")),
        ("faults", _("Cases received in the period of type entrapment or fault report that are not false alarms or cancelled "
                     "(enquiries are not faults)"),
         _("FACTS §3.6 (故障次数); CPASE M001-2015")),
        ("entrapments", _("Faults of type entrapment (困人)"), _("FACTS §3.6")),
        ("false_alarms", _("Cases closed as false alarm or cancelled (any type)"), _("FACTS §3.5 (false alarm or cancelled)")),
        ("people_released", _("Sum of people released over the faults"), _("FACTS §3.6 (people released)")),
        ("fault_rate", _("faults ÷ elevators in use × 100%"), _("FACTS §3.6: CPASE M001-2015 故障率")),
        ("entrapment_rate", _("entrapments ÷ elevators in use × 100%"), _("FACTS §3.6: Jinan 总困人率")),
        ("monthly_entrapment_rate", _("entrapment rate ÷ months in the period"), _("FACTS §3.6: Jinan 月均困人故障率")),
        ("entrapments_per_10k", _("entrapments ÷ elevators in use × 10,000"), _("FACTS §3.6: per 10,000 elevators (万台), 国办发〔2018〕8号")),
        ("response", _("responded − first dispatched, over entrapments with both times; mean, median, 90th percentile (nearest rank), "
                       "minutes"),
         _("FACTS §3.3 (Shandong response time), §3.4")),
        ("arrival", _("arrived − first dispatched, over entrapments with both times; minutes"), _("FACTS §3.4: TSG T5002-2017 Art. 5")),
        ("on_site", _("released − arrived, over entrapments with both times; minutes"), _("FACTS §3.4 (现场实施救援用时)")),
        ("response_kpi_rate", _("dispatched entrapments responded within %(s)s s of dispatch ÷ dispatched entrapments × 100%%; "
                                "one without a response time counts as a miss once %(s)s s have passed or the period has "
                                "ended") % {"s": r_kpi},
         _("FACTS §3.4/§13: Shandong 三分钟响应率")),
        ("arrival_kpi_rate", _("dispatched entrapments arrived within %(s)s s of dispatch ÷ dispatched entrapments × 100%%; "
                               "one without an arrival time counts as a miss once %(s)s s have passed or the period has "
                               "ended") % {"s": a_kpi},
         _("FACTS §3.4/§13: 三十分钟到达率")),
        ("repeat_elevators", _("elevators with at least %(n)s entrapments in the period") % {"n": rule("report_repeat_min_entrapments")},
         _("FACTS §3.6: repeat elevators")),
        ("rankings", _("use units, maintenance units (the unit under contract on the case date) and brands with at least %(n)s elevators "
                       "in use, ranked by fault rate, then entrapment rate; top %(top)s") % {"n": rule("report_min_fleet_size"), "top": rule("report_top_n")},
         _("FACTS §3.6, §10: Shandong top 10 lists")),
        ("age_band", _("completed years from installation date to the period's last day, age bands (years): %(bands)s; "
                       "no installation date, or one after the period's last day: unknown") % {"bands": age_bands_text()},
         _("FACTS §3.6 (age bands), §13 (15-year threshold)")),
        ("hour_band", _("local hour of receipt, hour bands: %(bands)s (each from its first hour up to, not including, its last)")
         % {"bands": hour_bands_text()}, _("FACTS §3.6 (by hour band)")),
        ("causes", _("faults by cause class and item as reported by the responder; share of those with a cause"),
         _("FACTS §4.3 (困人原因)")),
        ("hazards_filed", _("accepted hazards (not leads or dismissed) filed in the period"), _("FACTS §7")),
        ("rectification_rate", _("hazards filed in the period and closed before its end ÷ hazards filed in the period × 100%"), _("FACTS §7")),
        ("on_time_rate", _("hazards closed in the period on or before their deadline ÷ hazards closed in the period × 100%"), _("FACTS §7")),
        ("recurrence_rate", _("look-back re-checks done in the period finding a recurrence ÷ re-checks done in the period × 100%"),
         _("FACTS §7 (回头看)")),
    ]
    labels = {k: v[0] for k, v in HEADLINE_LABELS.items()}
    extra = {"response": _l("Response time"), "arrival": _l("Arrival time"), "on_site": _l("On-site rescue time"),
             "rankings": _l("Top lists"), "age_band": _l("Age band"), "hour_band": _l("Hour band"), "causes": _l("Causes")}
    return [{"key": k, "label": str(labels.get(k) or extra[k]), "formula": str(f), "source": str(s)} for k, f, s in d]


# --------------------------------------------------------------------------- the report
SECTION_TITLES = {
    "overview": _l("Overview: elevators, faults and entrapments"),
    "cases": _l("Cases by channel, type, hour and month"),
    "causes": _l("Causes"),
    "response": _l("Response, arrival and on-site rescue"),
    "repeat": _l("Repeat elevators"),
    "rankings": _l("Top use units, maintenance units and brands"),
    "hazards": _l("Hazard rectification"),
}
SECTION_INDICATORS = {
    "overview": ["elevators_in_use", "cases", "faults", "entrapments", "false_alarms", "people_released", "fault_rate",
                 "entrapment_rate", "monthly_entrapment_rate", "entrapments_per_10k"],
    "cases": [],
    "causes": [],
    "response": ["response_mean", "response_median", "response_p90", "response_kpi_rate", "arrival_mean", "arrival_median",
                 "arrival_p90", "arrival_kpi_rate", "on_site_mean", "on_site_median", "on_site_p90"],
    "repeat": ["repeat_elevators"],
    "rankings": [],
    "hazards": ["hazards_filed", "rectification_rate", "on_time_rate", "recurrence_rate"],
}


def _area_dict(area: Area | None, scope: Scope) -> dict:
    if area is None:
        return {"code": "", "name": _("All areas") if scope.is_admin else _("All elevators in your scope")}
    name = area.name_en if translation.get_language() == "en" and area.name_en else area.name
    return {"code": area.code, "name": name}


_WORK_MEM_RE = re.compile(r"^\d{1,7}\s*(kB|MB|GB)?$")


@contextmanager
def _report_transaction():
    """One transaction around the report's queries (read only: nothing is written). On PostgreSQL it sets
    ``work_mem`` to rule ``report_pg_work_mem`` for this transaction only (``SET LOCAL``, via ``set_config``);
    when called inside an outer transaction the previous value is restored on the way out.

    Raises:
        ValueError: the rule's value is not a PostgreSQL memory size (e.g. ``"64MB"``).
    """
    db = connections[EmergencyCase.objects.db]
    with transaction.atomic(using=db.alias):
        if db.vendor != "postgresql":
            yield
            return
        value = str(rule("report_pg_work_mem")).strip()
        if not _WORK_MEM_RE.match(value):
            raise ValueError(f"rule report_pg_work_mem: {value[:32]!r} is not a PostgreSQL memory size such as '64MB'")
        nested = len(db.atomic_blocks) > 1
        with db.cursor() as cur:
            cur.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [value])
            previous = cur.fetchone()[0]
        yield
        if nested:  # on an exception the savepoint's rollback undoes the SET LOCAL itself
            with db.cursor() as cur:
                cur.execute("SELECT set_config('work_mem', %s, true)", [previous])


def report_zones(user, area: Area | None) -> list[str]:
    """Every effective time zone among the areas a report of ``user`` over ``area`` covers; the first is the one
    the report uses (period bounds, hours, months).

    With an area: its zone, then those of areas below it. Without one: for an administrator the deployment's
    zone, then every other; for an organisation role, the zones of its elevators' areas — the one zone when
    they share one (a New York maintenance unit reads New York time), else the deployment's first."""
    from liftsafe.core.zones import zone_name_for_area_id

    if area is not None:
        return zone_names_under(area.path)
    scope = scope_of(user)
    if scope.is_admin or scope.sees_nothing:
        return zone_names_under(None)
    area_ids = scope_elevators(scope, Elevator.objects.order_by()).values_list("area_id", flat=True).distinct()
    names = sorted({zone_name_for_area_id(pk) for pk in area_ids})
    if len(names) == 1:
        return names
    default = zone_names_under(None)[0]
    return [default] + [n for n in names if n != default]


def _zone(user, area_code: str | None):
    """The report's local time zone (the first of :func:`report_zones`). A bad area gives the deployment's here
    (the report itself raises the area error)."""
    from liftsafe.core.zones import get_zone

    try:
        return get_zone(report_zones(user, resolve_area(user, area_code))[0])
    except ValidationError:
        return None


def _zone_notes(zones: list[str]) -> list[str]:
    """The note naming the one zone (``zones[0]``) the report's period, hours and months use and, when the
    report's areas lie in several zones, saying so."""
    zone = zones[0]
    if len(zones) > 1:
        return [_("Local time: %(zone)s, for the period, the hours and the months of this report. Its areas lie in "
                  "several time zones (%(zones)s); the report of one area uses that area's own local time.")
                % {"zone": zone, "zones": ", ".join(zones)}]
    return [_("Local time: %(zone)s, for the period, the hours and the months of this report.") % {"zone": zone}]


def build(user, *, area_code: str | None, period: Period, language: str, now: dt.datetime) -> ReportData:
    """Compute the :class:`ReportData` of ``period`` (already validated) for ``user``; see :func:`report_data`.

    Local time (period bounds, hour of day, month) is the report area's zone (:func:`_zone`), stated in the
    report (``time_zone``, ``time_zones`` and a note in the overview and cases sections)."""
    with report_zone(_zone(user, area_code)):
        return _build(user, area_code=area_code, period=period, language=language, now=now)


def _build(user, *, area_code: str | None, period: Period, language: str, now: dt.datetime) -> ReportData:
    if language not in LANGUAGES:
        raise ValidationError({"language": [_("Unknown language “%(l)s”: use zh-hans or en.") % {"l": str(language)[:16]}]})
    with translation.override(language), _report_transaction():
        scope = scope_of(user)
        area = resolve_area(user, area_code)
        base = _Base(user=user, scope=scope, area=area, tz=local_tz())
        prev_p, ly_p = period.previous(), period.same_last_year()
        today = timezone.localtime(now, base.tz).date()
        partial = period.start <= today < period.end  # the live dashboard's unfinished period
        if partial:
            # numbers up to today (inclusive); comparisons over the same first days of the other periods
            elapsed, total_days = (today - period.start).days + 1, (period.end - period.start).days
            period, prev_p, ly_p = (PartialSpan.first_days(p, elapsed) for p in (period, prev_p, ly_p))
        # each period its own fleet, counted at that period's (span's) end (fleet_q)
        cur, prev, ly = (headline(base, p, base.elevators(p).count(), now) for p in (period, prev_p, ly_p))

        def inds(keys):
            return [_ind(k, HEADLINE_LABELS[k][0], HEADLINE_LABELS[k][1], cur[k], prev[k], ly[k]) for k in keys]

        groups = attribute_groups(base, period)
        t_cat, t_age = by_category(base, period, groups), by_age_band(base, period, groups)
        t_place, t_area = by_place_type(base, period, groups), by_area(base, period, groups)
        dims = case_dimensions(base, period)
        t_channel, t_type = cases_by_channel_type(base, period, dims)
        t_hour, t_month = cases_by_hour_band(base, period, dims), cases_by_month(base, period, dims)
        t_cls, t_item = causes(base, period, dims)
        t_repeat = repeat_elevators(base, period)
        t_use, t_mu, t_brand = top_use_units(base, period), top_maintenance_units(base, period), top_brands(base, period)
        t_hz = hazards_by_level(base, period)
        sections = []

        def section(key, tables=(), charts=(), notes=()):
            sections.append({"key": key, "title": str(SECTION_TITLES[key]), "indicators": inds(SECTION_INDICATORS[key]),
                             "tables": list(tables), "charts": list(charts), "notes": [str(n) for n in notes]})

        zone_names = report_zones(user, area)
        zone_name, zone_notes = zone_names[0], _zone_notes(zone_names)
        overview_notes = zone_notes + [_("Elevators in use are counted at the end of each period (installation date, scrapping date); stopped "
                            "and sealed elevators are not counted.")]
        if partial:
            overview_notes.insert(0, _("Partial period: %(n)s of %(d)s days elapsed. Comparisons use the same first %(n)s days of the "
                                       "previous period and of the same period last year; monthly rates divide by the %(m)s "
                                       "months elapsed.") % {"n": elapsed, "d": total_days,
                                                             "m": f"{period.months:.2f}"})
        section("overview", [t_area, t_cat, t_age, t_place],
                [_chart("area_entrapment_rate", _l("Entrapment rate by area"), "barh", [r[0] for r in t_area["rows"]],
                        [(_l("Entrapment rate (%)"), [r[6] for r in t_area["rows"]])], "%"),
                 _chart("age_band_entrapment_rate", _l("Monthly entrapment rate by age band"), "bar", [r[0] for r in t_age["rows"]],
                        [(_l("Monthly entrapment rate (%)"), [r[6] for r in t_age["rows"]])], "%")],
                overview_notes)
        section("cases", [t_channel, t_type, t_hour, t_month],
                [_chart("by_channel", _l("Cases by channel"), "pie", [r[0] for r in t_channel["rows"]],
                        [(_l("Cases"), [r[1] for r in t_channel["rows"]])], "count"),
                 _chart("by_hour_band", _l("Faults by hour band"), "bar", [r[0] for r in t_hour["rows"]],
                        [(_l("Faults"), [r[1] for r in t_hour["rows"]]), (_l("Entrapments"), [r[2] for r in t_hour["rows"]])], "count"),
                 _chart("by_month", _l("Faults by month"), "line", [r[0] for r in t_month["rows"]],
                        [(_l("Faults"), [r[1] for r in t_month["rows"]]), (_l("Entrapments"), [r[2] for r in t_month["rows"]])], "count")],
                zone_notes)
        section("causes", [t_cls, t_item],
                [_chart("causes_by_class", _l("Faults by cause class"), "pie", [r[0] for r in t_cls["rows"]],
                        [(_l("Faults"), [r[1] for r in t_cls["rows"]])], "count")])
        n_resp = cur["response_mean"][2]
        section("response", notes=[_("%(n)s entrapments with both a dispatch and a response time; %(m)s with an arrival time; "
                                     "%(k)s with an arrival and a release time. Fault reports and enquiries are not counted.")
                                   % {"n": n_resp, "m": cur["arrival_mean"][2], "k": cur["on_site_mean"][2]}],
                charts=[_chart("durations", _l("Response, arrival and on-site times"), "bar",
                               [_("Mean"), _("Median"), _("90th percentile")],
                               [(_l("Response time"), [cur[f"response_{s}"][0] for s in ("mean", "median", "p90")]),
                                (_l("Arrival time"), [cur[f"arrival_{s}"][0] for s in ("mean", "median", "p90")]),
                                (_l("On-site rescue time"), [cur[f"on_site_{s}"][0] for s in ("mean", "median", "p90")])], "min")])
        section("repeat", [t_repeat])
        section("rankings", [t_use, t_mu, t_brand],
                notes=[_("Only units and brands with at least %(n)s elevators in use are ranked, so that a small fleet does not top "
                         "the list by chance.") % {"n": rule("report_min_fleet_size")}])
        section("hazards", [t_hz])
        empty = cur["cases"][0] == 0 and cur["hazards_filed"][0] == 0
        return {
            "version": SCHEMA_VERSION,
            "language": language,
            "area": _area_dict(area, scope),
            "period": {**period.as_dict(), "partial": partial},
            "compare": {"previous": prev_p.as_dict(), "last_year": ly_p.as_dict()},
            "generated_at": now.isoformat(),
            "time_zone": zone_name,
            "time_zones": zone_names,
            "empty": empty,
            "sections": sections,
            "definitions": definitions(),
        }


def report_data(user, *, area_code: str | None, period: Period | str, language: str = "zh-hans",
                now: dt.datetime | None = None) -> ReportData:
    """The report's numbers for ``user`` over a finished ``period`` (see the module docstring).

    Args:
        area_code: an :class:`~liftsafe.core.models.Area` code; None = the
            user's own area (area roles) or everything the user may see.
        period: a :class:`Period` or its label (``"2023-05"``, ``"2023-Q2"``, ``"2023"``).
        language: ``"zh-hans"`` (default) or ``"en"``; labels are translated.
        now: the generation time (default now); also decides what "future" is.

    Raises:
        ValidationError: ``{"area": …}`` unknown or out-of-scope area;
            ``{"period": …}`` bad, future or unfinished period;
            ``{"language": …}`` unknown language.
    """
    now = now or timezone.now()
    with report_zone(_zone(user, area_code)):  # "finished" in the report area's local time
        p = parse_period(period, today=timezone.localtime(now, local_tz()).date())
    return build(user, area_code=area_code, period=p, language=language, now=now)


def dashboard(user, *, area_code: str | None, period: Period | str | None = None, language: str = "zh-hans",
              now: dt.datetime | None = None) -> ReportData:
    """Like :func:`report_data`, but the current, unfinished period is allowed (the live dashboard).

    ``period`` None = the current month. Same numbers, same definitions.
    """
    now = now or timezone.now()
    with report_zone(_zone(user, area_code)):  # the current month in the report area's local time
        today = timezone.localtime(now, local_tz()).date()
        p = parse_period(period if period else Period.containing("month", today), today=today, allow_current=True)
    return build(user, area_code=area_code, period=p, language=language, now=now)


def indicator(data: ReportData, key: str) -> dict:
    """The indicator ``key`` of ``data`` (any section). Raises KeyError if absent."""
    for s in data["sections"]:
        for i in s["indicators"]:
            if i["key"] == key:
                return i
    raise KeyError(key)


def table(data: ReportData, key: str) -> dict:
    """The table ``key`` of ``data`` (any section). Raises KeyError if absent."""
    for s in data["sections"]:
        for t in s["tables"]:
            if t["key"] == key:
                return t
    raise KeyError(key)


def elevator_month_entrapments(user, *, area_code: str | None, period: Period | str,
                               now: dt.datetime | None = None) -> dict[tuple[str, str], int]:
    """``{(elevator source_id, "YYYY-MM"): entrapments}`` of a finished ``period`` for ``user`` (non-zero cells only),
    the per-elevator breakdown behind the repeat-elevator table (used by the MTA cross-check).

    Raises:
        ValidationError: as :func:`report_data`.
    """
    now = now or timezone.now()
    with report_zone(_zone(user, area_code)):
        p = parse_period(period, today=timezone.localtime(now, local_tz()).date())
        base = _Base(user=user, scope=scope_of(user), area=resolve_area(user, area_code), tz=local_tz())
        cells = entrapments_by_elevator_month(base, p)
    ids = dict(Elevator.objects.filter(pk__in={k[0] for k in cells}).values_list("pk", "source_id"))
    return {(ids[pk], month): n for (pk, month), n in sorted(cells.items())}


# --------------------------------------------------------------------------- stored reports
def reports_for(user):
    """Stored reports ``user`` may see: administrators all; regulators those of areas in their area
    (their own and below). Reports are a regulator's product; other roles see none (published ones reach
    the public through the disclosure portal). Newest period first."""
    from .models import Report

    scope = scope_of(user)
    qs = Report.objects.select_related("area", "generated_by", "published_by")
    if scope.is_admin:
        return qs
    if scope.role == Role.REGULATOR and scope.area_path:
        return qs.filter(area__path__startswith=scope.area_path)
    return qs.none()


def report_get(user, pk: int):
    """One stored report ``user`` may see.

    Raises:
        Http404: missing or not visible (indistinguishable).
    """
    from django.http import Http404

    obj = reports_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("report not found")
    return obj
