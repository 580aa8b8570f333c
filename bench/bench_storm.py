"""Alarm storm (a district-wide power cut): 10,000 entrapment alarms within 60 s over 5,000 elevators.

Through the HTTP intake API (``POST /api/emergency/cases`` with ``dispatch: true``)
served by gunicorn with 2 worker processes, on SQLite and on PostgreSQL.
Every elevator gets one IoT alarm; 2,500 elevators also get a *double tap*
(the same request again, same idempotency key) and 2,500 a second, distinct
alarm (a phone call: new key), each within 2 s of the first, so duplicates
race the originals. Checks afterwards, in the database: exactly one case per
elevator, every case dispatched once at level 1, one ``received`` +
``call_attached`` milestone per distinct submission (nothing lost, nothing
double-counted), zero HTTP errors. Reports p50/p99 intake→dispatch latency
(client-side time of the request that opens and dispatches, or attaches)
and a baseline: the same client and server answering ``GET /api/core/me``
(authentication + routing, no case logic) at the same rate.

Run::

    .venv/bin/python bench/bench_storm.py --db sqlite
    .venv/bin/python bench/bench_storm.py --db postgresql://postgres@127.0.0.1:5432/postgres

Uses port 8104 and /tmp/emergency-core-bench (SQLite) or the database
``bench_emergency_storm`` (dropped and re-created). Options: --elevators,
--alarms, --seconds, --clients, --threads.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from common import create_database, migrate, setup_django  # noqa: E402

PORT = 8104
DATA_DIR = Path("/tmp/emergency-core-bench")
PG_NAME = "bench_emergency_storm"


def db_url(arg: str) -> str:
    if arg == "sqlite":
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        DATA_DIR.mkdir(parents=True)
        return f"sqlite:///{DATA_DIR / 'liftsafe.sqlite3'}"
    return create_database(arg, PG_NAME, fresh=True)


def setup(url: str, n_elevators: int) -> tuple[str, list[str]]:
    """Migrate, create the area, 5,000 elevators each with a maintenance contract, an operator + token."""
    os.environ.update(LIFTSAFE_DATA_DIR=str(DATA_DIR), LIFTSAFE_LOG_LEVEL="WARNING")
    setup_django(url, data_dir=str(DATA_DIR))
    migrate()
    import datetime as dt

    from liftsafe.core.models import ApiToken, Area, Profile, Role
    from liftsafe.testing import make_user
    from liftsafe.registry.models import Elevator, MaintenanceContract, Organisation

    prov = Area.objects.create(code="320000", name="江苏省", level="province")
    city = Area.objects.create(code="320100", name="南京市", level="city", parent=prov)
    dist = Area.objects.create(code="320102", name="玄武区", level="district", parent=city)
    units = [Organisation.objects.create(kind="maintenance_unit", name=f"维保单位 {i}", area=dist) for i in range(20)]
    Organisation.objects.create(kind="rescue_station", name="救援站", area=dist, latitude=32.05, longitude=118.8)
    Organisation.objects.create(kind="fire_brigade", name="消防", area=city)
    rnd = random.Random(1)
    els = Elevator.objects.bulk_create([
        Elevator(source="bench", source_id=f"B{i:05d}", jurisdiction="320000", category="3110", area=dist,
                 rescue_code=f"{200000 + i}", address=f"{i} Storm Road", search_address=f"{i} STORM ROAD",
                 latitude=32.0 + rnd.random() / 10, longitude=118.7 + rnd.random() / 10)
        for i in range(n_elevators)], batch_size=1000)
    MaintenanceContract.objects.bulk_create([
        MaintenanceContract(elevator=e, maintenance_unit=units[i % len(units)], start_date=dt.date(2020, 1, 1))
        for i, e in enumerate(els)], batch_size=1000)
    op = make_user("storm_operator", Role.OPERATOR, area=city)
    _, token = ApiToken.issue(op, "storm")
    assert Profile.objects.filter(user=op).exists()
    return token, [e.rescue_code for e in els]


def start_server(url: str, threads: int) -> subprocess.Popen:
    env = dict(os.environ, LIFTSAFE_DATABASE_URL=url, LIFTSAFE_DATA_DIR=str(DATA_DIR), LIFTSAFE_LOG_LEVEL="WARNING",
               DJANGO_SETTINGS_MODULE="liftsafe.settings", LIFTSAFE_DEBUG="0")
    proc = subprocess.Popen([str(REPO / ".venv/bin/gunicorn"), "liftsafe.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
                             "--workers", "2", "--worker-class", "gthread", "--threads", str(threads),
                             "--backlog", "4096", "--timeout", "120", "--log-level", "warning"],
                            env=env, cwd=REPO, start_new_session=True)
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            c.request("GET", "/api/docs")
            c.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


class Client:
    """One keep-alive connection per thread."""

    local = threading.local()

    def __init__(self, token: str):
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        return c

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, float, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            c = self.conn()
            t = time.perf_counter()
            try:
                c.request(method, path, body=data, headers=self.headers)
                r = c.getresponse()
                payload = r.read()
                return r.status, time.perf_counter() - t, payload
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt:
                    raise
        raise AssertionError


def run_schedule(client: Client, schedule: list[tuple[float, str, str, dict | None]], clients: int):
    """Send each request at its planned offset (open loop, paced); returns [(status, latency, body, tag)]."""
    start = time.perf_counter() + 0.5
    out = [None] * len(schedule)

    def send(i):
        at, method, path, body = schedule[i]
        delay = start + at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        status, lat, payload = client.call(method, path, body)
        out[i] = (status, lat, payload)

    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(send, range(len(schedule))))
    return out, time.perf_counter() - start


def worker_cpu_s(master_pid: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn workers (children of the master)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = subprocess.run(["ps", "--ppid", str(master_pid), "-o", "pid="], capture_output=True, text=True).stdout.split()
    total = 0.0
    for pid in out:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// server URL")
    ap.add_argument("--elevators", type=int, default=5000)
    ap.add_argument("--alarms", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=55.0, help="spread the alarms over this many seconds (≤ 60)")
    ap.add_argument("--clients", type=int, default=64, help="concurrent client connections")
    ap.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (2 workers)")
    args = ap.parse_args()
    url = db_url(args.db)
    vendor = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    t = time.perf_counter()
    token, codes = setup(url, args.elevators)
    print(f"setup: {args.elevators} elevators on {vendor} in {time.perf_counter() - t:.1f} s")

    rnd = random.Random(96333)
    n_dup = args.alarms - args.elevators
    dup_idx = rnd.sample(range(args.elevators), n_dup)
    schedule, expected_submissions = [], args.elevators
    first_at = {}
    for i, code in enumerate(codes):
        at = rnd.uniform(0, args.seconds - 2.5)
        first_at[i] = at
        schedule.append((at, "POST", "/api/emergency/cases", {"rescue_code": code, "channel": "iot", "case_type": "entrapment",
                                                              "trapped_count": 1, "idempotency_key": f"iot-{code}", "dispatch": True}))
    for j, i in enumerate(dup_idx):
        at = first_at[i] + rnd.uniform(0, 2.0)
        if j % 2 == 0:  # double tap: the same submission again
            body = dict(schedule[i][3])
        else:  # a second, distinct alarm (a phone call)
            body = {"rescue_code": codes[i], "channel": "phone_96333", "case_type": "entrapment",
                    "caller_phone": f"1380013{i % 10000:04d}", "idempotency_key": f"call-{codes[i]}", "dispatch": True}
            expected_submissions += 1
        schedule.append((at, "POST", "/api/emergency/cases", body))
    order = sorted(range(len(schedule)), key=lambda k: schedule[k][0])
    schedule = [schedule[k] for k in order]

    server = start_server(url, args.threads)
    try:
        client = Client(token)
        # baseline: same rate, same client, GET /api/core/me (auth + routing, no case logic)
        base_sched = [(k * args.seconds / args.alarms / 2, "GET", "/api/core/me", None) for k in range(args.alarms // 4)]
        base, _ = run_schedule(client, base_sched, args.clients)
        base_lat = [r[1] for r in base if r[0] == 200]
        load0, cpu0 = os.getloadavg()[0], worker_cpu_s(server.pid)
        results, wall = run_schedule(client, schedule, args.clients)
        cpu = worker_cpu_s(server.pid) - cpu0
        load1 = os.getloadavg()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    statuses = {}
    for r in results:
        statuses[r[0]] = statuses.get(r[0], 0) + 1
    lat = [r[1] for r in results if r[0] in (200, 201)]
    created = sum(1 for r in results if r[0] == 201)

    from django.db import connection
    from django.db.models import Count

    from liftsafe.emergency.models import EmergencyCase, Milestone

    connection.close()
    cases = EmergencyCase.objects.count()
    per_el = EmergencyCase.objects.values("elevator").annotate(n=Count("pk")).filter(n__gt=1).count()
    undispatched = EmergencyCase.objects.exclude(level=1).count()
    dispatch_ms = Milestone.objects.filter(kind="dispatched").count()
    submissions = Milestone.objects.filter(kind__in=["received", "call_attached"]).count()
    p50, p99 = pct(lat, 50), pct(lat, 99)
    b50 = statistics.median(base_lat)
    print(f"{vendor}: {len(results)} alarms sent in {wall:.1f} s ({len(results) / wall:.0f}/s), HTTP statuses {statuses}")
    print(f"  cases {cases} (expected {args.elevators}); elevators with >1 case: {per_el}; not dispatched at level 1: {undispatched}; "
          f"dispatch milestones {dispatch_ms}; submissions recorded {submissions} (expected {expected_submissions}); 201 Created {created}")
    print(f"  intake→dispatch latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
    print(f"  baseline GET /api/core/me: p50 {b50 * 1000:.1f} ms, p99 {pct(base_lat, 99) * 1000:.1f} ms; "
          f"ratio p50 intake/baseline {p50 / b50:.1f}x")
    ok = (cases == args.elevators and per_el == 0 and undispatched == 0 and dispatch_ms == args.elevators
          and submissions == expected_submissions and set(statuses) <= {200, 201} and created == args.elevators)
    print(f"  server CPU (2 workers): {cpu:.1f} s = {cpu / len(results) * 1000:.1f} ms per alarm → capacity on 2 free cores "
          f"≈ {2 * len(results) / cpu:.0f} alarms/s; machine load average {load0:.1f} → {load1:.1f} on {os.cpu_count()} CPUs")
    print("  RESULT:", "OK (exactly one case per elevator, all dispatched, zero lost or duplicated)" if ok else "FAILED")
    if not url.startswith("sqlite"):
        connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
