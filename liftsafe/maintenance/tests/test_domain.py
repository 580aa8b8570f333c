"""Pure maintenance rules, table-driven, each row citing its source."""
import datetime as dt

import pytest

from liftsafe.maintenance import catalogue, domain
from liftsafe.maintenance.domain import Evidence, evidence_flags, is_overdue, next_due, tier_due, working_day_on_or_before

D = dt.date
UTC = dt.timezone.utc


@pytest.mark.parametrize("annex,expected", [  # docs/domain §5 table: cumulative counts per tier
    ("A", [31, 44, 59, 76]), ("B", [30, 43, 52, 66]), ("C", [20, 28, 38, 52]), ("D", [33, 38, 50, 63]),
])
def test_catalogue_counts_are_the_t5002_counts_and_nested(annex, expected, db):
    assert list(catalogue.counts(annex).values()) == expected
    assert [len(catalogue.items_for(annex, t)) for t in catalogue.TIERS] == expected
    # nested: every half-monthly item is in the yearly checklist (docs/domain §5)
    hm = {i.code for i in catalogue.items_for(annex, "half_monthly")}
    assert hm <= {i.code for i in catalogue.items_for(annex, "yearly")}


def test_catalogue_says_which_texts_are_missing():
    missing = catalogue.missing()
    assert "A-1-29" not in missing and "A-2-01" in missing and "D-1-01" in missing
    assert len(missing) == 257 - 31  # docs/domain §5: 257 items, the 31 A-1 texts shipped
    a129 = next(i for i in catalogue.shipped_items() if i.code == "A-1-29")
    assert a129.unit == "mm" and a129.min == 7 and a129.location == "landing_doors"  # ≥ 7 mm, docs/domain §5


@pytest.mark.parametrize("category,annex", [("3110", "A"), ("3210", "B"), ("3430", "C"), ("3310", "D"), ("3320", "D"), ("9999", None)])
def test_annex_for_category(category, annex):  # docs/domain §1.1 categories ↔ §5 annexes
    assert catalogue.annex_for_category(category) == annex


@pytest.mark.parametrize("done,expected_hm,expected_q", [
    # docs/domain §5/§13: 15 d / 90 d cycles, nested: a quarterly visit resets the half-monthly clock
    ([(D(2026, 3, 1), "half_monthly")], D(2026, 3, 16), D(2026, 1, 1)),
    ([(D(2026, 3, 1), "quarterly")], D(2026, 3, 16), D(2026, 5, 30)),
    ([(D(2026, 3, 1), "quarterly"), (D(2026, 3, 10), "half_monthly")], D(2026, 3, 25), D(2026, 5, 30)),
    # an early visit moves the due date earlier, never later (docs/domain §15.1)
    ([(D(2026, 3, 1), "half_monthly"), (D(2026, 3, 5), "half_monthly")], D(2026, 3, 20), D(2026, 1, 1)),
    ([], D(2026, 1, 1), D(2026, 1, 1)),
])
def test_next_due_rolls_from_same_or_deeper_tier(done, expected_hm, expected_q):
    due = next_due(done, start=D(2026, 1, 1))
    assert due["half_monthly"] == expected_hm and due["quarterly"] == expected_q


def test_tier_due_picks_the_deepest():
    due = {"half_monthly": D(2026, 3, 16), "quarterly": D(2026, 3, 10), "half_yearly": D(2026, 9, 1), "yearly": D(2027, 1, 1)}
    assert tier_due(due, D(2026, 3, 16)) == "quarterly"
    assert tier_due(due, D(2026, 3, 1)) is None


@pytest.mark.parametrize("last,today,overdue", [  # docs/domain §15.1: MORE than 15 calendar days
    (D(2026, 2, 1), D(2026, 2, 16), False),
    (D(2026, 2, 1), D(2026, 2, 17), True),
    (D(2026, 2, 10), D(2026, 2, 26), True),  # across Spring Festival 2026: no extra time
    (None, D(2026, 2, 1), True),
])
def test_overdue(last, today, overdue):
    assert is_overdue(last, today) is overdue


@pytest.mark.parametrize("day,expected,known", [  # docs/domain §15.3: official calendar with 调休
    (D(2025, 10, 3), D(2025, 9, 30), True),   # National Day holiday → the last working day before it
    (D(2025, 9, 28), D(2025, 9, 28), True),   # a Sunday that is a make-up working day (调休)
    (D(2026, 2, 20), D(2026, 2, 14), True),   # Spring Festival 2026: Sat 14 Feb is a make-up working day
    (D(2031, 3, 2), D(2031, 2, 28), False),   # a year the library does not know: weekends only, said so
])
def test_working_day_on_or_before(day, expected, known):
    wd = working_day_on_or_before(day)
    assert (wd.day, wd.calendar_known) == (expected, known)


T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIFT = (32.04, 118.79)


def ev(**kw):
    base = dict(checked_in_at=T0, checked_out_at=T0 + dt.timedelta(minutes=45), location=(32.0401, 118.7901),
                lift_location=LIFT, devices=("p1", "p2"), second_worker=True, certificates_valid=(True, True))
    base.update(kw)
    return Evidence(**base)


@pytest.mark.parametrize("kw,flags", [  # docs/domain §15.1 fraud patterns
    ({}, []),
    ({"checked_out_at": T0 + dt.timedelta(seconds=30)}, ["short_dwell"]),  # a 30-second visit
    ({"location": (32.085, 118.79)}, ["far_from_lift"]),  # ~5 km away
    ({"location": None}, ["no_location"]),
    ({"devices": ("p1", "p1")}, ["one_device"]),  # both workers on one phone
    ({"second_worker": False}, ["no_second_worker"]),  # cardboard second worker
    ({"certificates_valid": (True, False)}, ["expired_certificate"]),
    ({"certificates_valid": (False, False)}, ["expired_certificate", "no_valid_certificate"]),
    ({"received_at": T0 + dt.timedelta(days=3), "claimed_started_at": T0}, ["back_filled"]),
])
def test_evidence_flags(kw, flags):
    assert evidence_flags(ev(**kw)) == flags


def test_distance():
    assert 4900 < domain.distance_m(32.04, 118.79, 32.085, 118.79) < 5100
