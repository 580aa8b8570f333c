"""Benchmark: elevator search at 1,000,000 elevators on PostgreSQL (issue 2: p99 < 50 ms).

Builds its own database (default ``bench_search`` on 127.0.0.1:5432), migrates
it, loads N generated elevators with COPY (secondary indexes dropped during the
load and rebuilt after), then times
:func:`liftsafe.registry.selectors.elevator_search` for an administrator and for
a district regulator (about 1/12 of the elevators in scope):

- by each identity code (注册代码, 设备代码, 使用登记证编号, rescue code, the
  source's device number): exact hits, and
- by address prefix ("<house number> <first letters of the street>"),

each over ``--queries`` random lookups. A lookup is what the list page and the
API do for the first page: the rows of the first 50 results, plus (reported
separately) the count for the pager. The baseline is the bare SQL of the same
lookup through psycopg on its own connection (one hand-written query, no
ORM), so "ratio" = ORM p50 / SQL p50.

Usage::

    .venv/bin/python bench/bench_search.py                 # 1,000,000 rows, 1,000 queries per case
    .venv/bin/python bench/bench_search.py --reuse         # keep an already loaded database
    .venv/bin/python bench/bench_search.py --rows 100000 --queries 200
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import create_database, migrate, setup_django  # noqa: E402

DISTRICTS = [f"3201{n:02d}" for n in (2, 4, 5, 6, 11, 13, 14, 15, 16, 17, 18, 25)]
WORDS_A = ["EAST", "WEST", "NORTH", "SOUTH", "OLD", "NEW", "GREAT", "LITTLE", "UPPER", "LOWER", "CENTRAL", "RIVER"]
WORDS_B = ["ZHONGSHAN", "HANZHONG", "ZHUJIANG", "BEIJING", "SHANGHAI", "CHANGJIANG", "XINJIEKOU", "GULOU", "XUANWU",
           "QINHUAI", "JIANYE", "YUHUA", "QIXIA", "JIANGNING", "PUKOU", "LIUHE", "LISHUI", "GAOCHUN", "LONGPAN",
           "HUNAN", "HEXI", "MOCHOU", "JIMING", "ZIJIN", "YANGZI", "FUZI", "TAIPING", "HUAIHAI", "ZHONGYANG", "YUNNAN"]
SUFFIX = ["ROAD", "STREET", "AVENUE", "LANE", "BOULEVARD", "ALLEY"]


def streets() -> list[str]:
    out = []
    for a in WORDS_A:
        for b in WORDS_B:
            for s in SUFFIX:
                out.append(f"{a} {b} {s}")
    out += [f"{b} {n} {s}" for b in WORDS_B for n in range(1, 40) for s in ("ROAD", "LANE")]
    return out  # 2160 + 2340 = 4500 streets


STREETS = streets()


def codes_of(i: int) -> dict:
    """Unique identity codes of generated elevator ``i`` (valid layouts, docs/domain §1)."""
    d = DISTRICTS[i % len(DISTRICTS)]
    rest = i // len(DISTRICTS)
    month_index, serial = divmod(rest, 10000)
    year, month = 2005 + month_index // 12, month_index % 12 + 1
    return {
        "source_id": f"BX{i:07d}",
        "registration_code": f"3110{d}{year:04d}{month:02d}{serial:04d}",
        "equipment_code": f"3110{i:014d}",
        "use_certificate_no": f"梯11苏A{i % 100000:05d}({10 + i // 100000:02d})",
        "rescue_code": f"{i:06d}",
    }


def address_of(i: int, rnd: random.Random | None = None) -> str:
    r = random.Random(i * 7919)
    return f"{r.randint(1, 1999)} {STREETS[r.randrange(len(STREETS))]}"


def machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs (nproc {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}), {cpu}, load avg {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"


def build_world():
    """Areas (a city, 12 districts), a use unit per district, an admin and a regulator of the first district."""
    from django.contrib.auth import get_user_model

    from liftsafe.core.models import Area, Profile, Role
    from liftsafe.registry.models import Organisation

    prov, _ = Area.objects.get_or_create(code="320000", defaults=dict(name="江苏省", level="province"))
    city, _ = Area.objects.get_or_create(code="320100", defaults=dict(name="南京市", level="city", parent=prov))
    areas = {}
    for code in DISTRICTS:
        areas[code], _ = Area.objects.get_or_create(code=code, defaults=dict(name=f"区{code}", level="district", parent=city))
    units = {}
    for code in DISTRICTS:
        units[code], _ = Organisation.objects.get_or_create(kind="use_unit", name=f"使用单位 {code}", defaults=dict(area=areas[code]))
    User = get_user_model()
    admin = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser("bench_admin", password="x" * 12)
    reg = User.objects.filter(username="bench_regulator").first()
    if reg is None:
        reg = User.objects.create_user("bench_regulator", password="x" * 12)
        Profile.objects.create(user=reg, role=Role.REGULATOR, area=areas[DISTRICTS[0]])
    return areas, units, admin, reg


def load(n: int, areas: dict, units: dict) -> float:
    """COPY ``n`` elevators; returns seconds. Secondary indexes are dropped for the load and rebuilt."""
    from django.db import connection
    from django.utils import timezone

    from liftsafe.registry.models import Elevator

    table = Elevator._meta.db_table
    fields = [f for f in Elevator._meta.concrete_fields if not f.primary_key]
    cols = [f.column for f in fields]
    now = timezone.now()
    base = {}
    for f in fields:
        if f.null:
            base[f.column] = None
        elif f.get_internal_type() == "BooleanField":
            base[f.column] = bool(f.default) if f.has_default() else False
        elif f.get_internal_type() == "JSONField":
            base[f.column] = "{}"
        elif f.get_internal_type() == "DateTimeField":
            base[f.column] = now
        else:
            base[f.column] = f.default if f.has_default() and not callable(f.default) else ""
    base.update(source="bench", jurisdiction="320000", category="3110", status="in_use", urban=True)
    area_ids = [areas[c].pk for c in DISTRICTS]
    unit_ids = [units[c].pk for c in DISTRICTS]
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                       WHERE i.tablename = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""", [table])
        indexes = cur.fetchall()
        for name, _def in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        pg = cur.cursor  # the psycopg cursor
        with pg.copy(f'COPY {table} ({", ".join(cols)}) FROM STDIN') as copy:
            for i in range(n):
                row = dict(base)
                row.update(codes_of(i))
                d = i % len(DISTRICTS)
                addr = address_of(i)
                row["address"] = addr
                row["search_address"] = addr  # already upper-case, single spaces (normalize_address)
                row["area_id"] = area_ids[d]
                row["use_unit_id"] = unit_ids[d]
                copy.write_row([row[c] for c in cols])
        for name, definition in indexes:
            cur.execute(definition)
        cur.execute(f"ANALYZE {table}")
        cur.execute("ANALYZE core_area")
    return time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def run(args) -> list[dict]:
    import psycopg
    from django.db import connection

    from liftsafe.core.scoping import scope_of
    from liftsafe.registry import selectors
    from liftsafe.registry.models import Elevator

    areas, units, admin, reg = build_world()
    have = Elevator.objects.filter(source="bench").count()
    if have != args.rows:
        if have:
            Elevator.objects.filter(source="bench").delete()
        secs = load(args.rows, areas, units)
        print(f"loaded {args.rows:,} elevators in {secs:.1f} s ({args.rows / secs:,.0f} rows/s, COPY + index rebuild)")
    else:
        print(f"reusing {have:,} loaded elevators")
    reg_area = areas[DISTRICTS[0]]
    reg_path = reg_area.path
    raw = psycopg.connect(args.db_url, autocommit=True)
    select_cols = ", ".join(f"e.{f.column}" for f in Elevator._meta.concrete_fields)

    rnd = random.Random(42)
    # regulator sees district 0: i % 12 == 0
    reg_ids = [rnd.randrange(args.rows // 12) * 12 for _ in range(args.queries)]
    adm_ids = [rnd.randrange(args.rows) for _ in range(args.queries)]

    def addr_prefix(i: int) -> str:
        addr = address_of(i)
        num, street = addr.split(" ", 1)
        return f"{num} {street[: rnd.randint(3, len(street))]}".lower()

    scope_sql = {"admin": ("", []), "regulator": ("JOIN core_area a ON a.id = e.area_id AND a.path LIKE %s", [reg_path + "%"])}
    results = []
    if args.only == "exports":
        raw.close()
        return results, export_timing(reg, admin, areas)
    cases = [(kind, who) for kind in ("registration_code", "equipment_code", "use_certificate_no", "rescue_code", "source_id", "address_prefix")
             for who in ("regulator", "admin")]
    for kind, who in cases:
        user = reg if who == "regulator" else admin
        scope_of(user)
        ids = reg_ids if who == "regulator" else adm_ids
        queries = [addr_prefix(i) if kind == "address_prefix" else codes_of(i)[kind] for i in ids]
        orm, orm_count, sql, hits = [], [], [], 0
        join, jparams = scope_sql[who]
        if kind == "address_prefix":
            where = "e.search_address LIKE %s"
        else:
            where = ("(e.registration_code = %s OR e.equipment_code = %s OR e.use_certificate_no = %s "
                     "OR e.rescue_code = %s OR e.source_id = %s)")
        stmt = f"SELECT {select_cols} FROM registry_elevator e {join} WHERE {where} ORDER BY e.source, e.source_id LIMIT 50"
        for q in queries[:20]:  # warm up both paths
            list(selectors.elevator_search(user, q)[:50])
        for q in queries:
            t = time.perf_counter()
            rows = list(selectors.elevator_search(user, q)[:50])
            orm.append((time.perf_counter() - t) * 1000)
            hits += bool(rows)
            t = time.perf_counter()
            selectors.elevator_search(user, q).count()
            orm_count.append((time.perf_counter() - t) * 1000)
            key = " ".join(q.upper().split())
            params = [key + "%"] if kind == "address_prefix" else [key, key, q, q, key]
            t = time.perf_counter()
            raw.execute(stmt, jparams + params).fetchall()
            sql.append((time.perf_counter() - t) * 1000)
        r = {
            "kind": kind, "who": who, "n": len(queries), "hits": hits,
            "p50": statistics.median(orm), "p99": pct(orm, 99), "count_p99": pct(orm_count, 99),
            "sql_p50": statistics.median(sql), "sql_p99": pct(sql, 99),
        }
        r["ratio"] = r["p50"] / r["sql_p50"] if r["sql_p50"] else float("nan")
        results.append(r)
        print(f"{kind:19s} {who:9s} n={r['n']} hits={hits:4d}  ORM p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "
              f"(+count p99 {r['count_p99']:6.2f} ms)  SQL p50 {r['sql_p50']:6.2f} ms  p99 {r['sql_p99']:6.2f} ms  ratio {r['ratio']:.2f}")
    raw.close()
    broad_timing(reg, admin)
    results_export = [] if args.only == "search" else export_timing(reg, admin, areas)
    connection.close()
    return results, results_export


def broad_timing(reg, admin, n: int = 50) -> None:
    """Whole API calls (auth, search, capped count, JSON) for broad searches: the empty list and 1-2 character prefixes."""
    from django.test import Client

    for who, user in (("regulator", reg), ("admin", admin)):
        c = Client()
        c.force_login(user)
        for q in ("", "1", "12", "1 EAST"):
            c.get("/api/registry/elevators", {"q": q})
            ts = []
            for _ in range(n):
                t = time.perf_counter()
                body = c.get("/api/registry/elevators", {"q": q}).json()
                ts.append((time.perf_counter() - t) * 1000)
            print(f"API GET /api/registry/elevators?q={q!r:9s} {who:9s} count={body['count']:>6}{'' if body['count_exact'] else '+'} "
                  f"p50 {statistics.median(ts):6.1f} ms  p99 {pct(ts, 99):6.1f} ms (n={n})")


def export_timing(reg, admin, areas) -> list[dict]:
    """Time the CSV and XLSX exports of the regulator's whole district (~1/12 of the rows, ~83k at 1M:
    the size of the NYC registry) the way the page/API serve them; peak RSS growth from getrusage."""
    import resource

    from liftsafe.registry import exports, selectors

    out = []
    for kind in ("csv", "xlsx"):
        n = selectors.elevator_search(reg, "").count()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        if kind == "csv":
            resp = exports.csv_response(reg, {"q": ""})
            size = sum(len(chunk) for chunk in resp.streaming_content)
        else:
            resp = exports.xlsx_response(reg, {"q": ""})
            size = sum(len(chunk) for chunk in resp.streaming_content)
        secs = time.perf_counter() - t
        rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        out.append({"kind": kind, "rows": n, "secs": secs, "mb": size / 1e6, "rss_mb": rss})
        print(f"export {kind:4s} regulator: {n:,} rows in {secs:.1f} s ({n / secs:,.0f} rows/s), {size / 1e6:.1f} MB, peak RSS +{rss:.0f} MB")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--db", default="bench_search")
    ap.add_argument("--only", choices=["search", "exports"], help="run one part only")
    ap.add_argument("--reuse", action="store_true", help="keep the database if it exists (reload only if the row count differs)")
    args = ap.parse_args()
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}")
    args.db_url = create_database(f"{args.server}/postgres", args.db, fresh=not args.reuse)
    setup_django(args.db_url, data_dir="/tmp/bench-search-var", log_level=None)
    print(f"migrated in {migrate():.1f} s")
    results, _exports = run(args)
    if results:
        worst = max(r["p99"] for r in results)
        print(f"worst p99 {worst:.2f} ms (target < 50 ms): {'PASS' if worst < 50 else 'FAIL'}")
    print(f"done; {machine()}")


if __name__ == "__main__":
    main()
