"""A checked-in visit suppresses IoT alarms through monitoring's real processing path; check-out ends it."""
import datetime as dt

from django.utils import timezone

from liftsafe.core import flows
from liftsafe.maintenance import services
from liftsafe.monitoring import services as mon
from liftsafe.monitoring.models import Alarm
from liftsafe.monitoring.services import process_batch
from liftsafe.monitoring.tests.helpers import msg, raw


def run(body, now):
    return process_batch([raw(body, received_at=now)], now=now)


def test_flow_is_registered_by_maintenance():
    assert flows.registry.handlers("monitoring.maintenance_visit_open") == [services.visit_open]


def test_checked_in_visit_suppresses_and_check_out_ends_it(mw):
    dev = mon.bind_device(mw.elevators["a1"], "DEV-MNT-1")
    u = mw.users["maintenance_unit"]
    services.visit_check_in(u, mw.visit.pk, code="100001")
    now = timezone.now() + dt.timedelta(seconds=1)
    r = run(msg(dev.device_id, "event", {"code": "01"}, ts=now, mid="m1"), now)
    assert r.suppressed == 1 and not Alarm.objects.exists()
    services.visit_check_out(u, mw.visit.pk)
    later = timezone.now() + dt.timedelta(seconds=2)
    run(msg(dev.device_id, "event", {"code": "01"}, ts=later, mid="m2"), later)
    assert Alarm.objects.filter(elevator=mw.elevators["a1"]).count() == 1
    # another lift's open visit does not suppress this one
    assert not services.visit_open(elevator_id=mw.elevators["a2"].pk, at=later)
