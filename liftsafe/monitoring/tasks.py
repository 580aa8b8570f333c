"""Monitoring periodic jobs (run by ``liftsafe worker``); each is idempotent and safe in two workers at once."""
from __future__ import annotations

from liftsafe.core.tasks import periodic

from . import services


@periodic(seconds=15, name="monitoring.detect_offline")
def detect_offline() -> int:
    """Devices silent beyond ``iot_offline_after_s`` → offline alarm (conditional on last_seen)."""
    return services.detect_offline()


@periodic(seconds=5, name="monitoring.fire_due_timers")
def fire_due_timers() -> int:
    """Entrapment / stop-outside-zone timers of devices that stopped reporting."""
    return services.fire_due_timers()


@periodic(seconds=30, name="monitoring.close_stale_incidents")
def close_stale_incidents() -> int:
    return services.close_stale_incidents()


@periodic(seconds=15, name="monitoring.retry_case_links")
def retry_case_links() -> int:
    """Entrapment alarms without a case (intake failed or not yet installed) → retry the intake."""
    return services.retry_case_links()


@periodic(seconds=3600, name="monitoring.purge_ledger")
def purge_ledger() -> int:
    return services.purge_ledger()


@periodic(seconds=2, name="monitoring.demo_feed", demo_only=True)
def demo_feed() -> int:
    """Demo traffic (:mod:`liftsafe.monitoring.demo_feed`): simulated cars and the real door series, in-process,
    or with ``LIFTSAFE_MQTT_URL`` published to the broker and consumed by a consumer this worker starts."""
    from .demo_feed import demo_tick

    return demo_tick()
