"""A killed import must not stay "running" forever (issue 18 item 15)."""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from liftsafe.registry.importer import run_import
from liftsafe.registry.importer.liveness import process_alive, process_identity
from liftsafe.registry.models import ImportRun
from liftsafe.registry.tasks import mark_interrupted_imports

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "cn_template_sample.csv"


def dead_process() -> tuple[int, str]:
    """A process that ran and was killed with SIGKILL: its pid and start time."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    from liftsafe.registry.importer.liveness import _proc_start

    start = _proc_start(p.pid)
    p.kill()
    p.wait()
    return p.pid, start


def running(**kw) -> ImportRun:
    return ImportRun.objects.create(mapping="cn-template", file_name="x.csv", file_sha256="0" * 64, **kw)


def test_an_import_records_its_process(world):
    run = run_import(SAMPLE, "cn-template")
    host, pid, start = process_identity()
    assert (run.host, run.pid, run.process_start) == (host, pid, start) and run.heartbeat_at is not None
    assert process_alive(run.pid, run.process_start)
    assert mark_interrupted_imports() == 0  # finished runs are never touched
    run.refresh_from_db()
    assert run.status == "done"


def test_killed_import_is_marked_interrupted_and_live_ones_are_not(world):
    host, pid, start = process_identity()
    dead_pid, dead_start = dead_process()
    killed = running(host=host, pid=dead_pid, process_start=dead_start, heartbeat_at=timezone.now())
    reused = running(host=host, pid=pid, process_start="1", heartbeat_at=timezone.now())  # our pid, another start: reused
    alive = running(host=host, pid=pid, process_start=start, heartbeat_at=timezone.now() - dt.timedelta(days=1))
    old = timezone.now() - dt.timedelta(hours=1)
    remote_silent = running(host="other-host", pid=123, heartbeat_at=old)
    remote_beating = running(host="other-host", pid=123, heartbeat_at=timezone.now())
    legacy = running()  # no process recorded (a run from before this fix)
    ImportRun.objects.filter(pk=legacy.pk).update(started_at=old)
    assert mark_interrupted_imports() == 4
    state = {r.pk: (r.status, r.error) for r in ImportRun.objects.all()}
    for r in (killed, reused, remote_silent, legacy):
        assert state[r.pk] == ("failed", "interrupted"), r
    for r in (alive, remote_beating):
        assert state[r.pk] == ("running", ""), r
    assert mark_interrupted_imports() == 0  # idempotent
    assert ImportRun.objects.get(pk=killed.pk).finished_at is not None
    assert ImportRun.objects.get(pk=killed.pk).interrupted


def test_the_ui_shows_an_interrupted_import(world, tmp_path, settings):
    from liftsafe.exchange import services

    settings.LIFTSAFE_IMPORT_DIR = str(tmp_path)
    s = services.schedule_create(world.users["admin"], name="登记库", mapping="cn-template", drop_dir=str(tmp_path))
    dead_pid, dead_start = dead_process()
    host, _pid, _start = process_identity()
    run = running(host=host, pid=dead_pid, process_start=dead_start, heartbeat_at=timezone.now())
    c = Client()
    c.force_login(world.users["admin"])
    c.cookies["django_language"] = "en"
    page = c.get(f"/exchange/imports/{s.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "x.csv" in page and "Running" in page
    mark_interrupted_imports()
    page = c.get(f"/exchange/imports/{s.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "interrupted (the import process ended without finishing)" in page
    admin = c.get("/admin/registry/importrun/").content.decode()
    assert "interrupted" in admin
    assert ImportRun.objects.get(pk=run.pk).status == "failed"


def test_the_job_is_registered():
    from liftsafe.core.tasks import discover

    assert "registry.interrupted_imports" in {j.name for j in discover()}


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_beats_on_its_own_connection():
    import time

    from liftsafe.registry.importer.liveness import Heartbeat

    run = running(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    before = run.heartbeat_at
    with Heartbeat(run.pk, 0.05):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ImportRun.objects.get(pk=run.pk).heartbeat_at == before:
            time.sleep(0.05)
    assert ImportRun.objects.get(pk=run.pk).heartbeat_at > before + dt.timedelta(minutes=59)
