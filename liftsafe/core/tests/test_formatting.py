"""liftsafe.core.formatting: the one number format of reports and pages, and its template filters."""
from __future__ import annotations

import math

from django.template import Context, Template

from liftsafe.core.formatting import DASH, fmt_number, percent


def test_fmt_number():
    assert fmt_number(76088) == "76,088"
    assert fmt_number(76088, "count") == "76,088"
    assert fmt_number(12.5, "%") == "12.5%"
    assert fmt_number(None) == DASH == "—"
    assert fmt_number(math.nan) == "—"
    assert fmt_number(0.125) == "0.125"
    assert fmt_number(100.0, "%") == "100%"
    assert fmt_number(0.0, "%") == "0%"
    assert fmt_number(1234.567) == "1,234.57"
    assert fmt_number(True) == "True"


def test_small_rates_keep_two_significant_digits():
    assert fmt_number(100 * 12 / 43968, "%") == "0.027%"
    assert fmt_number(0.0027, "%") == "0.0027%"
    assert fmt_number(-0.00031) == "-0.00031"


def test_percent():
    assert percent(12, 43968) == 12 * 100.0 / 43968
    assert percent(3, 0) is None and percent(None, 5) is None


def test_template_filters():
    t = Template('{% load liftsafe_format %}{{ a|percent_of:b|fmt_number:"%" }}|{{ n|fmt_number }}|{{ z|percent_of:0|fmt_number:"%" }}')
    assert t.render(Context({"a": 12, "b": 43968, "n": 43968, "z": 5})) == "0.027%|43,968|—"


def test_odd_input_never_raises():
    """Review fix: ±infinity, Decimal and non-numbers (a template's "" for a missing variable) do not raise."""
    from decimal import Decimal

    assert fmt_number(math.inf) == fmt_number(-math.inf) == DASH
    assert fmt_number(Decimal("12.50"), "%") == "12.5%" and fmt_number(Decimal("NaN")) == DASH
    assert percent("", 5) is None and percent("x", 5) is None and percent(3, "") is None
    assert percent(Decimal(3), 4) == 75.0
    t = Template('{% load liftsafe_format %}[{{ r.missing|percent_of:r.n|fmt_number:"%" }}]')
    assert t.render(Context({"r": {"n": 5}})) == "[—]"
