"""The risk list's filters, declared once: the page, its CSV export and the API call :func:`parse` then :func:`apply`.

Query parameters: ``colour`` (blue/yellow/orange/red), ``area`` (area code, everything below it), ``raised``
(``1``: lifts a key period raised; ``0``: not raised), ``replacement`` (``1``/``0``: flagged for replacement).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from liftsafe.core.models import Area

from . import selectors
from .models import Colour, RiskScore

KEYS = ("colour", "area", "raised", "replacement")


def _bool(value: str, field: str, errs: dict):
    if value in ("", None):
        return None
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    errs[field] = [_("Expected 1 or 0.")]
    return None


def parse(params) -> dict:
    """``{"colour": str, "area": Area|None, "raised": bool|None, "replacement": bool|None}`` from a query dict.

    Raises ValidationError naming each bad parameter (unknown colour or area code, a flag that is not 1/0)."""
    errs: dict[str, list[str]] = {}
    colour = (params.get("colour") or "").strip()
    if colour and colour not in Colour.values:
        errs["colour"] = [_("Unknown colour %(c)r; expected one of %(all)s.") % {"c": colour, "all": ", ".join(Colour.values)}]
    code = (params.get("area") or "").strip()
    area = None
    if code:
        area = Area.objects.filter(code=code).first()
        if area is None:
            errs["area"] = [_("Unknown area code %(c)r.") % {"c": code[:32]}]
    raised = _bool((params.get("raised") or "").strip(), "raised", errs)
    replacement = _bool((params.get("replacement") or "").strip(), "replacement", errs)
    if errs:
        raise ValidationError(errs)
    return {"colour": colour, "area": area, "raised": raised, "replacement": replacement}


def apply(user, values: dict) -> QuerySet[RiskScore]:
    """The scoped rows for parsed ``values`` (highest score first)."""
    return selectors.filtered_scores(user, **values)
