"""A/B benchmark: reports filtering cases by the case's own area (``EmergencyCase.area``) against the former filter
through the elevator's area, on one generated province, in one process.

1. Creates (or, with ``--reuse``, keeps) its own PostgreSQL database through ``bench/common.py`` and fills it with
   :mod:`bench.reports_gen` at the size given (default 100,000 elevators / 1,000,000 cases over 36 months).
2. Times :func:`liftsafe.reports.selectors.report_data` as a superuser for the province, the largest city and that
   city's largest district, alternating in each round (order swapped every round):

   - **before**: the cases of the area through their elevator (``elevator__area_id__in``: the former
     ``_Base.cases``, a join of ``registry_elevator``), patched in for the run;
   - **after**: the product as it stands (``area_id__in`` on the case, index ``emergency_case_area_recv_idx``).

   Both reports must be equal value by value (the generated cases' area is their elevator's; nothing re-coded).
3. ``--drop`` drops the database at the end.

Usage::

    .venv/bin/python bench/bench_reports_case_area.py --db bench_casearea_100k --drop
    .venv/bin/python bench/bench_reports_case_area.py --db bench_casearea_100k --reuse --runs 5
    .venv/bin/python bench/bench_reports_case_area.py --load-only   # fill only (e.g. while the machine is busy)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = "?"
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs, {cpu}, {pg}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default=common.DEFAULT_ADMIN_URL)
    ap.add_argument("--db", default="bench_reports_case_area")
    ap.add_argument("--elevators", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--period", default="2025-05", help="the month reported (inside 2023-11 … 2026-10)")
    ap.add_argument("--runs", type=int, default=3, help="rounds per area (each round: before and after)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing (loaded) database instead of re-creating it")
    ap.add_argument("--drop", action="store_true", help="drop the database at the end")
    ap.add_argument("--load-only", action="store_true", help="create and fill the database, time nothing")
    args = ap.parse_args()

    print(f"machine: {machine()}; load {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    url = common.bench_database(args.db, admin_url=args.admin_url, fresh=not args.reuse)
    import psycopg

    import reports_gen

    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        info = reports_gen.load(conn, n_elevators=args.elevators, n_cases=args.cases,
                                n_use_units=max(100, min(50_000, args.elevators // 20)),
                                log=lambda m: None if m.lstrip().startswith("[skip]") else print(m))
        n_cases = conn.execute("SELECT count(*) FROM emergency_emergencycase").fetchone()[0]
        missing = conn.execute("SELECT count(*) FROM emergency_emergencycase WHERE area_id IS NULL").fetchone()[0]
    print(f"load: {time.perf_counter() - t:.0f} s this run ({info['load_s']:.0f} s over all runs); {n_cases:,} cases, "
          f"{missing} without an area")
    if args.load_only:
        return 0

    from django.contrib.auth import get_user_model
    from django.db import connection

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.reports import selectors as S
    from liftsafe.reports.periods import parse_period

    admin = get_user_model().objects.get(username="bench_admin")
    with connection.cursor() as cur:
        cur.execute("""SELECT c.code, count(*) FROM registry_elevator e JOIN core_area d ON d.id = e.area_id
                       JOIN core_area c ON c.id = d.parent_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""")
        city = cur.fetchone()[0]
        cur.execute("""SELECT d.code, count(*) FROM registry_elevator e JOIN core_area d ON d.id = e.area_id
                       WHERE d.code LIKE %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""", [city[:4] + "%"])
        district = cur.fetchone()[0]
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]

    new_cases = S._Base.cases

    def old_cases(self, period):
        """The former ``_Base.cases``: the area filter through the elevator (join of ``registry_elevator``)."""
        qs = EmergencyCase.objects.filter(received_at__gte=period.start_at, received_at__lt=period.end_at)
        return self._narrow(qs, "elevator__").order_by()

    def timed(variant: str, code: str):
        S._Base.cases = old_cases if variant == "before" else new_cases
        try:
            t0 = time.perf_counter()
            data = S.report_data(admin, area_code=code, period=args.period)
            return time.perf_counter() - t0, json.dumps({k: v for k, v in data.items() if k != "generated_at"},
                                                       default=str, sort_keys=True)
        finally:
            S._Base.cases = new_cases

    p = parse_period(args.period)
    rows = []
    print(f"\nreport_data(admin, period={args.period!r}); shared_buffers {shared_buffers}; {args.runs} rounds, order swapped "
          "every round; one warm-up of each variant first")
    for label, code in (("province", "370000"), ("city", city), ("district", district)):
        month_cases = S._Base(user=admin, scope=S.scope_of(admin), area=S.Area.objects.get(code=code), tz=S.local_tz()).cases(p).count()
        timed("before", code), timed("after", code)  # warm-up: same cache state for both
        times = {"before": [], "after": []}
        same = True
        for i in range(args.runs):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            out = {}
            for v in order:
                dt_, out[v] = timed(v, code)
                times[v].append(dt_)
            same &= out["before"] == out["after"]
            print(f"  {label} {code} round {i + 1}: before {times['before'][-1]:6.2f} s, after {times['after'][-1]:6.2f} s "
                  f"(load {os.getloadavg()[0]:.1f}){'' if out['before'] == out['after'] else '  REPORTS DIFFER'}")
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        rows.append((label, code, month_cases, b, a, same))
    print("\n| report | area | cases in the month | before (through the elevator) | after (case's own area) | ratio | reports equal |")
    print("|---|---|---:|---:|---:|---:|---|")
    for label, code, n, b, a, same in rows:
        print(f"| {args.period} {label} | {code} | {n:,} | {b:.2f} s | {a:.2f} s | {b / a:.1f}× | {'yes' if same else 'NO'} |")
    print(f"load average at the end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.drop:
        connection.close()
        common.drop_database(args.admin_url, args.db)
        print(f"database {args.db} dropped")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
