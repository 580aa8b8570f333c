"""Alarm hygiene under real concurrency (PostgreSQL: separate connections, real row locks)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from liftsafe.testing import make_world
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, Incident, MonitoringDevice
from liftsafe.monitoring.services import process_batch

from .helpers import msg, raw, status

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)


def _require_pg():
    from liftsafe.conftest import postgresql_only

    postgresql_only()


def _threads(n, target):
    barrier = threading.Barrier(n)
    errors = []

    def wrap(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_one_active_alarm_when_two_workers_race():
    _require_pg()
    w = make_world()
    e = w.elevators["a1"]
    # two devices on one elevator → two workers lock different device rows and race on the alarm row
    for name in ("R1", "R2", "R3", "R4"):
        services.bind_device(e, name)
    for rnd in range(5):
        def work(i, rnd=rnd):
            process_batch([raw(msg(f"R{i + 1}", "event", {"code": "01"}, ts=NOW + dt.timedelta(seconds=rnd)), received_at=NOW)], now=NOW)

        _threads(4, work)
        active = Alarm.objects.filter(elevator=e, type=AlarmType.SAFETY_CIRCUIT, cleared_at__isnull=True)
        assert active.count() == 1
        assert active.get().occurrences == 4
        services.clear_alarms(e.pk, [AlarmType.SAFETY_CIRCUIT], now=NOW)
    assert Alarm.objects.filter(type=AlarmType.SAFETY_CIRCUIT).count() == 5


@pytest.mark.django_db(transaction=True)
def test_power_cut_across_workers_is_one_incident():
    _require_pg()
    w = make_world()
    from liftsafe.testing import make_elevator

    cars = [make_elevator(f"C{i}", w.district_a) for i in range(8)]
    for e in cars:
        services.bind_device(e, f"C-{e.pk}")

    def work(i):
        e = cars[i]
        process_batch([raw(status(f"C-{e.pk}", ts=NOW, power=2), received_at=NOW)], now=NOW)

    _threads(8, work)
    inc = Incident.objects.get()
    assert inc.alarm_count == 8 and inc.alarms.count() == 8


@pytest.mark.django_db(transaction=True)
def test_offline_job_racing_messages_never_leaves_stuck_offline(settings):
    """Offline job and heartbeats race on separate connections; afterwards a device that spoke is online
    with no active offline alarm."""
    _require_pg()
    settings.LIFTSAFE_RULES = {"iot_offline_after_s": 60}
    w = make_world()
    devs = [services.bind_device(w.elevators[k], f"O-{k}") for k in ("a1", "a2", "b1", "b2")]
    for rnd in range(6):
        t0 = NOW + dt.timedelta(minutes=10 * rnd)
        process_batch([raw(msg(d.device_id, "heartbeat", ts=t0), received_at=t0) for d in devs], now=t0)
        later = t0 + dt.timedelta(seconds=61)

        def work(i, later=later):
            if i == 0:
                services.detect_offline(now=later)
            else:
                d = devs[i - 1]
                process_batch([raw(msg(d.device_id, "heartbeat", ts=later), received_at=later)], now=later)

        _threads(5, work)
        for d in MonitoringDevice.objects.all():
            stuck = Alarm.objects.filter(device=d, type=AlarmType.OFFLINE, cleared_at__isnull=True).exists()
            assert d.online and not stuck, (rnd, d.device_id)
