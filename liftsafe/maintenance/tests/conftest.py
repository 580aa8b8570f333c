import datetime as dt

import pytest

from liftsafe.core.models import Role
from liftsafe.testing import make_user
from liftsafe.maintenance.models import Certificate, Visit


@pytest.fixture
def mw(world):
    """The shared world plus a second worker of maintenance unit A, certificates, and a planned visit of a1."""
    unit = world.orgs[("maintenance_unit", "a")]
    w1 = world.users["maintenance_unit"]
    w2 = make_user("worker2", Role.MAINTENANCE_UNIT, organisation=unit)
    for u in (w1, w2):
        Certificate.objects.create(user=u, number=f"T-{u.pk}", valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2035, 1, 1))
    world.users["worker2"] = w2
    world.visit = Visit.objects.create(elevator=world.elevators["a1"], maintenance_unit=unit, tier="half_monthly",
                                       planned_date=dt.date.today())
    return world
