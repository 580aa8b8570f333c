"""Report building blocks: the caller's scope and base querysets (:class:`_Base`, :func:`fleet_q`, partial spans),
the domain definitions the indicators share (faults, entrapments, false alarms: :mod:`liftsafe.emergency.domain`),
age and hour bands, percentages and the indicator / table / chart dict shapes.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from liftsafe.core.models import AREA_ROLES, Area, Role
from liftsafe.core.scoping import Scope, scope_of
from liftsafe.emergency import domain
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import scope_elevators
from liftsafe.rules import rule

from ..periods import Period


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


def _minus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def age_bands() -> list[tuple[str, int | None, int | None]]:
    """``[(key, min_age, max_age)]`` in completed years from rule ``report_age_bands_years`` (upper bounds,
    inclusive): [5, 10, 15, 20] → 0–5, 6–10, 11–15, 16–20, >20 (docs/domain §3.6)."""
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


def _table(key: str, title, columns: list[str], rows: list[list]) -> dict:
    return {"key": key, "title": str(title), "columns": columns, "rows": rows}


def _chart(key: str, title, kind: str, x: list[str], series: list[tuple[str, list]], unit: str) -> dict:
    return {"key": key, "title": str(title), "kind": kind, "x": [str(v) for v in x],
            "series": [{"name": str(n), "values": v} for n, v in series], "unit": unit}
