"""Benchmarks of the emergency pages: elevator lookup on the full NYC registry, live board with 2,000 open cases.

Run: ``.venv/bin/python bench/emergency_ui.py [--cases 2000]`` (SQLite in memory), or with
``LIFTSAFE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres LIFTSAFE_TEST_DATABASE_NAME=bench_emergency_ui``
for PostgreSQL. It builds a throw-away test database (the ``make_world`` fixture world plus all
76,088 real NYC DOB devices), prints the figures recorded in bench/RESULTS.md, and drops the database.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftsafe.settings")
os.environ["LIFTSAFE_TESTING"] = "1"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402


def analyze():
    """PostgreSQL: refresh planner statistics after a bulk load, as autovacuum would in production."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def ms(samples):
    return f"median {statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def bench_lookup(world, out):
    from liftsafe.emergency.lookup import identify
    from liftsafe.emergency.tests.test_lookup import load_nyc, nyc_rows

    t0 = time.perf_counter()
    n = load_nyc(world.district_a, nyc_rows())
    out.append(f"- loaded {n} NYC devices in {time.perf_counter() - t0:.1f} s")
    analyze()
    user = world.users["operator"]
    queries = ["100001", "1P2680", "521 EAST 68 STREET", "521 E 68 ST", "512 EAST 68", "250 MADISON AVE",
               "MADISON AVENUE", "99999 ZZYZX PLAZA", "987654", "1 BROADWAY"]
    for q in queries:
        identify(user, q)  # warm
        samples = []
        for _ in range(5):
            t = time.perf_counter()
            res = identify(user, q)
            samples.append(time.perf_counter() - t)
        top = res.matches[0].elevator.address if res.matches else "-"
        out.append(f"- lookup `{q}`: {res.status}, {len(res.matches)} candidates, top `{top}`; {ms(samples)}")


def open_cases(world, n):
    """``n`` open cases on district-A elevators, a quarter each received / dispatched / responded / arrived."""
    from django.utils import timezone

    from liftsafe.emergency import services
    from liftsafe.registry.models import Elevator

    op, mu = world.users["operator"], world.orgs[("maintenance_unit", "a")]
    now = timezone.now()
    if Elevator.objects.filter(area=world.district_a).count() < n:
        from liftsafe.emergency.tests.test_lookup import load_nyc, nyc_rows

        load_nyc(world.district_a, nyc_rows(limit=n + 10))
    els = list(Elevator.objects.filter(area=world.district_a).order_by("pk")[:n])
    assert len(els) == n, f"need {n} elevators in district A, have {len(els)}"
    for i, e in enumerate(els):
        t = now - dt.timedelta(seconds=60 + (i * 7) % 3000)
        case = services.intake_alarm(e, channel="phone_96333", case_type="entrapment", received_at=t, actor=op,
                                     trapped_count=1 + i % 3, caller_phone="13800000000").case
        if i % 4 >= 1:
            services.dispatch_case(op, case, 1, responder=mu, at=t + dt.timedelta(seconds=20))
        if i % 4 >= 2:
            services.record_milestone(op, case, "responded", at=t + dt.timedelta(seconds=50))
        if i % 4 >= 3:
            services.record_milestone(op, case, "arrived", at=t + dt.timedelta(seconds=55))


def touch_some(world, k):
    """Progress ``k`` dispatched cases to responded (what a busy 3 s poll interval looks like)."""
    from liftsafe.emergency import services
    from liftsafe.emergency.models import EmergencyCase

    for case in EmergencyCase.objects.filter(state="dispatched").order_by("pk")[:k]:
        services.record_milestone(world.users["operator"], case, "responded")


def bench_board(world, out, n_cases):
    from django.test import Client
    from django.utils import timezone

    from liftsafe.emergency.models import EmergencyCase

    t0 = time.perf_counter()
    open_cases(world, n_cases)
    out.append(f"- created {n_cases} open cases in {time.perf_counter() - t0:.1f} s")
    # everything last changed a minute ago, as on a board that has been open a while
    EmergencyCase.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=1))
    analyze()
    c = Client()
    c.force_login(world.users["operator"])
    samples, cpu = [], []
    for _ in range(6):
        t, tc = time.perf_counter(), time.process_time()
        r = c.get("/emergency/board/")
        samples.append(time.perf_counter() - t)
        cpu.append(time.process_time() - tc)
    assert r.status_code == 200, r.status_code
    n_rows = r.content.count(b'<tr id="case-')
    out.append(f"- board full render ({n_rows} open-case rows, {len(r.content) / 1024:.0f} KB HTML, "
               f"{len(gzip.compress(r.content)) / 1024:.0f} KB gzipped): wall {ms(samples[1:])}; "
               f"CPU of this process {ms(cpu[1:])} (test client, no network; load average {os.getloadavg()[0]:.1f})")
    since = r.headers["X-Board-Version"]
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        r = c.get("/emergency/board/delta/", {"since": since})
        samples.append(time.perf_counter() - t)
    out.append(f"- delta poll, nothing changed: {len(r.content)} bytes; {ms(samples)}")
    touch_some(world, 10)
    samples = []
    for _ in range(5):
        t = time.perf_counter()
        r = c.get("/emergency/board/delta/", {"since": since})
        samples.append(time.perf_counter() - t)
    rows = r.content.count(b'<tr id="case-')
    out.append(f"- delta poll after 10 cases changed: {rows} rows, {len(r.content) / 1024:.1f} KB "
               f"({len(gzip.compress(r.content)) / 1024:.1f} KB gzipped); {ms(samples)}")
    touch_some(world, 100)
    r = c.get("/emergency/board/delta/", {"since": since})
    rows = r.content.count(b'<tr id="case-')
    out.append(f"- delta poll after 110 cases changed (alarm storm): {rows} rows, {len(r.content) / 1024:.1f} KB "
               f"({len(gzip.compress(r.content)) / 1024:.1f} KB gzipped)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--skip-lookup", action="store_true")
    ap.add_argument("--skip-board", action="store_true")
    args = ap.parse_args()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    out = [f"database: {connection.vendor}"]
    try:
        from liftsafe.testing import make_world

        world = make_world()
        if not args.skip_lookup:
            bench_lookup(world, out)
        if not args.skip_board:
            bench_board(world, out, args.cases)
    finally:
        print("\n".join(out))
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
