"""Emergency test helpers."""
import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency import services


@pytest.fixture
def t0():
    """A fixed, recent, aware instant (the controlled clock starts here)."""
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)


@pytest.fixture
def open_case(world, t0):
    """An entrapment on elevator a1 taken by the district-A operator (2 trapped)."""
    return services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0,
                                 actor=world.users["operator"], caller_phone="13812345678", trapped_count=2,
                                 details={"caller_name": "张三", "note": "lift stuck at 5F"}).case
