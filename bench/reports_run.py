"""Timing part of bench_reports.py: the product's report_data on PostgreSQL, the same numbers in DuckDB, comparison."""
from __future__ import annotations

import json
import os
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

SECTION_FUNCS = ["headline", "attribute_groups", "by_category", "by_age_band", "by_place_type", "by_area", "cases_by_channel_type",
                 "cases_by_hour_band", "cases_by_month", "causes", "repeat_elevators", "top_use_units",
                 "top_maintenance_units", "top_brands", "hazards_by_level"]


def cpu_seconds(backend_pid: int | None) -> float:
    """CPU seconds (user + system) used so far by this process (all its threads: DuckDB's too) and by the PostgreSQL
    backend ``backend_pid`` (same host; its parallel workers are not counted, so this is a lower bound)."""
    pg = 0.0
    if backend_pid:
        try:
            fields = open(f"/proc/{backend_pid}/stat").read().rsplit(")", 1)[1].split()
            pg = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    t = os.times()
    return pg + t.user + t.system


class Profiler:
    """Wall time per selector function (patched module globals) and SQL time per function (execute_wrapper)."""

    def __init__(self, module):
        self.module = module
        self.current = ["build (other)"]
        self.wall = defaultdict(float)
        self.sql = defaultdict(float)
        self.nq = defaultdict(int)
        self.statements: list[tuple[float, str, str]] = []

    def reset(self):
        self.wall.clear()
        self.sql.clear()
        self.nq.clear()
        self.statements = []

    def _wrap(self, name, fn):
        def wrapper(*a, **kw):
            self.current.append(name)
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.wall[name] += time.perf_counter() - t
                self.current.pop()
        return wrapper

    def execute(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            d = time.perf_counter() - t
            sec = self.current[-1]
            self.sql[sec] += d
            self.nq[sec] += 1
            self.statements.append((d, sec, sql if params is None else self._interp(sql, params)))

    @staticmethod
    def _interp(sql, params):
        try:
            return sql % tuple(repr(str(p)) if not isinstance(p, (int, float)) else p for p in params)
        except Exception:  # noqa: BLE001
            return sql

    @contextmanager
    def active(self):
        from django.db import connection

        saved = {n: getattr(self.module, n) for n in SECTION_FUNCS if hasattr(self.module, n)}
        for n, fn in saved.items():
            setattr(self.module, n, self._wrap(n, fn))
        try:
            with connection.execute_wrapper(self.execute):
                yield self
        finally:
            for n, fn in saved.items():
                setattr(self.module, n, fn)


def run(args, *, db_url: str, counts: dict, load_info: dict) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from liftsafe.reports import selectors as S
    from liftsafe.rules import rule

    import reports_duckdb as D

    User = get_user_model()
    admin = User.objects.get(username="bench_admin")
    prov = "370000"
    with connection.cursor() as cur:
        cur.execute("""SELECT c.code, count(*) FROM registry_elevator e JOIN core_area d ON d.id = e.area_id
                       JOIN core_area c ON c.id = d.parent_id GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")
        city = cur.fetchone()[0]
        cur.execute("""SELECT d.code, count(*) FROM registry_elevator e JOIN core_area d ON d.id = e.area_id
                       WHERE d.code LIKE %s GROUP BY 1 ORDER BY 2 DESC LIMIT 1""", [city[:4] + "%"])
        district = cur.fetchone()[0]
        cur.execute("SELECT version()")
        pg_version = cur.fetchone()[0].split(",")[0]
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]
        cur.execute("SHOW work_mem")
        work_mem = cur.fetchone()[0]
    import hashlib

    src = Path(S.__file__)
    print(f"selectors: {src} sha256 {hashlib.sha256(src.read_bytes()).hexdigest()[:12]}, modified "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(src.stat().st_mtime))}")
    prof = Profiler(S)
    runs = [("province", prov, args.runs), ("city", city, 2), ("district", district, 2)]
    if args.only:
        runs = [r for r in runs if r[0] in args.only.split(",")]
    if args.work_mem:  # what-if: the report's session with more sort/hash memory than the server default
        with connection.cursor() as cur:
            cur.execute("SET work_mem = %s", [args.work_mem])
        print(f"session work_mem set to {args.work_mem} for the product runs")
    results = {}
    print(f"\n== product: liftsafe.reports.selectors.report_data(admin, area_code=…, period={args.period!r}) on PostgreSQL "
          f"({pg_version}, shared_buffers {shared_buffers}, work_mem {work_mem})")
    for label, code, n in runs:
        times, cpus, sections, data = [], [], None, None
        for i in range(n):
            prof.reset()
            la = os.getloadavg()[0]
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                bpid = cur.fetchone()[0]
            c0 = cpu_seconds(bpid)
            t = time.perf_counter()
            with prof.active():
                data = S.report_data(admin, area_code=code, period=args.period)
            dt_ = time.perf_counter() - t
            cpu = cpu_seconds(bpid) - c0
            times.append(dt_)
            cpus.append(cpu)
            print(f"  {label} {code} run {i + 1}: {dt_:7.2f} s  (CPU {cpu:.2f} s; {sum(prof.nq.values())} queries, "
                  f"SQL {sum(prof.sql.values()):.2f} s, load {la:.1f})")
            if i == n - 1 or sections is None:
                sections = {k: (prof.wall.get(k, 0.0), prof.sql.get(k, 0.0), prof.nq.get(k, 0)) for k in
                            sorted(set(prof.wall) | set(prof.sql), key=lambda k: -max(prof.wall.get(k, 0), prof.sql.get(k, 0)))}
                slow = sorted(prof.statements, reverse=True)[:6]
                all_sql = list(prof.statements)
        results[label] = {"code": code, "times": times, "cpu": cpus, "sections": sections, "data": data, "slow": slow, "all_sql": all_sql}
        total = times[-1]
        print(f"  sections of the last {label} run (wall incl. Python / SQL / queries, share of wall):")
        for k, (w, s, q) in sections.items():
            w_ = w if k != "build (other)" else total - sum(v[0] for kk, v in sections.items() if kk != "build (other)")
            print(f"     {k:24s} {w_:7.2f} s  {s:7.2f} s  {q:3d}  {100 * w_ / total:5.1f} %")
        print("  slowest statements:")
        for d, sec, sql in slow:
            print(f"     {d:6.2f} s [{sec}] {' '.join(sql.split())[:300]}")

    sql_dump = Path("/tmp/bench_reports_sql.txt")
    sql_dump.write_text("\n\n".join(f"-- {d:.3f} s [{sec}]\n{sql};" for d, sec, sql in results[runs[0][0]]["all_sql"]))
    print(f"  every statement of the last {runs[0][0]} run, with its time: {sql_dump}")
    if args.no_duckdb:
        return 0
    print(f"\n== DuckDB: export to Parquet ({args.parquet_dir})")
    t = time.perf_counter()
    pq = Path(args.parquet_dir) / "cases.parquet"
    if args.reuse_parquet and pq.exists() and D.connect().execute(f"SELECT count(*) FROM '{pq}'").fetchone()[0] == counts["emergency_emergencycase"]:
        print("  reusing the Parquet files (same case count)")
        export_s = None
    else:
        D.export(db_url, args.parquet_dir)
        export_s = time.perf_counter() - t
        print(f"  export total {export_s:.1f} s")
    con = D.connect()
    import duckdb

    from liftsafe.emergency.causes import CAUSES
    from liftsafe.emergency.models import CaseType, Channel
    from liftsafe.hazards.models import Level

    rules = D.Rules(rule)
    from liftsafe.reports.periods import parse_period

    p = parse_period(args.period)
    kw = dict(start=p.start, months=p.months, rules=rules, channels=list(Channel.values), case_types=list(CaseType.values),
              hazard_levels=[lv for lv, _ in reversed(Level.choices)], cause_order=list(CAUSES))
    print(f"\n== DuckDB {duckdb.__version__} ({con.execute('SELECT current_setting(' + chr(39) + 'threads' + chr(39) + ')').fetchone()[0]} threads): "
          "the same aggregates over the Parquet files")
    summary = []
    all_ok = True
    for label, code, n in runs:
        row = [label, code, results[label]["times"]]
        for mode, materialize in (("per-aggregate queries", False), ("period read once", True)):
            times, duck, tim = [], None, {}
            for i in range(n):
                tim = {}
                la = os.getloadavg()[0]
                c0 = cpu_seconds(None)
                t = time.perf_counter()
                duck = D.compute(con, args.parquet_dir, area_code=code, timings=tim, materialize=materialize, **kw)
                times.append(time.perf_counter() - t)
                print(f"  {label} {code} [{mode}] run {i + 1}: {times[-1]:7.3f} s (CPU {cpu_seconds(None) - c0:.2f} s, load {la:.1f})")
            top = sorted(tim.items(), key=lambda kv: -kv[1])[:5]
            print("     slowest parts: " + ", ".join(f"{k} {v:.2f} s" for k, v in top))
            nvals, bad = D.compare(results[label]["data"], duck)
            all_ok &= not bad
            print(f"  {label} [{mode}]: {nvals} values compared, {len(bad)} mismatches")
            for b in bad[:40]:
                print(f"     MISMATCH {b}")
            row += [times, nvals, len(bad)]
            results[label][f"duck_times_{'once' if materialize else 'per_query'}"] = times
            results[label]["mismatches"] = bad
        summary.append(row)
    print("\n== summary (median of the runs; first run in brackets)")
    print("| report | area | PostgreSQL: product report_data | DuckDB, per-aggregate queries | ratio | DuckDB, period read once | ratio | values compared | mismatches |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, code, pg_t, d1, nv1, nb1, d2, nv2, nb2 in summary:
        pm, m1, m2 = statistics.median(pg_t), statistics.median(d1), statistics.median(d2)
        print(f"| {args.period} {label} | {code} | {pm:.2f} s ({pg_t[0]:.2f}) | {m1:.2f} s ({d1[0]:.2f}) | {pm / m1:.1f}× | "
              f"{m2:.2f} s ({d2[0]:.2f}) | {pm / m2:.1f}× | {nv1} + {nv2} | {nb1} + {nb2} |")
    print(f"rows: {counts['registry_elevator']:,} elevators, {counts['emergency_emergencycase']:,} cases, "
          f"{counts['registry_maintenancecontract']:,} contracts, {counts['hazards_hazard']:,} hazards, "
          f"{counts['registry_organisation']:,} organisations, {counts['core_area']:,} areas"
          + (f"; Parquet export {export_s:.0f} s" if export_s else ""))
    dump = {k: {kk: vv for kk, vv in v.items() if kk not in ("data", "all_sql")} for k, v in results.items()}
    Path("/tmp/bench_reports_result.json").write_text(json.dumps(dump, default=str, indent=1))
    return 0 if all_ok else 1
