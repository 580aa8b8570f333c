"""Band table edges (docs/domain §15.7) and policies in force."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from liftsafe.insurance import domain

from .conftest import make_policy

M = 60


@pytest.mark.parametrize("seconds,key,yuan", [
    (None, None, None),
    (0, None, None),
    (30 * M - 1, None, None),          # 29:59 — below the first band
    (30 * M, "30m_1h", 200),           # exactly 30 min: the first band includes its lower edge (>= 30 min)
    (45 * M, "30m_1h", 200),
    (60 * M, "30m_1h", 200),           # exactly 1 h: still the first band (<= 1 h)
    (60 * M + 1, "1h_1h30", 300),      # just above 1 h
    (90 * M, "1h_1h30", 300),          # exactly 1.5 h
    (90 * M + 1, "1h30_2h", 400),
    (120 * M, "1h30_2h", 400),         # exactly 2 h
    (120 * M + 1, "over_2h", 500),     # > 2 h
    (10 * 3600, "over_2h", 500),
])
def test_band_edges(seconds, key, yuan):
    b = domain.band_for(seconds)
    assert (b.key if b else None) == key
    assert (b.yuan_per_person if b else None) == (Decimal(yuan) if yuan else None)


def test_compensation_per_person_and_unknown_persons():
    c = domain.compensation(95 * M, 3)
    assert (c.band.key, c.yuan_per_person, c.total) == ("1h30_2h", Decimal(400), Decimal(1200))
    unknown = domain.compensation(95 * M, None)
    assert unknown.total is None and unknown.persons is None and unknown.yuan_per_person == Decimal(400)
    assert domain.compensation(95 * M, 0).total is None
    assert domain.compensation(10 * M, 5) is None


def test_configurable_table_jiangxi_style():
    """A deployment's own table (Jiangxi: ¥300 from 10 min) replaces the default through the rule."""
    table = [{"key": "from_10m", "from_s": 600, "to_s": None, "yuan_per_person": 300}]
    assert domain.band_for(599, table) is None
    assert domain.band_for(600, table).yuan_per_person == 300
    assert domain.min_claimable_s(table) == 600


def test_configurable_table_through_settings(settings):
    settings.LIFTSAFE_RULES = {"insurance_trapped_bands": [
        {"key": "a", "from_s": 1800, "to_s": 3600, "yuan_per_person": 200},
        {"key": "b", "from_s": 3600, "to_s": None, "yuan_per_person": 400}]}
    assert domain.band_for(3601).key == "b" and domain.band_for(3600).key == "a"


@pytest.mark.parametrize("table", [
    [{"key": "gap", "from_s": 1800, "to_s": 3000, "yuan_per_person": 200}, {"key": "x", "from_s": 3600, "to_s": None, "yuan_per_person": 1}],
    [{"key": "open", "from_s": 1800, "to_s": None, "yuan_per_person": 200}, {"key": "x", "from_s": 3600, "to_s": None, "yuan_per_person": 1}],
    [{"key": "neg", "from_s": 1800, "to_s": 3600, "yuan_per_person": -1}],
    [{"key": "empty", "from_s": 1800, "to_s": 1800, "yuan_per_person": 1}],
    [{"from_s": 1800}],
])
def test_malformed_tables_are_refused(table):
    with pytest.raises(ImproperlyConfigured):
        domain.bands(table)


def test_in_force_both_dates_inclusive(world):
    a1, a2, b1 = world.elevators["a1"], world.elevators["a2"], world.elevators["b1"]
    make_policy(world, "a", lifts=[a1], start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    ids = [a1.pk, a2.pk, b1.pk]
    assert domain.in_force(ids, on=dt.date(2026, 1, 1)) == {a1.pk}
    assert domain.in_force(ids, on=dt.date(2026, 12, 31)) == {a1.pk}
    assert domain.in_force(ids, on=dt.date(2025, 12, 31)) == set()
    assert domain.in_force(ids, on=dt.date(2027, 1, 1)) == set()
    assert domain.in_force([], on=dt.date(2026, 6, 1)) == set()
    # one party insures, all benefit: a second policy from another holder does not change the fact
    make_policy(world, "b", lifts=[a1, b1], start=dt.date(2026, 6, 1), end=dt.date(2027, 5, 31))
    assert domain.in_force(ids, on=dt.date(2027, 1, 1)) == {a1.pk, b1.pk}


def test_band_labels_state_their_edges():
    assert [b.label for b in domain.bands()] == ["≥ 30 – ≤ 60 min", "> 60 – ≤ 90 min", "> 90 – ≤ 120 min", "> 120 min"]


def test_trapped_duration_is_the_emergency_definition(world):
    """From the call received to the release (liftsafe.emergency.domain); the query form agrees with the predicate."""
    from liftsafe.emergency.domain import trapped_at_least_q, trapped_duration_s
    from liftsafe.emergency.models import EmergencyCase

    from .conftest import entrapment

    t0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.timezone.utc)
    assert trapped_duration_s(t0, t0 + dt.timedelta(minutes=31)) == 31 * 60
    assert trapped_duration_s(t0, None) is None and trapped_duration_s(None, t0) is None
    case = entrapment(world, world.elevators["a1"], dt.timedelta(minutes=30), persons=1)
    assert trapped_duration_s(case.received_at, case.released_at) == 1800
    assert EmergencyCase.objects.filter(trapped_at_least_q(1800), pk=case.pk).exists()
    assert not EmergencyCase.objects.filter(trapped_at_least_q(1801), pk=case.pk).exists()
