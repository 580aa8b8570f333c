"""Case breakdowns of the report period: by channel and type, hour band, month, cause; repeat elevators.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

from django.db.models import Count
from django.db.models.functions import ExtractHour, ExtractMonth, ExtractYear
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from liftsafe.emergency.causes import CAUSES
from liftsafe.emergency.models import CaseType, Channel
from liftsafe.registry.models import Elevator
from liftsafe.rules import rule

from ..periods import Period
from .base import FAULT_Q, ENTRAPMENT_Q, _Base, pct, hour_bands, _table


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
