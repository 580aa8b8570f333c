"""Benchmark (issue 6): the monthly report's numbers over a province of 1,000,000 elevators and
10,000,000 emergency cases (three years), on PostgreSQL (target < 30 s) and the same aggregates in
DuckDB over the same data exported to Parquet (target PostgreSQL/DuckDB ≤ 3×).

1. Builds its own PostgreSQL database (default ``bench_reports`` on 127.0.0.1:5432), migrates it and
   fills it with :mod:`bench.reports_gen` (set-based SQL; resumable: a re-run skips the steps recorded
   in its ``bench_meta`` table; ``--fresh`` drops the database first).
2. Times the product: :func:`liftsafe.reports.selectors.report_data` as a superuser for the province
   (3 runs: the first after the load is "cold-ish"; PostgreSQL's cache cannot be dropped without
   restarting the shared server), then for the largest city and for one district; the time of every SQL
   statement is collected through ``connection.execute_wrapper`` and grouped by the section that ran it.
3. Exports the tables the report reads to Parquet (``COPY … TO STDOUT`` → pyarrow → Parquet), runs the
   same aggregates in DuckDB SQL (:mod:`bench.reports_duckdb`), checks that every number equals the
   product's, and prints PostgreSQL time, DuckDB time and the ratio.

Usage::

    .venv/bin/python bench/bench_reports.py                                  # 1M elevators, 10M cases
    .venv/bin/python bench/bench_reports.py --elevators 20000 --cases 200000 # quick check (own db name)
    .venv/bin/python bench/bench_reports.py --fresh                          # drop and regenerate
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import DEFAULT_ADMIN_URL, bench_database  # noqa: E402


def machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    load = os.getloadavg()
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} CPUs, {cpu}, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {pg}"


def load_now() -> str:
    a = os.getloadavg()
    return f"{a[0]:.1f}/{a[1]:.1f}/{a[2]:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    ap.add_argument("--db", default=None, help="database name (default bench_reports, or bench_reports_<E>_<C> for other sizes)")
    ap.add_argument("--elevators", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--use-units", type=int, default=None, help="default 50,000 (scaled down with --elevators)")
    ap.add_argument("--period", default="2025-05", help="the month reported (inside 2023-11 … 2026-10)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fresh", action="store_true", help="drop the database and generate again")
    ap.add_argument("--load-only", action="store_true")
    ap.add_argument("--parquet-dir", default="/tmp/bench_reports_parquet")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated subset of province,city,district")
    ap.add_argument("--work-mem", default="", help="what-if: SET work_mem for the product's session (e.g. 64MB)")
    ap.add_argument("--reuse-parquet", action="store_true", help="skip the export when the Parquet files hold the same case count")
    args = ap.parse_args()

    default_size = args.elevators == 1_000_000 and args.cases == 10_000_000
    db = args.db or ("bench_reports" if default_size else f"bench_reports_{args.elevators}_{args.cases}")
    use_units = args.use_units or max(100, min(50_000, args.elevators // 20))
    print(f"machine: {machine()}")
    print(f"database {db}: {args.elevators:,} elevators, {args.cases:,} cases, {use_units:,} use units")
    db_url = bench_database(db, admin_url=args.admin_url, fresh=args.fresh, data_dir="/tmp/bench-reports-var")

    import psycopg

    import reports_gen

    t = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        skipped = []
        info = reports_gen.load(conn, n_elevators=args.elevators, n_cases=args.cases, n_use_units=use_units,
                                log=lambda m: skipped.append(m) if m.lstrip().startswith("[skip]") else print(m))
        if skipped:
            print(f"  {len(skipped)} load steps already done (resumed/skipped)")
        counts = {t_: conn.execute(f"SELECT count(*) FROM {t_}").fetchone()[0] for t_ in
                  ("registry_elevator", "registry_maintenancecontract", "emergency_emergencycase", "hazards_hazard",
                   "registry_organisation", "core_area")}
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    print(f"load: {info['load_s']:.0f} s in total over all runs (this run {time.perf_counter() - t:.0f} s); database {size}")
    for k, v in sorted(info["steps"].items()):
        print(f"   {k:24s} {v:8.1f} s")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if args.load_only:
        return 0

    import reports_run

    return reports_run.run(args, db_url=db_url, counts=counts, load_info=info)


if __name__ == "__main__":
    sys.exit(main())
