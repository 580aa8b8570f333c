"""The elevator list's filters, declared once (issue 10, "One filter declaration per list").

The list page (``/registry/elevators/``), its CSV/XLSX downloads, the API search
(``GET /api/registry/elevators``) and the API exports all read their filters through :func:`parse` and
run them through :func:`apply`, so a filter added here works on every one of them, and an export holds
exactly the rows the page shows.

Filters (query parameters):

- ``q`` — any identity code (exact) or an address prefix;
- ``area`` — area code, everything below it;
- ``category`` — TSG 08 category code; ``status`` — elevator status;
- ``place_type`` — place type code (whole number);
- ``use_unit`` / ``maintenance_unit`` — organisation id (maintenance: the current contract);
- ``use_unit_name`` — use units whose name starts with this (the page's box when there are many use units);
- ``source`` — the registry source.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from . import selectors
from .codes import CATEGORY_CODES
from .models import Elevator, Organisation


@dataclass(frozen=True)
class Filter:
    """One filter: query parameter ``name``, ``kind`` ("str" or "int") and its label (for messages)."""

    name: str
    kind: str
    label: str


ELEVATOR_FILTERS = (
    Filter("q", "str", _l("Search")),
    Filter("area", "str", _l("area")),
    Filter("category", "str", _l("category")),
    Filter("status", "str", _l("status")),
    Filter("place_type", "int", _l("place type")),
    Filter("use_unit", "int", _l("use unit")),
    Filter("use_unit_name", "str", _l("use unit")),
    Filter("maintenance_unit", "int", _l("maintenance unit")),
    Filter("source", "str", _l("source")),
)
FILTER_KEYS = tuple(f.name for f in ELEVATOR_FILTERS)


def parse(params) -> dict:
    """Filters from a query dict (page, export or API): ``{"q": str, "area": str|None, "place_type": int|None, …}``.

    Raises:
        ValidationError: naming each bad parameter (a ``place_type`` that is not a number, an unknown
            ``status`` or ``category``), so a typo is refused instead of giving an empty or unfiltered list.
    """
    out: dict = {}
    errors: dict[str, str] = {}
    for f in ELEVATOR_FILTERS:
        raw = params.get(f.name)
        raw = "" if raw is None else str(raw).strip()
        if f.name == "q":
            out["q"] = raw
        elif not raw:
            out[f.name] = None
        elif f.kind == "int":
            try:
                out[f.name] = int(raw)
            except ValueError:
                errors[f.name] = _("must be a whole number, got %(v)r") % {"v": raw}
        else:
            out[f.name] = raw
    check_values(out, errors)
    if errors:
        raise ValidationError(errors)
    return out


def check_values(filters: dict, errors: dict | None = None) -> None:
    """Reject unknown ``status``/``category`` values (an empty result would hide the typo).

    Raises ValidationError (when ``errors`` is None) naming the field; otherwise adds to ``errors``."""
    local = {} if errors is None else errors
    if filters.get("status") and filters["status"] not in Elevator.Status.values:
        local["status"] = _("unknown status %(v)r; one of %(c)s") % {"v": filters["status"], "c": ", ".join(Elevator.Status.values)}
    if filters.get("category") and filters["category"] not in CATEGORY_CODES:
        local["category"] = _("unknown category %(v)r") % {"v": filters["category"]}
    if errors is None and local:
        raise ValidationError(local)


def apply(user, filters: dict) -> QuerySet[Elevator]:
    """``user``'s elevators matching ``filters`` (as from :func:`parse`; missing keys mean "any"), in search order."""
    qs = selectors.elevator_search(user, filters.get("q") or "", area=filters.get("area"), category=filters.get("category"),
                                   status=filters.get("status"), place_type=filters.get("place_type"),
                                   use_unit=filters.get("use_unit"), maintenance_unit=filters.get("maintenance_unit"),
                                   source=filters.get("source"))
    if filters.get("use_unit_name"):
        units = selectors.organisations_for(user, Organisation.Kind.USE_UNIT)
        qs = qs.filter(use_unit__in=units.filter(name__istartswith=filters["use_unit_name"]).values("pk"))
    return qs
