import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency.models import EmergencyCase

NOW = timezone.make_aware(dt.datetime(2026, 12, 1, 12, 0))
_N = [0]


def make_case(elevator, case_type="entrapment", state="completed", at=None):
    _N[0] += 1
    return EmergencyCase.objects.create(elevator=elevator, area=elevator.area, order_number=f"R{_N[0]:06d}", channel="phone_96333",
                                        case_type=case_type, state=state, received_at=at or NOW - dt.timedelta(days=10))


@pytest.fixture
def rw(world):
    """The world with installation dates: a1 new (2020), a2 25 years old, b1 10 years, b2 no date."""
    e = world.elevators
    for key, d in (("a1", dt.date(2020, 6, 1)), ("a2", dt.date(2001, 1, 1)), ("b1", dt.date(2016, 1, 1))):
        e[key].installation_date = d
        e[key].save()
    return world
