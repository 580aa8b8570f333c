"""Report periods: parsing, bounds in local time, previous / same-last-year, refusal of future and unfinished periods."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from liftsafe.reports.periods import Period, parse_period

TODAY = dt.date(2023, 7, 15)


def test_labels_bounds_months():
    m, q, y = parse_period("2023-05", TODAY), parse_period("2023-Q2", TODAY), parse_period("2022", TODAY)
    assert (m.kind, m.start, m.end, m.label, m.months) == ("month", dt.date(2023, 5, 1), dt.date(2023, 6, 1), "2023-05", 1)
    assert (q.kind, q.start, q.end, q.label, q.months) == ("quarter", dt.date(2023, 4, 1), dt.date(2023, 7, 1), "2023-Q2", 3)
    assert (y.kind, y.start, y.end, y.label, y.months) == ("year", dt.date(2022, 1, 1), dt.date(2023, 1, 1), "2022", 12)
    assert parse_period("2023q1", TODAY).label == "2023-Q1" and parse_period(" 2023-5 ", TODAY).label == "2023-05"
    assert parse_period(m, TODAY) is m
    assert m.as_dict() == {"kind": "month", "label": "2023-05", "start": "2023-05-01", "end": "2023-06-01", "months": 1}
    assert [d.month for d in q.month_starts()] == [4, 5, 6]


def test_previous_and_same_last_year():
    assert Period.of("month", 2023, 1).previous().label == "2022-12"
    assert Period.of("month", 2023, 3).previous().end == dt.date(2023, 3, 1)
    assert Period.of("quarter", 2023, 1).previous().label == "2022-Q4"
    assert Period.of("year", 2023).previous().label == "2022"
    assert Period.of("month", 2024, 2).same_last_year() == Period("month", dt.date(2023, 2, 1), dt.date(2023, 3, 1))
    assert Period.of("quarter", 2023, 2).same_last_year().label == "2022-Q2"
    assert Period.containing("quarter", dt.date(2023, 11, 30)).label == "2023-Q4"


def test_aware_bounds_in_the_platform_time_zone(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    p = Period.of("month", 2023, 5)
    assert p.start_at == dt.datetime(2023, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert p.start_at.astimezone(dt.timezone.utc) == dt.datetime(2023, 4, 30, 16, 0, tzinfo=dt.timezone.utc)
    settings.TIME_ZONE = "America/New_York"
    assert Period.of("month", 2023, 5).end_at.astimezone(dt.timezone.utc) == dt.datetime(2023, 6, 1, 4, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text", ["", "garbage", "2023-13", "2023-00", "2023-Q5", "23-05", "2023-05-01", "0999", None])
def test_garbage_names_the_period_field(text):
    with pytest.raises(ValidationError) as e:
        parse_period(text, TODAY)
    assert set(e.value.message_dict) == {"period"}


def test_future_and_current_periods():
    for text in ("2023-08", "2024", "2023-Q4"):
        with pytest.raises(ValidationError) as e:
            parse_period(text, TODAY, allow_current=True)
        assert "future" in e.value.message_dict["period"][0] or "尚未到来" in e.value.message_dict["period"][0]
    for text in ("2023-07", "2023-Q3", "2023"):  # current, unfinished: only for the live dashboard
        with pytest.raises(ValidationError):
            parse_period(text, TODAY)
        assert parse_period(text, TODAY, allow_current=True).label == text
    # a period that ended yesterday is a finished period
    assert parse_period("2023-06", dt.date(2023, 7, 1)).label == "2023-06"
    with pytest.raises(ValidationError):
        parse_period("2023-07", dt.date(2023, 7, 1))
