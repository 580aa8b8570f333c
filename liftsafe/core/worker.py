"""The background worker: runs every periodic job of :mod:`liftsafe.core.tasks` at its interval.

``liftsafe worker`` builds a :class:`Worker` from :func:`liftsafe.core.tasks.discover`
and runs it until SIGTERM or SIGINT. Scheduling is APScheduler 3.x (a
background scheduler with a thread pool); each job:

- runs every ``job.seconds`` seconds, first right after start;
- never overlaps itself (``max_instances=1``; missed runs are coalesced into one);
- has its exceptions logged (logger ``liftsafe.worker``) and never stops the
  worker or the other jobs;
- gets fresh database connections (Django's ``close_old_connections`` before
  and after each run), as a request would.

``demo_only`` jobs (simulated live traffic) are scheduled only when the worker
runs in demo mode (``LIFTSAFE_DEMO=1``, set by ``liftsafe demo``).

Several worker processes may run at once (scaling out): jobs are idempotent
by contract (see :mod:`liftsafe.core.tasks`), so no distributed lock is needed.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from .tasks import PeriodicJob, discover

logger = logging.getLogger("liftsafe.worker")


def demo_mode() -> bool:
    """True when ``LIFTSAFE_DEMO`` is set to 1/true/yes/on (demo-only jobs then run)."""
    return os.environ.get("LIFTSAFE_DEMO", "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class JobStats:
    """Counters of one job in this process: runs, failures and the last error text."""

    runs: int = 0
    failures: int = 0
    last_error: str = ""
    last_duration_s: float = 0.0


def _database_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (a write lock held longer than the busy timeout by another job,
    e.g. a nightly recompute on the demo's SQLite database): a transient condition, not a defect."""
    from django.db import OperationalError

    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


@dataclass
class Worker:
    """Runs ``jobs`` at their intervals in a thread pool until :meth:`stop`.

    Args:
        jobs: the periodic jobs (default: everything :func:`discover` finds).
        demo: schedule ``demo_only`` jobs too (default: :func:`demo_mode`).
        threads: size of the thread pool jobs run in.
    """

    jobs: list[PeriodicJob] | None = None
    demo: bool | None = None
    threads: int = 4
    stats: dict[str, JobStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.jobs is None:
            self.jobs = discover()
        if self.demo is None:
            self.demo = demo_mode()
        self._stopped = threading.Event()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self.threads)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=settings.TIME_ZONE,
        )

    @property
    def scheduled(self) -> list[PeriodicJob]:
        """The jobs this worker runs: all of them, minus ``demo_only`` ones outside demo mode."""
        return [j for j in self.jobs if self.demo or not j.demo_only]

    @property
    def skipped(self) -> list[PeriodicJob]:
        """``demo_only`` jobs left out because the worker is not in demo mode."""
        return [j for j in self.jobs if j.demo_only and not self.demo]

    def run_job(self, job: PeriodicJob) -> bool:
        """Run ``job`` once; log and count an exception instead of raising it. Returns True on success."""
        stats = self.stats.setdefault(job.name, JobStats())
        started = time.monotonic()
        close_old_connections()
        try:
            job.func()
        except Exception as exc:  # a job's failure must never stop the worker
            stats.failures += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
            if _database_busy(exc):  # another job holds SQLite's write lock: jobs are idempotent, the next run does it
                logger.warning("job %s: database busy (%s); it runs again at its next interval", job.name, exc)
            else:
                logger.exception("job %s failed", job.name)
            return False
        finally:
            stats.runs += 1
            stats.last_duration_s = time.monotonic() - started
            close_old_connections()
        return True

    def start(self) -> None:
        """Schedule the jobs (each runs once right away, then every ``seconds``) and return."""
        now = timezone.now()
        for job in self.scheduled:
            self._scheduler.add_job(self.run_job, IntervalTrigger(seconds=job.seconds), args=[job],
                                    id=job.name, name=job.name, next_run_time=now)
            logger.info("scheduled %s every %gs%s", job.name, job.seconds, " (demo only)" if job.demo_only else "")
        for job in self.skipped:
            logger.info("skipped demo-only job %s (set LIFTSAFE_DEMO=1 to run it)", job.name)
        self._scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; with ``wait`` let running jobs finish first. Safe to call twice."""
        self._stopped.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def run_forever(self, install_signal_handlers: bool = True) -> None:
        """Start, block until SIGTERM/SIGINT (or :meth:`stop`), then shut down gracefully."""
        if install_signal_handlers:
            def _on_signal(signum, _frame):
                logger.info("received %s, stopping after running jobs finish", signal.Signals(signum).name)
                self._stopped.set()

            signal.signal(signal.SIGTERM, _on_signal)
            signal.signal(signal.SIGINT, _on_signal)
        self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop(wait=True)
            logger.info("worker stopped")


def run_once(jobs: Iterable[PeriodicJob] | None = None, demo: bool | None = None) -> dict[str, JobStats]:
    """Run each scheduled job once, in order, in this thread (cron-style use and tests)."""
    worker = Worker(jobs=list(jobs) if jobs is not None else None, demo=demo)
    for job in worker.scheduled:
        worker.run_job(job)
    return worker.stats
