"""The public projection of published periodic reports (issue 14, "Publication").

A report reaches the public only once a regulator has published it (``Report.Status.PUBLISHED``, see
:func:`liftsafe.reports.services.publish_report`); what the public sees is the report's frozen snapshot
(``Report.data``, never regenerated once published) with its generation and publication dates, reduced to a
whitelist of tables: the use-unit ranking (a use unit may be a private person) and the repeat-elevator list
are left out, and nothing about who generated or published it is shown. This is the public read path: it
does not reuse the staff selectors (:func:`liftsafe.reports.selectors.reports_for`).

The top-10 lists (brands and maintenance units with the most faults per 10,000 elevators, causes) are
read from the snapshot's own ranking tables (definitions in :mod:`liftsafe.reports.indicators.rankings`
and :mod:`liftsafe.reports.indicators.cases`; docs/domain §10, §4.3), never recomputed from live data.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from liftsafe.core.errors import NotFound

from .models import Report

#: tables of the snapshot the public sees (everything else is dropped)
PUBLIC_TABLES = frozenset({
    "by_area", "by_category", "by_age_band", "by_place_type", "by_channel", "by_type", "by_hour_band", "by_month", "causes_by_class", "causes_by_item", "top_maintenance_units", "top_brands", "hazards_by_level",
})
#: the public number of entries of a top list (Shandong publishes the top 10, docs/domain §10)
TOP_N = 10


@dataclass(frozen=True)
class PublicReport:
    """A published report as the public sees it. ``data`` is the whitelisted snapshot (ReportData shape)."""

    id: int
    area_name: str
    area_code: str
    period_kind: str
    period_label: str
    language: str
    generated_at: dt.datetime
    published_at: dt.datetime
    data: dict


def _published() -> QuerySet[Report]:
    return Report.objects.filter(status=Report.Status.PUBLISHED, published_at__isnull=False).select_related("area")


def project_data(data: dict) -> dict:
    """A deep copy of the snapshot ``data`` keeping only :data:`PUBLIC_TABLES` and the charts and indicators
    (aggregate numbers); a section left with nothing is dropped."""
    out = copy.deepcopy(data or {})
    sections = []
    for s in out.get("sections") or []:
        s["tables"] = [t for t in s.get("tables") or [] if t.get("key") in PUBLIC_TABLES]
        if s.get("tables") or s.get("indicators") or s.get("charts"):
            sections.append(s)
    out["sections"] = sections
    return out


def _project(r: Report) -> PublicReport:
    return PublicReport(id=r.pk, area_name=r.area.name, area_code=r.area.code, period_kind=r.period_kind,
                        period_label=r.period_label, language=r.language, generated_at=r.generated_at,
                        published_at=r.published_at, data=project_data(r.data))


def published_reports(*, language: str | None = None, limit: int = 200) -> list[PublicReport]:
    """Published reports, newest period first (at most ``limit``); ``language`` "zh-hans"/"en" filters."""
    qs = _published().order_by("-period_start", "area__path", "language", "-id")
    if language:
        qs = qs.filter(language=language)
    return [_project(r) for r in qs[:limit]]


def published_report(pk: int) -> PublicReport:
    """The published report ``pk``. Raises NotFound for a draft or a missing report (indistinguishable)."""
    r = _published().filter(pk=pk).first()
    if r is None:
        raise NotFound("report not found")
    return _project(r)


@dataclass(frozen=True)
class TopEntry:
    """One entry of a public top list: ``per_10k`` = faults ÷ elevators in use × 10,000 (docs/domain §3.6)."""

    rank: int
    name: str
    elevators: int
    faults: int
    per_10k: float | None


@dataclass(frozen=True)
class CauseEntry:
    rank: int
    cause_class: str
    cause_item: str
    faults: int
    share_pct: float | None


@dataclass(frozen=True)
class TopLists:
    brands: list[TopEntry]
    maintenance_units: list[TopEntry]
    causes: list[CauseEntry]


def _table(data: dict, key: str) -> dict | None:
    for s in data.get("sections") or []:
        for t in s.get("tables") or []:
            if t.get("key") == key:
                return t
    return None


def _ranking(data: dict, key: str) -> list[TopEntry]:
    """Rows of a snapshot ranking table (``[rank, name, elevators, faults, entrapments, …]``, see
    ``rankings._ranking``) as :class:`TopEntry`, most faults per 10,000 elevators first, at most :data:`TOP_N`."""
    t = _table(data, key)
    rows = []
    for r in (t or {}).get("rows") or []:
        try:
            name, n, f = str(r[1]), int(r[2] or 0), int(r[3] or 0)
        except (IndexError, TypeError, ValueError):
            continue
        rows.append((name, n, f, round(f * 10000 / n, 1) if n else None))
    rows.sort(key=lambda x: (-(x[3] or 0), x[0]))
    return [TopEntry(i + 1, name, n, f, p) for i, (name, n, f, p) in enumerate(rows[:TOP_N])]


def top_lists(report: PublicReport) -> TopLists:
    """The public top-10 lists of a published report, from its snapshot (docs/domain §10): brands and
    maintenance units by faults per 10,000 elevators (only those with at least ``report_min_fleet_size``
    elevators, as the snapshot's rankings hold), causes by faults (``causes_by_item``, docs/domain §4.3)."""
    data = report.data
    causes = []
    t = _table(data, "causes_by_item")
    items = sorted(((t or {}).get("rows") or []), key=lambda r: -(r[2] or 0) if len(r) > 2 and isinstance(r[2], int) else 0)
    for i, r in enumerate(items[:TOP_N]):
        causes.append(CauseEntry(i + 1, str(r[0]), str(r[1]), int(r[2] or 0), r[4] if len(r) > 4 else None))
    return TopLists(brands=_ranking(data, "top_brands"), maintenance_units=_ranking(data, "top_maintenance_units"),
                    causes=causes)
