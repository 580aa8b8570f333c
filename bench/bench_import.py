"""Benchmark of the registry importer (not a test). Results go to bench/RESULTS.md, "## Registry import".

Cases (each import runs in its own subprocess on a fresh database, so peak memory
is that process's ``ru_maxrss``):

1. ``nyc-sqlite``: the real NYC DOB file (76,088 rows) on SQLite, mapping nyc-dob. Target < 15 s.
2. ``nyc-pg``: the same on PostgreSQL. Target < 15 s.
3. ``million-pg``: 1,000,000 generated rows in the NYC DOB layout on PostgreSQL (real rows of
   the NYC file repeated with new device numbers, so the value mix and the dirt are real).
   Target < 120 s and peak memory < 1 GB; compared with PostgreSQL's own ``COPY`` of the same
   file into a bare table of 28 text columns (the physical limit), in the same script.

Usage::

    .venv/bin/python bench/bench_import.py [nyc-sqlite] [nyc-pg] [million-pg] [--rows 1000000]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Each import includes everything the real command does: parsing, validation, organisations,
buildings, lifecycle events and the audit-history rows, in one transaction.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NYC = ROOT / "liftsafe" / "registry" / "data" / "nyc_dob_elevator_devices_2015.csv.gz"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "bench_importer"
sys.path.insert(0, str(ROOT / "bench"))

from common import create_database, migrate  # noqa: E402


def child(args) -> None:
    """Run one import in this process and print a JSON result line."""
    import resource

    os.environ["DJANGO_SETTINGS_MODULE"] = "liftsafe.settings"
    os.environ["LIFTSAFE_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    migrate()
    from liftsafe.registry.importer import run_import

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    run = run_import(args.file, args.mapping)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    t1 = time.perf_counter()
    again = run_import(args.file, args.mapping) if args.rerun else None
    rerun_s = time.perf_counter() - t1 if again else None
    print("RESULT " + json.dumps({
        "rows": run.rows_total, "created": run.rows_created, "rejected": run.rows_rejected, "seconds": round(wall, 2),
        "cpu_seconds": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 2),
        "rows_per_s": round(run.rows_total / wall), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rerun_seconds": round(rerun_s, 2) if rerun_s else None,
        "rerun_created_updated": [again.rows_created, again.rows_updated] if again else None,
    }), flush=True)


def fresh_pg(pg_url: str) -> str:
    return create_database(pg_url, BENCH_DB, fresh=True)


def run_child(file: Path, mapping: str, env_extra: dict, rerun: bool = False) -> dict:
    env = {**os.environ, **env_extra, "LIFTSAFE_DEBUG": "0"}
    env.pop("LIFTSAFE_TESTING", None)
    cmd = [sys.executable, __file__, "--child", "--file", str(file), "--mapping", mapping] + (["--rerun"] if rerun else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"benchmark child failed:\n{out.stdout}\n{out.stderr}")


def generate(path: Path, rows: int) -> None:
    """``rows`` rows in the NYC DOB layout: the real rows repeated, device numbers made unique."""
    with gzip.open(NYC, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        real = list(reader)
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=1) as out:
        w = csv.writer(out)
        w.writerow(header)
        for i in range(rows):
            r = list(real[i % len(real)])
            r[0] = f"G{i:07d}-{r[0]}"
            w.writerow(r)


def pg_copy(pg_url: str, path: Path) -> float:
    """Seconds for PostgreSQL's COPY of ``path`` into a bare table of text columns (same database)."""
    import psycopg

    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    cols = ", ".join(f'"c{i}" text' for i in range(len(header)))
    with psycopg.connect(pg_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(f"CREATE TABLE bench_copy ({cols})")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as cp, gzip.open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                cp.write(chunk)
        conn.commit()
        secs = time.perf_counter() - t0
        n = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    print(f"  COPY: {n} rows in {secs:.2f} s")
    return secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*", default=["nyc-sqlite", "nyc-pg", "million-pg"])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default=os.environ.get("LIFTSAFE_BENCH_PG", DEFAULT_PG))
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--file")
    ap.add_argument("--mapping")
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"machine: nproc={os.cpu_count()} cpu={cpu} load={os.getloadavg()}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmp = Path(tmp)
        if "nyc-sqlite" in args.cases:
            r = run_child(NYC, "nyc-dob", {"LIFTSAFE_DATA_DIR": str(tmp / "sqlite"), "LIFTSAFE_DATABASE_URL": ""}, rerun=True)
            results["nyc-sqlite"] = r
            print("nyc-sqlite", r)
        if "nyc-pg" in args.cases:
            url = fresh_pg(args.pg)
            r = run_child(NYC, "nyc-dob", {"LIFTSAFE_DATABASE_URL": url, "LIFTSAFE_DATA_DIR": str(tmp / "pg")}, rerun=True)
            results["nyc-pg"] = r
            print("nyc-pg", r)
        if "million-pg" in args.cases:
            gen = tmp / f"generated_{args.rows}.csv.gz"
            t0 = time.perf_counter()
            generate(gen, args.rows)
            print(f"  generated {args.rows} rows in {time.perf_counter() - t0:.1f} s ({gen.stat().st_size // 1024**2} MiB gz)")
            url = fresh_pg(args.pg)
            r = run_child(gen, "nyc-dob", {"LIFTSAFE_DATABASE_URL": url, "LIFTSAFE_DATA_DIR": str(tmp / "pg2")})
            r["copy_seconds"] = round(pg_copy(url, gen), 2)
            r["ratio_vs_copy"] = round(r["seconds"] / r["copy_seconds"], 1)
            results["million-pg"] = r
            print("million-pg", r)
    print("SUMMARY " + json.dumps(results))


if __name__ == "__main__":
    main()
