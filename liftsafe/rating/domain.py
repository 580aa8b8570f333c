"""Maintenance-unit rating: scoring sheets as configuration, and how a sheet turns facts into a grade (pure).

A *sheet* is a JSON-able dict (stored in :class:`~liftsafe.rating.models.Sheet`, shipped examples in
:data:`SHIPPED_SHEETS`), validated by :func:`validate_sheet` with errors naming the field
(``bands[2].max``, ``items[4].metric``)::

    {"code": "fujian_yearly", "name": "...", "source": "docs/domain §15.4 ...",
     "window": "month" | "year" | "12_months",           # the rating period (calendar month / year / 12 months)
     "base": 0,                                          # score = base + Σ item points
     "grades": ["A", "B", "C", "D"],                     # best → worst; a veto gives the worst
     "edges": "lower_inclusive" | "upper_inclusive",     # bands are [min, max) or (min, max]
     "bands": [{"grade": "A", "min": null, "max": 10}, ...],   # contiguous: each max is the next min
     "min_sample": {"metric": "lifts", "min": 1},        # below it: "not rated" (never a perfect score)
     "items": [{"code": "late_arrival", "label": "...", "metric": "late_arrivals",
                "per": -10, "base": 0, "cap": 50, "tiers": [...], "veto": false}, ...],
     "hard_rules": [{"code": "...", "metric": "first_pass_rate", "op": "lt", "value": 0.7, "list": "bad_credit"}]}

An item's points are ``base + per × value`` (``cap``: at most that many points either way), or, with ``tiers``
(``[{"min": a, "max": b, "points": p}]``, ``a ≤ value < b``, open ends ``null``), the tier's points. A metric the
platform cannot compute (:data:`METRICS` ``computable`` False, or no data for this unit) is *unknown*: the item
contributes nothing and the result says how many items and how many points at most are unknown.

Sources: docs/domain §9 (grades A–D, hard rules, veto, uses of the grade), §15.4 (the shipped sheets, the
minimum sample, the band gaps to close, the due process), §13 (C or below barred from on-demand maintenance).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from liftsafe.rules import rule

# --------------------------------------------------------------------------- metrics the platform can compute
#: metric code → (label, computable from platform data, owning app). The values are computed by
#: :mod:`liftsafe.rating.facts` from the owning apps' definitions (emergency.domain, maintenance.domain,
#: inspection.models PASSING/FAILING, hazards.models.Level); a non-computable metric is always unknown.
METRICS: dict[str, tuple] = {
    "lifts": (_("lifts maintained in the period"), True, "registry"),
    "lifts_inspected": (_("lifts inspected in the period"), True, "inspection"),
    "lifts_per_worker": (_("lifts per registered worker"), True, "registry"),
    "entrapments": (_("entrapments (96333)"), True, "emergency"),
    "faults": (_("faults (96333)"), True, "emergency"),
    "faults_per_lift_month": (_("faults per lift per month"), True, "emergency"),
    "late_arrivals": (_("rescue arrivals over the limit"), True, "emergency"),
    "overdue_lifts": (_("lifts overdue for maintenance at the end of the period"), True, "maintenance"),
    "flagged_visits": (_("maintenance visits with evidence flags"), True, "maintenance"),
    "visits_not_on_site_pct": (_("share of visits not proven on site (%)"), True, "maintenance"),
    "failed_first_inspections": (_("lifts failing their first periodic inspection"), True, "inspection"),
    "first_pass_rate": (_("first-pass inspection rate (0-1)"), True, "inspection"),
    "first_pass_shortfall_pct": (_("first-pass inspection rate below 100 % (percentage points)"), True, "inspection"),
    "failed_inspection_ratio": (_("failed inspections ÷ inspections"), True, "inspection"),
    "serious_hazards": (_("lifts with a major hazard"), True, "hazards"),
    "insured_lifts": (_("lifts with liability insurance"), True, "registry"),
    # not recorded by the platform (yet): always unknown, and the page says so
    "unanswered_duty_calls": (_("unanswered duty-phone calls"), False, ""),
    "unhandled_alarms": (_("unhandled alarms"), False, ""),
    "bypassed_safety_circuits": (_("bypassed safety circuits (回路短接)"), False, ""),
    "accidents": (_("accidents"), False, ""),
    "complaints": (_("verified complaints"), False, ""),
    "forged_records": (_("forged records or subcontracting"), False, ""),
    "licence_expired": (_("expired or forged licence"), False, ""),
    "outside_licence": (_("work outside the licence scope"), False, ""),
    "no_duty_phone": (_("no 24-hour duty phone"), False, ""),
    "maintenance_caused_entrapments": (_("entrapments caused by maintenance"), False, ""),
    "level2_rescue": (_("level-2 rescue performance"), False, ""),
    "monitored_lifts": (_("lifts under remote monitoring"), False, ""),
    "dishonest_listed": (_("listed as dishonest (失信)"), False, ""),
}

WINDOWS = ("month", "year", "12_months")
EDGES = ("lower_inclusive", "upper_inclusive")
OPS = {"lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
LISTS = ("bad_credit", "blacklist")


def _known(v, table) -> bool:
    """``v`` is a text key of ``table`` (never raises for an unhashable JSON value)."""
    return isinstance(v, str) and v in table


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_sheet(cfg) -> dict:
    """Check a sheet configuration; return it unchanged.

    Raises:
        ValidationError: ``{field path: [reason]}`` for every problem found (unknown metric, band gap or overlap,
            grade not in ``grades``, negative cap, tiers that overlap, unknown window …).
    """
    errors: dict[str, list] = {}

    def err(path, msg):
        errors.setdefault(path, []).append(msg)

    if not isinstance(cfg, dict):
        raise ValidationError({"config": [_("a sheet is a JSON object")]})
    for key, limit in (("code", 40), ("name", 200)):
        if not isinstance(cfg.get(key), str) or not cfg.get(key).strip():
            err(key, _("required text"))
        elif len(cfg[key]) > limit:
            err(key, _("at most %(n)d characters") % {"n": limit})
    if not _known(cfg.get("window"), WINDOWS):
        err("window", _("one of %(v)s") % {"v": ", ".join(WINDOWS)})
    if not _num(cfg.get("base", 0)):
        err("base", _("a finite number"))
    grades = cfg.get("grades")
    if not isinstance(grades, list) or len(grades) < 2 or not all(isinstance(g, str) and g for g in grades) \
            or len(set(grades)) != len(grades):
        err("grades", _("at least two distinct grade names, best first"))
        grades = []
    if not _known(cfg.get("edges"), EDGES):
        err("edges", _("one of %(v)s") % {"v": ", ".join(EDGES)})
    bands = cfg.get("bands")
    if not isinstance(bands, list) or not bands:
        err("bands", _("at least one band"))
        bands = []
    for i, b in enumerate(bands):
        if not isinstance(b, dict):
            err(f"bands[{i}]", _("a band is an object"))
            continue
        if not _known(b.get("grade"), grades):
            err(f"bands[{i}].grade", _("not one of the sheet's grades"))
        for k in ("min", "max"):
            if b.get(k) is not None and not _num(b.get(k)):
                err(f"bands[{i}].{k}", _("a finite number or null (open end)"))
        if _num(b.get("min")) and _num(b.get("max")) and b["min"] >= b["max"]:
            err(f"bands[{i}].max", _("must be greater than min"))
    if bands and not any(k.startswith("bands[") for k in errors) and all(isinstance(b, dict) for b in bands):
        ordered = sorted(bands, key=lambda b: -math.inf if b.get("min") is None else b["min"])
        if ordered[0].get("min") is not None:
            err("bands", _("the lowest band must be open below (min null): some scores would match no band"))
        if ordered[-1].get("max") is not None:
            err("bands", _("the highest band must be open above (max null): some scores would match no band"))
        for a, b in zip(ordered, ordered[1:]):
            if a.get("max") is None or b.get("min") is None or a["max"] != b["min"]:
                idx = bands.index(b)
                if a.get("max") is not None and b.get("min") is not None and a["max"] < b["min"]:
                    err(f"bands[{idx}].min", _("gap between %(a)s and %(b)s: scores in between match no band") % {"a": a["max"], "b": b["min"]})
                else:
                    err(f"bands[{idx}].min", _("overlaps the band below: a score would match two bands"))
    ms = cfg.get("min_sample")
    if not isinstance(ms, dict) or not _known(ms.get("metric"), METRICS) or not _num(ms.get("min")) or ms.get("min") < 1:
        err("min_sample", _("{metric: a known metric, min: a number ≥ 1}"))
    items = cfg.get("items")
    if not isinstance(items, list) or not items:
        err("items", _("at least one item"))
        items = []
    codes = set()
    for i, it in enumerate(items):
        p = f"items[{i}]"
        if not isinstance(it, dict):
            err(p, _("an item is an object"))
            continue
        if not isinstance(it.get("code"), str) or not it["code"]:
            err(f"{p}.code", _("required text"))
        elif it["code"] in codes:
            err(f"{p}.code", _("duplicate item code"))
        else:
            codes.add(it["code"])
        if not _known(it.get("metric"), METRICS):
            err(f"{p}.metric", _("unknown metric"))
        for k in ("per", "base"):
            if k in it and not _num(it[k]):
                err(f"{p}.{k}", _("a finite number"))
        if "cap" in it and it["cap"] is not None and (not _num(it["cap"]) or it["cap"] < 0):
            err(f"{p}.cap", _("a number ≥ 0 (points at most, either way)"))
        tiers = it.get("tiers")
        if tiers is not None:
            if not isinstance(tiers, list) or not tiers:
                err(f"{p}.tiers", _("a non-empty list"))
            else:
                prev_max = None
                for j, t in enumerate(tiers):
                    tp = f"{p}.tiers[{j}]"
                    if not isinstance(t, dict) or not _num(t.get("points")):
                        err(f"{tp}.points", _("a finite number"))
                        continue
                    for k in ("min", "max"):
                        if t.get(k) is not None and not _num(t[k]):
                            err(f"{tp}.{k}", _("a finite number or null"))
                    if j and (not _num(t.get("min")) or not _num(prev_max) or t["min"] < prev_max):
                        err(f"{tp}.min", _("tiers must be in order and must not overlap"))
                    prev_max = t.get("max")
        if not it.get("veto") and tiers is None and "per" not in it:
            err(f"{p}.per", _("points per unit (or tiers, or veto) are required"))
    hard = cfg.get("hard_rules") or []
    if not isinstance(hard, list):
        err("hard_rules", _("a list"))
        hard = []
    for i, h in enumerate(hard):
        p = f"hard_rules[{i}]"
        if not isinstance(h, dict):
            err(p, _("a rule is an object"))
            continue
        if not _known(h.get("metric"), METRICS):
            err(f"{p}.metric", _("unknown metric"))
        if not _known(h.get("op"), OPS):
            err(f"{p}.op", _("one of lt, le, gt, ge"))
        if not _num(h.get("value")):
            err(f"{p}.value", _("a finite number"))
        if not _known(h.get("list"), LISTS):
            err(f"{p}.list", _("bad_credit or blacklist"))
        if not isinstance(h.get("code"), str) or not h.get("code"):
            err(f"{p}.code", _("required text"))
    if errors:
        raise ValidationError(errors)
    return cfg


# --------------------------------------------------------------------------- grading
def grade_for(score: float, cfg: dict) -> str:
    """The grade of ``score`` under the sheet's bands (validated: exactly one band matches every finite score).

    ``lower_inclusive``: a band holds ``min ≤ score < max``; ``upper_inclusive``: ``min < score ≤ max``. Fractional
    scores fall in exactly one band (the Fujian edges 10/25/40 close the source's 10–11, 25–26, 40–41 gaps,
    docs/domain §15.4)."""
    upper = cfg["edges"] == "upper_inclusive"
    for b in cfg["bands"]:
        lo, hi = b.get("min"), b.get("max")
        above = lo is None or (score > lo if upper else score >= lo)
        below = hi is None or (score <= hi if upper else score < hi)
        if above and below:
            return b["grade"]
    raise ValueError(f"no band for {score!r}: the sheet was not validated")  # unreachable for a validated sheet


def item_points(item: dict, value: float) -> float:
    """Points of one item for a known metric ``value`` (tiers, else ``base + per × value`` within ``cap``)."""
    if item.get("tiers"):
        for t in item["tiers"]:
            if (t.get("min") is None or value >= t["min"]) and (t.get("max") is None or value < t["max"]):
                return float(t["points"])
        return 0.0
    pts = float(item.get("per", 0)) * value
    cap = item.get("cap")
    if cap is not None:
        pts = max(-cap, min(cap, pts))
    return float(item.get("base", 0)) + pts


def item_bound(item: dict) -> float | None:
    """The most points (either way) an unknown item could have changed, or None when unbounded."""
    if item.get("tiers"):
        return max(abs(t["points"]) for t in item["tiers"])
    if item.get("cap") is not None:
        return abs(float(item.get("base", 0))) + item["cap"]
    return None


@dataclass
class ItemResult:
    code: str
    label: str
    metric: str
    value: float | None  # None = unknown
    points: float
    veto_hit: bool = False
    evidence: list = field(default_factory=list)

    @property
    def unknown(self) -> bool:
        return self.value is None


@dataclass
class Outcome:
    """The result of a sheet over one unit and period: ``rated`` False = not rated (sample below the minimum)."""

    rated: bool
    score: float | None
    grade: str | None
    veto: bool
    items: list[ItemResult]
    sample: float | None
    unknown_items: int
    unknown_points: float | None  # None: some unknown item is unbounded
    hard_hits: list[dict]


def evaluate(cfg: dict, values: dict[str, float | None], evidence: dict[str, list] | None = None) -> Outcome:
    """Apply a validated sheet to metric ``values`` (``None`` = unknown) with their ``evidence`` lists.

    - minimum sample (docs/domain §15.4, HK: fewer than 5 lifts inspected → not rated): below it, or the sample
      metric unknown, the unit is *not rated* (no score, no grade), never a perfect score for no data;
    - veto items (先决否定项, docs/domain §15.4): a known value > 0 gives the worst grade whatever the points;
    - hard rules (docs/domain §9, Putian first-pass rate) are evaluated apart from the bands (``hard_hits``), for
      rated and not-rated units alike when their metric is known.
    """
    evidence = evidence or {}
    items, total, unknown, bound, veto = [], float(cfg.get("base", 0)), 0, 0.0, False
    for it in cfg["items"]:
        v = values.get(it["metric"])
        label = str(it.get("label") or METRICS[it["metric"]][0])
        if v is None:
            unknown += 1
            b = item_bound(it)
            bound = None if (bound is None or b is None) else bound + b
            items.append(ItemResult(it["code"], label, it["metric"], None, 0.0))
            continue
        hit = bool(it.get("veto")) and v > 0
        veto = veto or hit
        pts = 0.0 if it.get("veto") and "per" not in it and not it.get("tiers") else item_points(it, v)
        total += pts
        items.append(ItemResult(it["code"], label, it["metric"], v, round(pts, 4), hit, list(evidence.get(it["metric"], []))))
    hard = [{"code": h["code"], "list": h["list"], "metric": h["metric"], "value": values[h["metric"]], "threshold": h["value"]}
            for h in cfg.get("hard_rules") or []
            if values.get(h["metric"]) is not None and OPS[h["op"]](values[h["metric"]], h["value"])]
    sample = values.get(cfg["min_sample"]["metric"])
    if sample is None or sample < cfg["min_sample"]["min"]:
        return Outcome(False, None, None, veto, items, sample, unknown, bound, hard)
    score = round(total, 4)
    grade = cfg["grades"][-1] if veto else grade_for(score, cfg)
    return Outcome(True, score, grade, veto, items, sample, unknown, bound, hard)


# --------------------------------------------------------------------------- periods
def period_for(window: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """``(first day, last day)`` of the rating period of ``window`` that contains ``day`` (inclusive dates);
    ``12_months`` is the 12 calendar months ending with ``day``'s month."""
    if window == "month":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt - dt.timedelta(days=1)
    if window == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    end_month = day.replace(day=1)
    start = dt.date(end_month.year - 1 + (end_month.month // 12), end_month.month % 12 + 1, 1)
    nxt = (end_month + dt.timedelta(days=32)).replace(day=1)
    return start, nxt - dt.timedelta(days=1)


def add_days(start: dt.date, days: int, basis: str) -> tuple[dt.date, bool]:
    """``start`` + ``days`` calendar days, or + ``days`` working days (official calendar with 调休,
    docs/domain §15.3). Returns ``(date, calendar_known)``; ``calendar_known`` False when a year's official
    calendar is not published and weekdays were used."""
    if basis == "calendar":
        return start + dt.timedelta(days=days), True
    from liftsafe.core.workdays import is_working_day

    d, n, known = start, 0, True
    while n < days:
        d += dt.timedelta(days=1)
        ok, k = is_working_day(d)
        known = known and k
        n += ok
    return d, known


def objection_deadline(published_on: dt.date, days: int | None = None, basis: str | None = None) -> tuple[dt.date, bool]:
    """Last day an objection may be filed: the publication date + the window (rule ``rating_objection_days``,
    21 by default, docs/domain §15.4) in calendar or working days (``rating_objection_day_basis``)."""
    return add_days(published_on, int(rule("rating_objection_days") if days is None else days),
                    basis or rule("rating_objection_day_basis"))


# --------------------------------------------------------------------------- effects (read by other apps)
def published_grade(unit_id: int, on: dt.date | None = None) -> str | None:
    """The maintenance unit's grade published and in force on ``on`` (today by default): the grade of its latest
    published rating whose publication date is on or before ``on`` (a decided objection's revised grade
    included). ``None``: never rated, or its latest published rating is "not rated".

    For maintenance (on-demand pilot), insurance and risk (the maintenance-unit factor) to import."""
    from django.utils import timezone

    from .models import Rating

    on = on or timezone.localdate()
    r = Rating.objects.filter(unit_id=unit_id, published_on__isnull=False, published_on__lte=on) \
        .order_by("-published_on", "-period_end", "-pk").values("grade", "rated").first()
    if r is None or not r["rated"]:
        return None
    return r["grade"] or None


def published_grades(unit_ids, on: dt.date | None = None) -> dict[int, str]:
    """Bulk form of :func:`published_grade`: ``{unit_id: grade}`` for the units of ``unit_ids`` with a grade
    published and in force on ``on``; units never rated or "not rated" are absent. One query (for risk's
    maintenance-unit factor over a whole province)."""
    from django.utils import timezone

    from .models import Rating

    on = on or timezone.localdate()
    ids = list({int(u) for u in unit_ids})
    out: dict[int, str] = {}
    seen: set[int] = set()
    rows = (Rating.objects.filter(unit_id__in=ids, published_on__isnull=False, published_on__lte=on)
            .order_by("unit_id", "-published_on", "-period_end", "-pk").values_list("unit_id", "grade", "rated"))
    for unit, grade, rated in rows:
        if unit in seen:
            continue
        seen.add(unit)
        if rated and grade:
            out[unit] = grade
    return out


def bars_on_demand(unit_id: int, on: dt.date | None = None) -> bool:
    """Whether the unit is barred from the on-demand maintenance pilot (按需维保) on ``on``: its published grade is
    one of rule ``rating_bars_on_demand_grades`` (C or below, docs/domain §9, §13), or it has an active blacklist
    entry. An unrated unit is not barred by this rule (the pilot's own admission rules apply)."""
    from .models import CreditEntry

    if published_grade(unit_id, on) in set(rule("rating_bars_on_demand_grades")):
        return True
    return CreditEntry.objects.filter(unit_id=unit_id, kind=CreditEntry.Kind.BLACKLIST, state__in=CreditEntry.ACTIVE).exists()
