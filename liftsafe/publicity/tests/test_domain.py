"""The national campaign calendar (docs/domain §15.8) and the sanitising rule, computed, for several years."""
import datetime as dt

import pytest

from liftsafe.publicity import domain


@pytest.mark.parametrize("year, school_day, week_start", [
    (2022, dt.date(2022, 3, 28), dt.date(2022, 9, 12)),   # 2022-03-28 was the 27th school safety day (§15.8)
    (2025, dt.date(2025, 3, 31), dt.date(2025, 9, 8)),
    (2026, dt.date(2026, 3, 30), dt.date(2026, 9, 14)),
    (2027, dt.date(2027, 3, 29), dt.date(2027, 9, 13)),
    (2028, dt.date(2028, 3, 27), dt.date(2028, 9, 11)),
])
def test_national_dates(year, school_day, week_start):
    d = {x.key: x for x in domain.national_dates(year)}
    assert d["school_safety_day"].start == d["school_safety_day"].end == school_day
    assert school_day.weekday() == 0 and (school_day + dt.timedelta(days=7)).month == 4
    assert d["childrens_day"].start == dt.date(year, 6, 1)
    assert (d["quality_month"].start, d["quality_month"].end) == (dt.date(year, 9, 1), dt.date(year, 9, 30))
    assert (d["elevator_safety_week"].start, d["elevator_safety_week"].end) == (week_start, week_start + dt.timedelta(days=6))
    assert d["elevator_safety_week"].days == 7 and week_start.weekday() == 0
    assert [x.start for x in domain.national_dates(year)] == sorted(x.start for x in domain.national_dates(year))


def test_safety_week_is_a_rule(settings):
    settings.LIFTSAFE_RULES = {"publicity_safety_week_monday": 1}
    assert domain.national_date(2025, "elevator_safety_week").start == dt.date(2025, 9, 1)
    settings.LIFTSAFE_RULES = {"publicity_safety_week_monday": 4}
    assert domain.national_date(2025, "elevator_safety_week").start == dt.date(2025, 9, 22)


def test_years_out_of_range_refused():
    with pytest.raises(ValueError):
        domain.national_dates(1995)
    with pytest.raises(ValueError):
        domain.national_dates(10000)


@pytest.mark.parametrize("md, forbidden", [
    ("<script>alert(1)</script>hello", ["<script", "alert(1)"]),
    ('<img src="x.png" onerror="alert(1)">', ["onerror", "alert"]),
    ("[click](javascript:alert(1))", ["javascript:"]),
    ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "alert"]),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', ["data:"]),
    ('<p style="x" onclick="evil()">t</p>', ["onclick", "style=", "evil"]),
    ("<iframe src='https://evil.example'></iframe>", ["<iframe"]),
    ("<svg><script>1</script></svg>", ["<svg", "<script"]),
])
def test_markdown_is_sanitised(md, forbidden):
    html = domain.render_markdown(md).lower()
    for f in forbidden:
        assert f.lower() not in html, html


def test_markdown_keeps_the_allowed_structure():
    html = domain.render_markdown("## 乘梯安全\n\n- **不要**扒门\n- 被困拨打 [96333](tel:96333)\n\n> 保持冷静\n\n![图](https://example.org/a.png)")
    assert "<h2>乘梯安全</h2>" in html and "<strong>不要</strong>" in html and "<blockquote>" in html
    assert 'href="tel:96333"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert '<img alt="图" src="https://example.org/a.png">' in html
