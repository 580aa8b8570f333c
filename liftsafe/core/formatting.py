"""Number formatting shared by every page and rendering (reports, monitoring, …).

One definition of how a number is shown, so a rate reads the same on a report and on a page:
thousands separators, at most 2 decimals (3 below 1), and small non-zero values keep two
significant digits, so a small rate is never rounded to "0" (12 of 43,968 = 0.027 %, not 0 %).
Templates use it as the ``fmt_number`` filter (``{% load liftsafe_format %}``,
:mod:`liftsafe.core.templatetags.liftsafe_format`).
"""
from __future__ import annotations

import math
from decimal import Decimal

DASH = "—"


def fmt_number(value, unit: str = "") -> str:
    """A number for display: thousands separators, at most 2 decimals (3 for small rates), "—" for None.

    ``value``: int, float, Decimal or None (NaN and ±infinity show as "—" too; bool and any other type are
    shown with ``str``).
    ``unit``: ``"%"`` appends a percent sign (the value is a percentage already: 12.5 = 12.5 %);
    any other unit adds nothing (callers add unit labels). Values with ``0 < |value| < 0.01`` keep two
    significant digits (0.0027, not 0). Never raises.

    >>> fmt_number(76088, "count"), fmt_number(12.5, "%"), fmt_number(None)
    ('76,088', '12.5%', '—')
    >>> fmt_number(100 * 12 / 43968, "%"), fmt_number(0.0027, "%")
    ('0.027%', '0.0027%')
    """
    if isinstance(value, Decimal):  # e.g. a PostgreSQL numeric aggregate: formatted like a float, unit kept
        value = float(value) if value.is_finite() else math.nan
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        digits = 3 if 0 < abs(value) < 1 else 2
        if 0 < abs(value) < 0.01:  # small rates keep two significant digits (0.0027%, not 0%)
            digits = 1 - math.floor(math.log10(abs(value)))
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    else:
        return str(value)
    return text + "%" if unit == "%" else text


def percent(part, whole) -> float | None:
    """``part`` as a percentage of ``whole`` (float, 12 of 43,968 → 0.0273); None when ``whole`` is 0, either is
    None or either is not a number (e.g. the empty string a template gives for a missing variable). Never raises.

    Show it with ``fmt_number(percent(part, whole), "%")``.
    """
    if part is None or not whole:
        return None
    try:
        return float(part) * 100.0 / float(whole)
    except (TypeError, ValueError, ArithmeticError):
        return None
