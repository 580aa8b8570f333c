"""Template filters for numbers (``{% load liftsafe_format %}``), one definition with the renderings:
:mod:`liftsafe.core.formatting`.

- ``{{ value|fmt_number }}`` / ``{{ value|fmt_number:"%" }}``: :func:`~liftsafe.core.formatting.fmt_number`;
- ``{{ part|percent_of:whole|fmt_number:"%" }}``: :func:`~liftsafe.core.formatting.percent` (None → "—").
"""
from __future__ import annotations

from django import template

from liftsafe.core.formatting import fmt_number as _fmt_number
from liftsafe.core.formatting import percent

register = template.Library()


@register.filter(name="fmt_number")
def fmt_number(value, unit: str = "") -> str:
    """:func:`liftsafe.core.formatting.fmt_number` as a filter (the unit is the optional argument)."""
    return _fmt_number(value, unit or "")


@register.filter(name="percent_of")
def percent_of(part, whole):
    """``part`` as a percentage of ``whole`` (float, or None when ``whole`` is 0)."""
    return percent(part, whole)
