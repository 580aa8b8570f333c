"""Registry background jobs (idempotent; any number of workers may run them).

- ``registry.interrupted_imports`` (60 s): :func:`mark_interrupted_imports`.
"""
from __future__ import annotations

import datetime as dt
import logging
import socket

from django.db.models import Q
from django.utils import timezone

from liftsafe.core.tasks import periodic
from liftsafe.rules import rule

from .importer.liveness import process_alive
from .models import ImportRun

log = logging.getLogger(__name__)


@periodic(seconds=60, name="registry.interrupted_imports")
def mark_interrupted_imports(now: dt.datetime | None = None) -> int:
    """Mark import runs whose process is gone as failed with ``error = "interrupted"``; returns how many.

    A run still ``running`` is interrupted when its process ran on this host and no longer exists
    (pid gone, or reused by a process that started later), or, for a run of another host (or one
    that recorded no process), when its last heartbeat (else its start) is older than
    ``rules.import_stale_after_s``. A conditional update (``status = running``) makes two workers
    harmless and a run that finished meanwhile untouched.
    """
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=float(rule("import_stale_after_s")))
    here = socket.gethostname()[:255]
    gone: list[int] = []
    for run in ImportRun.objects.filter(status=ImportRun.Status.RUNNING).only("pk", "host", "pid", "process_start",
                                                                             "heartbeat_at", "started_at"):
        if run.host == here and run.pid:
            if not process_alive(run.pid, run.process_start):
                gone.append(run.pk)
        elif (run.heartbeat_at or run.started_at) < stale_before:
            gone.append(run.pk)
    if not gone:
        return 0
    n = (ImportRun.objects.filter(pk__in=gone, status=ImportRun.Status.RUNNING)
         .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lte=now))
         .update(status=ImportRun.Status.FAILED, error=ImportRun.INTERRUPTED, finished_at=now))
    if n:
        log.warning("registry: %d import run(s) marked interrupted (their process ended): %s", n, gone)
    return n
