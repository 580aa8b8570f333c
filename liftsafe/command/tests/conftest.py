import pytest

from liftsafe.registry.models import Elevator
from liftsafe.testing import PASSWORD, make_elevator, make_world


@pytest.fixture
def cw(db):
    """The test world with district B's lifts moved 0.5° south (so a bbox can hold A's without B's)."""
    w = make_world()
    Elevator.objects.filter(area=w.district_b).update(latitude=31.50, longitude=118.30)
    return w


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


__all__ = ["cw", "login", "make_elevator"]
