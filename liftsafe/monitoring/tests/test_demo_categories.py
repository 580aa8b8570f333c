"""Demo feed binds simulated devices to passenger lifts only; no passenger entrapment on dumbwaiters/escalators."""
from __future__ import annotations

import datetime as dt

import pytest

from liftsafe.testing import make_elevator
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType, can_trap_passengers
from liftsafe.monitoring.models import Alarm, MonitoringDevice
from liftsafe.monitoring.services import process_batch

from .helpers import raw, status

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)


def at(s: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=s)


def test_simulator_binds_only_passenger_lifts_spread_over_areas(world):
    # dumbwaiters and escalators first by id (as in the NYC registry, where 1D… dumbwaiters come first)
    MonitoringDevice.objects.all().delete()
    for i in range(6):
        make_elevator(f"1D{i}", world.district_a, category="3430")
        make_elevator(f"ESC{i}", world.district_b, category="3310")
    make_elevator("HYD1", world.district_b, category="3210")
    old = services.bind_device(make_elevator("1D-OLD", world.district_a, category="3430"), "SIM-OLD", vendor="simulator")
    make_elevator("FRT1", world.district_a, category="3120")
    from liftsafe.monitoring.simulator import devices_for_simulation

    devices = devices_for_simulation(4)
    assert len(devices) == 4
    bound = MonitoringDevice.objects.filter(active=True).select_related("elevator__area")
    assert {d.elevator.category for d in bound} <= {"3110", "3210"}
    # spread: both districts get devices (round-robin by area code), not only the first elevators by id
    assert {d.elevator.area.code for d in bound} == {world.district_a.code, world.district_b.code}
    # deterministic: same set again, nothing new bound
    assert devices_for_simulation(4) == devices and MonitoringDevice.objects.filter(active=True).count() == 4
    old.refresh_from_db()
    assert not old.active  # a simulated device an earlier demo put on a dumbwaiter is retired


@pytest.mark.parametrize("category,ok", [("3110", True), ("3210", True), ("3120", True), ("3430", False),
                                         ("3310", False), ("3320", False), ("", True)])
def test_can_trap_passengers_rule(category, ok):
    assert can_trap_passengers(category) is ok


def test_no_entrapment_alarm_or_case_on_dumbwaiter(world, settings):
    from liftsafe.emergency.models import EmergencyCase

    settings.LIFTSAFE_RULES = {"iot_entrapment_s": 20}
    dumb = make_elevator("1D99", world.district_a, category="3430")
    services.bind_device(dumb, "DEV-DW")
    for t in (0, 30):
        process_batch([raw(status("DEV-DW", ts=at(t), passenger=1, door=1, running=0, door_zone=2), received_at=at(t))], now=at(t))
    # code 90 (alarm button) and 93 (trapped at landing) events are not entrapments on a dumbwaiter either
    from .helpers import msg
    for i, code in enumerate(("90", "93", "11")):
        process_batch([raw(msg("DEV-DW", "event", {"code": code}, ts=at(40 + i)), received_at=at(40 + i))], now=at(40 + i))
    assert not Alarm.objects.filter(type=AlarmType.ENTRAPMENT).exists()
    assert not EmergencyCase.objects.filter(elevator=dumb).exists()
    # and the direct service refuses too (one rule for every path)
    assert services.raise_alarm(dumb, AlarmType.ENTRAPMENT, now=at(50)) == (None, False)
