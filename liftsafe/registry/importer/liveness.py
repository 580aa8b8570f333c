"""Is the process running an import still alive? (issue 18 item 15: a killed import stayed "running" forever.)

- :func:`process_identity` → ``(host, pid, start)`` of this process; ``start`` is the kernel's start time
  of the pid (``/proc/<pid>/stat`` field 22, Linux), so a pid reused by another process later does not
  count as the import's process; empty where ``/proc`` does not exist.
- :func:`process_alive` (same host only).
- :class:`Heartbeat`: a daemon thread that writes ``ImportRun.heartbeat_at`` every
  ``rules.import_heartbeat_s`` on its own database connection (the import itself runs in one long
  transaction, whose writes nobody sees until it ends). On SQLite the import's transaction holds the
  write lock, so beats wait; the pid check covers SQLite (one host by nature).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def _proc_start(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name (field 2) may contain spaces and parentheses: split after the last ")"
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def process_identity() -> tuple[str, int, str]:
    pid = os.getpid()
    return socket.gethostname()[:255], pid, _proc_start(pid)


def process_alive(pid: int | None, start: str = "") -> bool:
    """True when ``pid`` runs on this host and (where known) started at ``start``."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        pass
    if start:
        return _proc_start(pid) == start
    return True


class Heartbeat:
    """``with Heartbeat(run_pk, every_s):`` beats ``heartbeat_at`` of a running ImportRun until the block ends."""

    def __init__(self, run_pk: int, every_s: float):
        self.run_pk = run_pk
        self.every_s = max(0.05, float(every_s))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"import-heartbeat-{run_pk}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False

    def _loop(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from liftsafe.registry.models import ImportRun

        try:
            while not self._stop.wait(self.every_s):
                try:
                    ImportRun.objects.filter(pk=self.run_pk, status=ImportRun.Status.RUNNING).update(heartbeat_at=timezone.now())
                except Exception as exc:  # noqa: BLE001 - SQLite busy while the import writes: next beat
                    log.debug("import heartbeat #%s skipped: %s", self.run_pk, exc)
        finally:
            connection.close()
