"""Table tests of the pure schedule engine; every row cites its source (docs/domain, the project's domain reference)."""
import datetime as dt

import pytest

from liftsafe.inspection import schedule as s
from liftsafe.inspection.schedule import INSPECTION as I
from liftsafe.inspection.schedule import SELF_TEST as T

D = dt.date
T7001 = s.T7001_2023

# base 2024-05-xx (after the 2023-04-01 transition, so T7001-2023 applies throughout)
KIND_TABLE = [
    # (k, expected kind, source)
    (1, I, "docs/domain §6/§15.2: T7001-2023 inspection year 1"),
    (2, T, "docs/domain §6: T7008-2023 self-testing in the other years"),
    (3, T, "docs/domain §6: self-testing"),
    (4, I, "docs/domain §6: inspection year 4"),
    (5, T, "docs/domain §6: self-testing"),
    (6, T, "docs/domain §6: self-testing"),
    (7, I, "docs/domain §6: inspection year 7"),
    (8, T, "docs/domain §6"),
    (9, I, "docs/domain §6: inspection year 9"),
    (10, T, "docs/domain §6"),
    (11, I, "docs/domain §6: inspection year 11"),
    (12, T, "docs/domain §6"),
    (13, I, "docs/domain §6: inspection year 13"),
    (14, T, "docs/domain §6"),
    (15, I, "docs/domain §6: inspection year 15"),
    (16, I, "docs/domain §6/§15.2: every year after 15 years"),
    (17, I, "docs/domain §6/§15.2: every year after 15 years"),
    (30, I, "docs/domain §6/§15.2: every year after 15 years"),
]


@pytest.mark.parametrize("k,kind,source", KIND_TABLE)
def test_t7001_kind_by_year(k, kind, source):
    occ = s.occurrence(T7001, D(2024, 5, 17), k)
    assert occ.kind == kind, source
    # due = the base month of that year, last day (docs/domain §15.2: "due date = the base month of that year")
    assert (occ.due.year, occ.due.month) == (2024 + k, 5)
    assert occ.due == s.month_end(occ.due)


@pytest.mark.parametrize("base,k,kind,source", [
    (D(2015, 6, 10), 1, I, "docs/domain §15.2 transition: 2016-06 is before 2023-04-01, legacy annual rule"),
    (D(2015, 6, 10), 2, I, "docs/domain §15.2 transition: 2017 annual (self-test year under T7001-2023)"),
    (D(2015, 6, 10), 7, I, "docs/domain §15.2 transition: 2022-06 before 2023-04-01 → annual inspection"),
    (D(2015, 6, 10), 8, T, "docs/domain §6: 2023-06 after the switch, year 8 is a self-test year"),
    (D(2015, 6, 10), 9, I, "docs/domain §6: year 9 inspection"),
    (D(2022, 3, 1), 1, I, "docs/domain §15.2: due 2023-03-31 < 2023-04-01, annual"),
    (D(2022, 4, 1), 2, T, "docs/domain §6: due 2024-04, year 2 self-test"),
])
def test_transition(base, k, kind, source):
    assert s.occurrence(T7001, base, k).kind == kind, source


@pytest.mark.parametrize("k,kind,source", [
    (1, T, "docs/domain §6 Shanxi 2020 pilot: ≤ 6 years every 3 years (self-test otherwise)"),
    (2, T, "docs/domain §6 Shanxi pilot"),
    (3, I, "docs/domain §6 Shanxi pilot: every 3 years"),
    (6, I, "docs/domain §6 Shanxi pilot: every 3 years"),
    (7, T, "docs/domain §6 Shanxi pilot: 6-15 years every 2 years"),
    (8, I, "docs/domain §6 Shanxi pilot: every 2 years"),
    (14, I, "docs/domain §6 Shanxi pilot: every 2 years"),
    (15, T, "docs/domain §6 Shanxi pilot"),
    (16, I, "docs/domain §6 Shanxi pilot: > 15 years annual"),
])
def test_shanxi_pilot_bands(k, kind, source):
    assert s.occurrence(s.SHANXI_2020, D(2010, 1, 5), k).kind == kind, source


def test_legacy_annual_every_year():
    """docs/domain §6 legacy rule (TSG T7001-2009): every year an inspection, no self-test."""
    assert {o.kind for o in s.plan(s.LEGACY_ANNUAL, D(2024, 1, 1), 20)} == {I}


@pytest.mark.parametrize("done,next_due,next_kind,source", [
    ([], D(2025, 5, 31), I, "docs/domain §15.2: first occurrence = year 1 in the base month"),
    ([s.Done(D(2025, 5, 20), I)], D(2026, 5, 31), T, "docs/domain §6: inspection in year 1 → year 2 self-test"),
    ([s.Done(D(2025, 3, 1), I)], D(2026, 5, 31), T,
     "docs/domain §6: brought forward 2 months (window opens 2025-03-01): next due does not move"),
    ([s.Done(D(2025, 2, 28), I)], D(2025, 5, 31), I,
     "docs/domain §6: more than 2 months early → satisfies nothing, year 1 still due"),
    ([s.Done(D(2025, 5, 20), I), s.Done(D(2026, 4, 1), T)], D(2027, 5, 31), T,
     "docs/domain §6 (T7008): self-test up to 1 month early, next due does not move"),
    ([s.Done(D(2025, 5, 20), I), s.Done(D(2026, 3, 31), T)], D(2026, 5, 31), T,
     "docs/domain §6: self-test more than 1 month early satisfies nothing"),
    ([s.Done(D(2025, 5, 20), T)], D(2025, 5, 31), I, "docs/domain §6: a self-test cannot stand in for an inspection year"),
    ([s.Done(D(2025, 5, 20), I), s.Done(D(2026, 5, 2), I)], D(2027, 5, 31), T,
     "docs/domain §6: an inspection also satisfies a self-test year"),
    ([s.Done(D(2025, 8, 10), I)], D(2026, 5, 31), T, "late inspection satisfies year 1; the anchor (base month) stays"),
    ([s.Done(D(2028, 5, 3), I)], D(2029, 5, 31), T,
     "years 1-3 missed, the inspection in year 4's window satisfies year 4 (missed years not owed twice)"),
])
def test_state_t7001(done, next_due, next_kind, source):
    st = s.state(T7001, D(2024, 5, 17), done)
    assert (st.next.due, st.next.kind) == (next_due, next_kind), source


def test_events_before_base_ignored():
    """docs/domain §15.2: a new supervision pass (major repair) resets the base; earlier events count for nothing."""
    st = s.state(T7001, D(2024, 5, 17), [s.Done(D(2024, 1, 1), I)])
    assert st.satisfied == 0 and len(st.ignored) == 1


@pytest.mark.parametrize("passes,expected,source", [
    ((D(2010, 3, 1), None), D(2010, 3, 1), "docs/domain §15.2: installation supervision pass"),
    ((D(2010, 3, 1), D(2020, 7, 9)), D(2020, 7, 9), "docs/domain §15.2: major-repair supervision pass resets the base"),
    ((D(2010, 3, 1), D(2019, 1, 1), D(2022, 2, 2)), D(2022, 2, 2), "docs/domain §6: reuse pass after a stop ≥ 1 year"),
    ((None, None), None, "no pass known"),
])
def test_base_date(passes, expected, source):
    assert s.base_date(*passes) == expected, source


@pytest.mark.parametrize("stopped,resumed,needed", [
    (D(2023, 1, 10), D(2024, 1, 10), True),   # docs/domain §6: stopped ≥ 1 year
    (D(2023, 1, 10), D(2024, 1, 9), False),
    (D(2024, 2, 29), D(2025, 2, 28), True),   # leap day clamps to the month's last day
])
def test_reuse_after_stop(stopped, resumed, needed):
    assert s.needs_inspection_before_reuse(stopped, resumed) is needed


def test_self_test_early_refusal():
    """docs/domain §6 (T7008-2023): a self-test may be at most 1 month early."""
    done = [s.Done(D(2025, 5, 20), I)]
    assert s.early_refusal(T7001, D(2024, 5, 17), done, T, D(2026, 3, 31)) == "self_test_too_early"
    assert s.early_refusal(T7001, D(2024, 5, 17), done, T, D(2026, 4, 1)) is None
    assert s.early_refusal(T7001, D(2024, 5, 17), done, I, D(2025, 1, 1)) is None


@pytest.mark.parametrize("done,due,source", [
    ([], D(2016, 3, 14), "docs/domain §12: 12 months after the last known inspection (or the base)"),
    ([s.Done(D(2015, 9, 1), I)], D(2016, 9, 1), "docs/domain §12: ASME A17.1 Category 1 every 12 months"),
    ([s.Done(D(2015, 9, 1), I), s.Done(D(2016, 2, 29), I)], D(2017, 2, 28), "rolling; day clamped"),
])
def test_nyc_rolling(done, due, source):
    st = s.state(s.NYC_ANNUAL, D(2015, 3, 14), done)
    assert st.next.due == due and st.next.kind == I, source


@pytest.mark.parametrize("area,category,table,code", [
    ("CN-14-01", "3110", None, "t7001_2023"),
    ("US-NY-NYC-MN", "3110", {"*": "t7001_2023", "US": "nyc_annual"}, "nyc_annual"),
    ("CN-14-01", "3110", {"*": "t7001_2023", "CN-14": "shanxi_2020_pilot"}, "shanxi_2020_pilot"),
    ("CN-140", "3110", {"*": "t7001_2023", "CN-14": "shanxi_2020_pilot"}, "t7001_2023"),  # prefix on code segments
    ("CN-14-01", "3110", {"*": "t7001_2023", "CN-14": "shanxi_2020_pilot", "CN-14-01": "legacy_annual"}, "legacy_annual"),
])
def test_select_policy(area, category, table, code):
    assert s.select_policy(area, category, table).code == code


def test_select_policy_unknown_code():
    with pytest.raises(KeyError):
        s.select_policy("CN-1", "3110", {"*": "nope"})


def test_add_months_clamps():
    assert s.add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert s.add_months(D(2024, 3, 15), -3) == D(2023, 12, 15)
