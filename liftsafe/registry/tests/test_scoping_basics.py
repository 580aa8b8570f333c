"""Scoping: each role sees its own elevators and never another district's."""
import pytest

from liftsafe.registry import selectors

EXPECTED = {
    "admin": {"A1", "A2", "B1", "B2"},
    "city_regulator": {"A1", "A2", "B1", "B2"},
    "regulator": {"A1", "A2"},
    "operator": {"A1", "A2"},
    "maintenance_unit": {"A1", "A2"},  # not B2: that contract ended
    "use_unit": {"A1", "A2"},
    "inspection_agency": {"A1", "A2"},
    "insurer": {"A1", "A2"},
    "rescue_station": {"A1", "A2"},
    "nobody": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_elevators_for_role(world, who):
    seen = set(selectors.elevators_for(world.users[who]).values_list("source_id", flat=True))
    assert seen == EXPECTED[who]


def test_anonymous_sees_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert selectors.elevators_for(AnonymousUser()).count() == 0


def test_maintenance_unit_on_date(world):
    import datetime as dt

    b2 = world.elevators["b2"]
    assert selectors.maintenance_unit_on(b2, dt.date(2020, 6, 1)) == world.orgs[("maintenance_unit", "a")]
    assert selectors.maintenance_unit_on(b2, dt.date(2022, 6, 1)) == world.orgs[("maintenance_unit", "b")]
    assert selectors.maintenance_unit_on(b2, dt.date(2018, 6, 1)) is None


def test_search_by_codes_and_address(world):
    admin = world.users["admin"]
    a1 = world.elevators["a1"]
    for q in (a1.rescue_code, a1.registration_code, "a1", "a1 test"):
        assert a1 in selectors.elevator_search(admin, q), q
    assert list(selectors.elevator_search(admin, "no such address")) == []
    assert set(selectors.elevator_search(admin, "", area="320102").values_list("source_id", flat=True)) == {"A1", "A2"}
