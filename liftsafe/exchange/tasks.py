"""Exchange background jobs (idempotent; any number of workers may run them).

- ``exchange.enqueue`` (60 s): collect changed records of every enabled destination into its outbox;
- ``exchange.send`` (10 s): send what is due to every enabled destination (backoff, rate limits);
- ``exchange.imports`` (300 s): run every enabled import schedule (new files of its drop directory).

A failure of one destination or schedule is logged and never stops the others.
"""
from __future__ import annotations

import logging

from liftsafe.core.tasks import periodic

from . import services
from .models import Destination, ImportSchedule

log = logging.getLogger(__name__)


@periodic(seconds=60, name="exchange.enqueue")
def enqueue_all() -> int:
    """Enqueue changed records for every enabled destination; returns how many were enqueued."""
    n = 0
    for d in Destination.objects.filter(enabled=True).order_by("pk"):
        try:
            n += services.enqueue_changed(d)
        except Exception:  # noqa: BLE001
            log.exception("exchange: enqueue for %s failed", d.name)
    return n


@periodic(seconds=10, name="exchange.send")
def send_all() -> int:
    """Send due batches to every enabled destination; returns the number of HTTP attempts."""
    n = 0
    for d in Destination.objects.filter(enabled=True).order_by("pk"):
        try:
            n += services.send_due(d).attempts
        except Exception:  # noqa: BLE001
            log.exception("exchange: send to %s failed", d.name)
    return n


@periodic(seconds=300, name="exchange.imports")
def run_import_schedules() -> int:
    """Import new files of every enabled schedule; returns the number of files handled."""
    n = 0
    for s in ImportSchedule.objects.filter(enabled=True).order_by("pk"):
        try:
            n += len(services.run_schedule(s))
        except Exception:  # noqa: BLE001
            log.exception("exchange: import schedule %s failed", s.name)
    return n
