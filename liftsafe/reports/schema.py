"""The shape of a report's numbers: what the selectors compute and every renderer reads.

One JSON-serialisable dict (stored as the report's frozen snapshot, so a
published report never changes when data arrives later) feeds the dashboard
page, the HTML, PDF and XLSX renderings and the API. Renderers walk it
generically: a new indicator needs no renderer change.

Shape (all keys always present; numbers are ``None`` when undefined, e.g. a
rate over zero elevators)::

    ReportData = {
        "version": 1,
        "language": "zh-hans" | "en",
        "area": {"code": str, "name": str},
        "period": {"kind": "month" | "quarter" | "year", "label": "2023-05" | "2023-Q2" | "2023",
                   "start": "2023-05-01", "end": "2023-06-01",      # half-open [start, end), local dates
                   "months": 1},
        "compare": {"previous": {"label": ...}, "last_year": {"label": ...}},
        "generated_at": ISO-8601 aware datetime,
        "time_zone": "America/New_York",  # local time of the period, hours and months (the report area's zone)
        "time_zones": [str, ...],       # every zone among the report's areas (time_zone first)
        "empty": bool,                  # no cases and no hazards in the period (an honest empty report)
        "sections": [Section, ...],
        "definitions": [Definition, ...],  # the appendix
    }
    Section = {"key": str, "title": str,
               "indicators": [Indicator, ...],   # headline numbers with comparisons
               "tables": [Table, ...],
               "charts": [Chart, ...],
               "notes": [str, ...]}
    Indicator = {"key": str, "label": str, "unit": "%" | "count" | "s" | "min" | "per 10k" | ...,
                 "value": float | int | None,
                 "previous": float | int | None,       # same indicator, previous period
                 "last_year": float | int | None,      # same period last year
                 "numerator": int | None, "denominator": int | None}
    Table = {"key": str, "title": str, "columns": [str, ...], "rows": [[cell, ...], ...]}
                 # cells: str | int | float | None; a first column is the label
    Chart = {"key": str, "title": str, "kind": "bar" | "line" | "pie" | "barh",
             "x": [str, ...], "series": [{"name": str, "values": [number | None, ...]}, ...],
             "unit": str}
    Definition = {"key": str, "label": str, "formula": str, "source": str}

Labels are already translated into ``language`` when the data is built.
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

SCHEMA_VERSION = 1


class Indicator(TypedDict):
    key: str
    label: str
    unit: str
    value: float | int | None
    previous: float | int | None
    last_year: float | int | None
    numerator: int | None
    denominator: int | None


class Table(TypedDict):
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]


class Series(TypedDict):
    name: str
    values: list[float | int | None]


class Chart(TypedDict):
    key: str
    title: str
    kind: Literal["bar", "line", "pie", "barh"]
    x: list[str]
    series: list[Series]
    unit: str


class Definition(TypedDict):
    key: str
    label: str
    formula: str
    source: str


class Section(TypedDict):
    key: str
    title: str
    indicators: list[Indicator]
    tables: list[Table]
    charts: list[Chart]
    notes: list[str]


class ReportData(TypedDict):
    version: int
    language: str
    area: dict
    period: dict
    compare: dict
    generated_at: str
    time_zone: str          # IANA zone of the period bounds, hours and months (the report area's)
    time_zones: list[str]   # every zone among the report's areas (the report's first)
    empty: bool
    sections: list[Section]
    definitions: list[Definition]
