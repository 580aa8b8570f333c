"""The one working-day helper (docs/domain §15.3): official calendar with make-up days, weekdays-only fallback said so."""
import datetime as dt

from liftsafe.core.workdays import is_working_day


def test_official_holidays_and_make_up_days():
    assert is_working_day(dt.date(2024, 10, 1)) == (False, True)   # National Day, a Tuesday
    assert is_working_day(dt.date(2024, 9, 29)) == (True, True)    # Sunday made a working day (调休)
    assert is_working_day(dt.date(2024, 10, 8)) == (True, True)


def test_a_year_not_yet_published_falls_back_to_weekdays_and_says_so():
    assert is_working_day(dt.date(2099, 10, 1)) == (True, False)   # a Thursday
    assert is_working_day(dt.date(2099, 10, 3)) == (False, False)  # a Saturday
