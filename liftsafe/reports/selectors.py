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
- *fault rate* = faults ÷ elevators in use × 100% (CPASE M001-2015, docs/domain §3.6);
  *entrapment rate* = entrapments ÷ elevators in use × 100%; *monthly entrapment
  rate* = entrapment rate ÷ months in the period (Jinan, docs/domain §3.6);
  *per 10,000 elevators* = entrapments ÷ elevators in use × 10,000 (docs/domain §3.6).
- durations from the cached first-occurrence times of the case (docs/domain §3.4,
  ``emergency.selectors.durations``): response = responded − dispatched,
  arrival = arrived − dispatched, on-site = released − arrived; over the
  *entrapments* of the period having both times (rescue of trapped passengers:
  TSG T5002 Art. 5; fault reports, enquiries, false alarms and cancelled cases
  are not counted); mean, median, p90 (nearest rank), minutes. On PostgreSQL
  computed by SQL aggregates, elsewhere in Python: the same numbers.
- 3-minute response rate = dispatched entrapments responded ≤ ``report_response_kpi_s``
  after dispatch ÷ dispatched entrapments; 30-minute arrival rate likewise with
  arrival and ``report_arrival_kpi_s`` (docs/domain §3.4 Shandong KPIs). A dispatched
  entrapment without the time recorded counts as a miss once the limit has
  passed or the period has ended (before that, in a live period, it is not yet
  in the denominator).
- hazards: *filed* = accepted hazards (not leads/dismissed) filed in the period;
  *rectification rate* = those of them closed before the period's end ÷ filed;
  *on-time rate* = hazards closed in the period on or before their deadline ÷
  hazards closed in the period; *recurrence rate* = re-checks done in the
  period that found a recurrence ÷ re-checks done in the period (docs/domain §7).

On PostgreSQL the report's queries run in one read-only transaction with
``SET LOCAL work_mem`` = rule ``report_pg_work_mem`` (sorts and hashes of the
period's GROUP BYs stay in memory).

Percentages are rounded to 2 decimals (raw numerator and denominator kept in
each indicator), minutes to 2 decimals. Every list is ordered
deterministically (value, then code/name, then id).
"""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.models import Area, Role
from liftsafe.core.scoping import Scope, scope_of
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import scope_elevators
from liftsafe.rules import rule

from liftsafe.core.zones import zone_names_under

from .periods import Period, local_tz, parse_period, report_zone
from .schema import SCHEMA_VERSION, ReportData
from .indicators.base import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    LANGUAGES, NOT_FAULT_STATES, FAULT_TYPES, NOT_FAULT_Q, FAULT_Q, ENTRAPMENT_Q,
    resolve_area, _area_in_scope, _Base, fleet_q, PartialSpan, pct,
    percentile, _minus_years, age_bands, _age_band_expr, hour_bands, _label,
    _ind, _table, _chart,
)
from .indicators.durations import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    duration_stats, _secs, DURATIONS, _durations, duration_stats_python, duration_stats_sql,
    rescue_duration_stats,
)
from .indicators.headline import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    HEADLINE_LABELS, headline,
)
from .indicators.fleet import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    _fleet_and_cases, _fleet_rows, _fleet_columns, ATTRIBUTES, attribute_groups, _project,
    by_category, by_place_type, by_age_band, by_area,
)
from .indicators.cases import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    case_dimensions, _sum_by, cases_by_channel_type, cases_by_hour_band, cases_by_month, causes,
    entrapments_by_elevator_month, repeat_elevators,
)
from .indicators.rankings import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    _ranking, _org_names, top_use_units, top_maintenance_units, _brand, top_brands,
)
from .indicators.hazards import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    hazards_by_level,
)
from .indicators.definitions import (  # noqa: F401 - re-exported: the report builder and callers use these names here
    _list_text, age_bands_text, hour_bands_text, definitions,
)


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


# --------------------------------------------------------------------------- live headline (wall screen, issue 15)
LIVE_SPANS = ("day", "month")


def live_headline(user, *, span: str, now: dt.datetime | None = None) -> dict[str, tuple]:
    """The report's headline indicators (:func:`headline`: the same definitions, scope and area as the
    dashboard) of the caller's own area for ``span`` so far: ``"day"`` = local midnight today up to ``now``,
    ``"month"`` = the current month's first days up to today (a partial span, like the live dashboard).

    Used by the wall screen (``liftsafe.command``), so its KPIs equal the reports module's for the same data.
    Returns ``{indicator key: (value, numerator, denominator)}`` (see :data:`HEADLINE_LABELS`).

    Raises:
        ValueError: ``span`` is not one of :data:`LIVE_SPANS`.
    """
    if span not in LIVE_SPANS:
        raise ValueError(f"span must be one of {LIVE_SPANS}, not {span!r}")
    now = now or timezone.now()
    with report_zone(_zone(user, None)), _report_transaction():
        tz = local_tz()
        today = timezone.localtime(now, tz).date()
        month = Period.containing("month", today)
        if span == "month":
            period = PartialSpan.first_days(month, (today - month.start).days + 1)
        else:
            period = PartialSpan(month.kind, today, today + dt.timedelta(days=1), month)
        base = _Base(user=user, scope=scope_of(user), area=resolve_area(user, None), tz=tz)
        return headline(base, period, base.elevators(period).count(), now)
