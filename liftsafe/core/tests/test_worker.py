"""The background worker (liftsafe.core.worker): intervals, failure isolation, demo_only, shutdown."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from liftsafe.core.tasks import PeriodicJob, discover
from liftsafe.core.worker import Worker, demo_mode, run_once

REPO = Path(__file__).resolve().parents[3]


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.n += 1


def boom():
    raise RuntimeError("job exploded")


def make_jobs(counter: Counter, demo_counter: Counter) -> list[PeriodicJob]:
    return [
        PeriodicJob("test.fails", boom, 0.05),
        PeriodicJob("test.counts", counter, 0.05),
        PeriodicJob("test.demo", demo_counter, 0.05, demo_only=True),
    ]


def test_failing_job_does_not_stop_the_others_and_demo_only_is_skipped(caplog):
    counter, demo_counter = Counter(), Counter()
    worker = Worker(jobs=make_jobs(counter, demo_counter), demo=False)
    assert [j.name for j in worker.scheduled] == ["test.fails", "test.counts"]
    assert [j.name for j in worker.skipped] == ["test.demo"]
    with caplog.at_level(logging.ERROR, logger="liftsafe.worker"):
        worker.start()
        try:
            assert wait_until(lambda: counter.n >= 3 and worker.stats.get("test.fails") and worker.stats["test.fails"].failures >= 3)
        finally:
            worker.stop()
    assert demo_counter.n == 0
    fails = worker.stats["test.fails"]
    assert fails.runs == fails.failures >= 3
    assert fails.last_error == "RuntimeError: job exploded"
    assert worker.stats["test.counts"].failures == 0
    assert any("job test.fails failed" in r.getMessage() and r.exc_info for r in caplog.records)
    # stopped means stopped: nothing runs afterwards
    n = counter.n
    time.sleep(0.2)
    assert counter.n == n


def test_demo_mode_runs_demo_only_jobs():
    counter, demo_counter = Counter(), Counter()
    worker = Worker(jobs=make_jobs(counter, demo_counter), demo=True)
    assert {j.name for j in worker.scheduled} == {"test.fails", "test.counts", "test.demo"}
    worker.start()
    try:
        assert wait_until(lambda: demo_counter.n >= 2)
    finally:
        worker.stop()


def test_job_runs_at_its_interval_not_faster():
    fast, slow = Counter(), Counter()
    worker = Worker(jobs=[PeriodicJob("fast", fast, 0.05), PeriodicJob("slow", slow, 3600)], demo=False)
    worker.start()
    try:
        assert wait_until(lambda: fast.n >= 5)
    finally:
        worker.stop()
    assert slow.n == 1  # once right at start, next run in an hour


def test_run_once_continues_after_a_failure(transactional_db):
    """In the caller's thread (``worker --once``); database access is allowed because run_job refreshes connections."""
    counter, demo_counter = Counter(), Counter()
    stats = run_once(make_jobs(counter, demo_counter), demo=False)
    assert stats["test.fails"].failures == 1
    assert counter.n == 1 and demo_counter.n == 0


def test_demo_mode_from_environment(monkeypatch):
    monkeypatch.delenv("LIFTSAFE_DEMO", raising=False)
    assert demo_mode() is False
    monkeypatch.setenv("LIFTSAFE_DEMO", "1")
    assert demo_mode() is True
    assert Worker(jobs=[]).demo is True


def test_discovered_jobs_are_valid_and_demo_only_ones_skipped_by_default(monkeypatch):
    monkeypatch.delenv("LIFTSAFE_DEMO", raising=False)
    jobs = discover()
    assert jobs, "the apps register periodic jobs"
    assert all(j.seconds > 0 and callable(j.func) for j in jobs)
    worker = Worker()
    assert {j.name for j in worker.skipped} == {j.name for j in jobs if j.demo_only}
    assert not any(j.demo_only for j in worker.scheduled)


def test_worker_command_stops_gracefully_on_sigterm(tmp_path):
    """The real `liftsafe worker` process: starts, survives failing jobs (empty database), exits 0 on SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFTSAFE_")}
    env.update(LIFTSAFE_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="liftsafe.settings")
    proc = subprocess.Popen([sys.executable, "-m", "liftsafe.cli", "worker"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert "job(s) scheduled" in first, first
        time.sleep(1.5)  # jobs run (and fail: no tables) meanwhile
        assert proc.poll() is None, "a failing job must not stop the worker"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "worker stopped" in out
    assert "failed" in out  # the jobs' errors were logged, not fatal


@pytest.mark.parametrize("flag", ["--list"])
def test_worker_list(tmp_path, flag):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFTSAFE_")}
    env.update(LIFTSAFE_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "liftsafe.cli", "worker", flag], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for job in discover():
        assert job.name in out.stdout
    assert "skipped (demo only)" in out.stdout or not any(j.demo_only for j in discover())


def test_a_busy_sqlite_database_is_one_warning_line_not_a_traceback(caplog):
    """The demo's first minutes: a long job (a nightly recompute) holds SQLite's write lock and another job gets
    "database is locked". That is transient (jobs are idempotent and run again), so it is logged as one warning
    line, without a traceback a newcomer would read as broken; any other failure keeps its traceback."""
    from django.db import OperationalError

    def busy():
        raise OperationalError("database is locked")

    worker = Worker(jobs=[PeriodicJob(name="test.busy", func=busy, seconds=60)], demo=False)
    with caplog.at_level(logging.WARNING, logger="liftsafe.worker"):
        assert worker.run_job(worker.jobs[0]) is False
    rec = [r for r in caplog.records if "test.busy" in r.getMessage()]
    assert len(rec) == 1 and rec[0].levelno == logging.WARNING and rec[0].exc_info is None
    assert "database busy" in rec[0].getMessage()
    assert worker.stats["test.busy"].failures == 1
