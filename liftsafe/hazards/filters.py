"""The hazard list's filters, declared once (issue 10 "One filter declaration per list"; the registry's
:mod:`liftsafe.registry.filters` style).

The list page (``/hazards/``), its CSV/XLSX downloads (``?format=csv|xlsx``) and the API search
(``GET /api/hazards/hazards``) read their filters through :func:`parse` and run them through :func:`apply`, so a
filter added here works on every one of them and an export holds exactly the rows the page shows.

Filters (query parameters): ``q`` (hazard number, title, device number, registration code or source reference),
``state``, ``level``, ``source`` (choice values), ``area`` (area code, everything below it), ``open``,
``overdue`` (past the deadline where the lift is), ``listed`` (booleans: 1/true/on/yes or 0/false/off/no),
``responsible_unit``, ``elevator`` (ids).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from .models import Hazard, Level, Source, State


@dataclass(frozen=True)
class Filter:
    """One filter: query parameter ``name``, ``kind`` ("str", "int", "bool" or "choice"), label, choices."""

    name: str
    kind: str
    label: str
    choices: tuple = ()


HAZARD_FILTERS = (
    Filter("q", "str", _l("Search")),
    Filter("state", "choice", _l("state"), tuple(State.values)),
    Filter("level", "choice", _l("level"), tuple(Level.values)),
    Filter("source", "choice", _l("source"), tuple(Source.values)),
    Filter("area", "str", _l("area")),
    Filter("open", "bool", _l("open")),
    Filter("overdue", "bool", _l("overdue")),
    Filter("listed", "bool", _l("listed")),
    Filter("responsible_unit", "int", _l("responsible unit")),
    Filter("elevator", "int", _l("elevator")),
)
TRUE, FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


@dataclass(frozen=True)
class _Label:
    label: str


@dataclass(frozen=True)
class _Labels:
    """The filters' labels in the shape :func:`liftsafe.core.errors.add_service_error` reads from a form
    (``form.fields[name].label``), so a refused filter is named by its label."""

    fields: dict


LABELS = _Labels({f.name: _Label(f.label) for f in HAZARD_FILTERS})


def parse(params) -> dict:
    """Filters from a query dict (page, export or API): ``{"q": str, "state": str|None, "open": bool, …}``.

    Raises:
        ValidationError: naming each bad parameter (an unknown state/level/source, a non-number id, a boolean
            that is neither yes nor no), so a typo is refused instead of giving an empty or unfiltered list.
    """
    out: dict = {}
    errors: dict[str, str] = {}
    for f in HAZARD_FILTERS:
        raw = params.get(f.name)
        raw = "" if raw is None else str(raw).strip()
        if f.kind == "str":
            out[f.name] = raw[:100] if f.name == "q" else (raw or None)
        elif f.kind == "bool":
            low = raw.lower()
            if low in TRUE:
                out[f.name] = True
            elif low in FALSE or not low:
                out[f.name] = False
            else:
                errors[f.name] = _("must be yes or no, got %(v)r") % {"v": raw}
        elif not raw:
            out[f.name] = None
        elif f.kind == "int":
            try:
                out[f.name] = int(raw.lstrip("#"))
            except ValueError:
                errors[f.name] = _("must be a whole number, got %(v)r") % {"v": raw}
        elif raw not in f.choices:
            errors[f.name] = _("unknown value %(v)r; one of %(c)s") % {"v": raw, "c": ", ".join(f.choices)}
        else:
            out[f.name] = raw
    if errors:
        raise ValidationError(errors)
    return out


def apply(user, filters: dict) -> QuerySet[Hazard]:
    """``user``'s hazards matching ``filters`` (as from :func:`parse`; missing keys mean "any"), newest first."""
    from .selectors import hazard_search

    return hazard_search(user, q=filters.get("q") or "", state=filters.get("state"), level=filters.get("level"),
                         area=filters.get("area"), source=filters.get("source"), overdue=bool(filters.get("overdue")),
                         listed=bool(filters.get("listed")), open_only=bool(filters.get("open")),
                         responsible_unit=filters.get("responsible_unit"), elevator=filters.get("elevator"))


#: columns of the list's CSV/XLSX download: (header, value of a hazard)
EXPORT_COLUMNS = (
    (_l("Hazard"), lambda h: h.pk),
    (_l("Title"), lambda h: h.title),
    (_l("Elevator"), lambda h: h.elevator.display_code),
    (_l("Address"), lambda h: h.elevator.address),
    (_l("Area"), lambda h: h.area.code),
    (_l("Source"), lambda h: h.get_source_display()),
    (_l("Level"), lambda h: h.get_level_display()),
    (_l("State"), lambda h: h.get_state_display()),
    (_l("Responsible unit"), lambda h: h.responsible_unit.name if h.responsible_unit_id else ""),
    (_l("Deadline"), lambda h: h.deadline.isoformat() if h.deadline else ""),
    (_l("Overdue"), lambda h: bool(getattr(h, "overdue_now", False))),
    (_l("Listed"), lambda h: h.listed),
    (_l("Filed at"), lambda h: h.filed_at.isoformat() if h.filed_at else ""),
)


def export_rows(qs, limit: int = 100_000):
    """Header row then one row per hazard of ``qs`` (the page's queryset), at most ``limit`` rows."""
    yield [str(h) for h, _fn in EXPORT_COLUMNS]
    for h in qs[:limit].iterator(chunk_size=2000):
        yield [fn(h) for _h, fn in EXPORT_COLUMNS]
