from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency import services as em

from .receiver import Receiver

SNAPSHOT = {"service_mode": 1, "car_status": 0, "car_direction": 0, "car_position": 7, "door_zone": 2, "door_status": 1,
            "passenger_status": 1, "power_status": 1, "up_limit": 2, "down_limit": 2, "speed_mps": 0}


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def fast_rules(settings):
    """Small, exact retry numbers for the tests (rules are overridable per deployment)."""
    settings.LIFTSAFE_RULES = {**getattr(settings, "LIFTSAFE_RULES", {}), "exchange_retry_base_s": 60,
                               "exchange_retry_max_s": 3600, "exchange_max_attempts": 5,
                               "exchange_import_settle_s": 0}
    settings.LIFTSAFE_EXCHANGE_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # local test receivers (loopback is refused otherwise)


def full_case(world, key: str, *, minutes_ago: int = 60, iot: bool = True):
    """An IoT entrapment on elevator ``key`` taken through dispatch → responded → arrived → released → completed."""
    admin = world.users["admin"]
    t0 = timezone.now() - dt.timedelta(minutes=minutes_ago)
    details = {**SNAPSHOT, "code": "90", "alarm_id": 1} if iot else {}
    c = em.intake_alarm(world.elevators[key], channel="iot" if iot else "phone_96333", case_type="entrapment",
                        received_at=t0, details=details, trapped_count=2).case
    em.dispatch_case(admin, c, 1, at=t0 + dt.timedelta(minutes=1))
    em.record_milestone(admin, c, "responded", at=t0 + dt.timedelta(minutes=2))
    em.record_milestone(admin, c, "arrived", at=t0 + dt.timedelta(minutes=20))
    em.record_milestone(admin, c, "released", at=t0 + dt.timedelta(minutes=25), released_count=2)
    em.record_milestone(admin, c, "completed", at=t0 + dt.timedelta(minutes=30))
    c.refresh_from_db()
    return c


def open_case(world, key: str, case_type: str = "fault_report", minutes_ago: int = 10):
    return em.intake_alarm(world.elevators[key], channel="phone_96333", case_type=case_type,
                           received_at=timezone.now() - dt.timedelta(minutes=minutes_ago)).case


def false_alarm_case(world, key: str):
    c = open_case(world, key, "entrapment", 15)
    em.dispatch_case(world.users["admin"], c, 1)
    em.record_milestone(world.users["admin"], c, "false_alarm")
    c.refresh_from_db()
    return c


def national(world, receiver, **kw):
    """A national-platform destination (created by the admin) sending to the local test ``receiver``; ``kw``
    overrides its fields."""
    from liftsafe.exchange import services

    fields = dict(name="national", kind="national", adapter="national", endpoint_url=receiver.url, auth_token="tok-secret",
                  timeout_s=2, batch_size=100)
    fields.update(kw)
    return services.destination_create(world.users["admin"], **fields)


def queued_case(world, receiver):
    """One open case on elevator a1, queued for the national destination at ``receiver``; returns the destination."""
    from liftsafe.exchange import services

    open_case(world, "a1")
    d = national(world, receiver)
    services.enqueue_changed(d)
    return d
