"""Rankings of the report period: use units, maintenance units and brands by entrapment rate.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from liftsafe.emergency.models import CaseType
from liftsafe.registry.models import MaintenanceContract, Organisation
from liftsafe.rules import rule

from ..periods import Period
from .base import FAULT_Q, ENTRAPMENT_Q, _Base, pct, _table
from .fleet import _fleet_and_cases, _fleet_columns


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
