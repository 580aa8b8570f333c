"""Coverage by area counts elevators, not devices (a gateway plus a door sensor is one monitored elevator)."""
import pytest

from liftsafe.monitoring import selectors, services
from liftsafe.monitoring.models import MonitoringDevice


@pytest.mark.django_db
def test_coverage_counts_elevators_once_with_two_devices(world):
    a1, a2 = world.elevators["a1"], world.elevators["a2"]
    gw, door = services.bind_device(a1, "GW-1"), services.bind_device(a1, "DOOR-1")
    services.bind_device(a2, "GW-2")
    MonitoringDevice.objects.filter(pk__in=[gw.pk, door.pk]).update(online=True)
    rows = {r["area"].code: r for r in selectors.coverage_by_area(world.users["regulator"])}
    row = rows[world.district_a.code]
    assert (row["monitored"], row["online"], row["offline"]) == (2, 1, 1)
    assert row["online"] + row["offline"] == row["monitored"] <= row["elevators"]
