"""Fleet breakdowns of the report period: by category, place type, age band and area (elevators in use, faults,
entrapments and their rates).

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.models import Area
from liftsafe.registry.codes import CATEGORY_CHOICES, PLACE_TYPE_CHOICES

from ..periods import Period
from .base import FAULT_Q, ENTRAPMENT_Q, _Base, pct, age_bands, _age_band_expr, _label, _table


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
