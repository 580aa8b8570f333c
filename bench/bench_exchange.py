"""Benchmark (issue 6): export of one month of cases to the national format, records/s.

Builds its own PostgreSQL database (default ``bench_exchange`` on 127.0.0.1:5432), migrates it, and
generates server side (``INSERT … SELECT generate_series``) ``--elevators`` elevators in 12 districts and
``--cases`` completed entrapment cases received in one month, each with its six milestones (received,
dispatched L1, responded, arrived, released, completed) and an IoT status snapshot in ``details``.
Then it times, over the month's cases:

1. **national JSON**: load the cases through the ORM (elevator + area joined, milestones as plain rows;
   :func:`liftsafe.exchange.services.case_rows`, the outbox's own read),
   map each with :class:`liftsafe.exchange.adapters.national.NationalAdapter` (docs/domain §3.5 fields,
   deal_status from the milestones, §4.2 fault type, snapshot fields) and serialise batches of
   ``--batch`` rows into the HTTP body (``{"records": [...]}``), as the sender does;
2. **provincial CSV**: the same through :class:`~liftsafe.exchange.adapters.provincial_csv.ProvincialCsvAdapter`;
3. **enqueue**: :func:`liftsafe.exchange.services.enqueue_changed` for a national destination (mapping
   + compare with the last version + bulk insert of the outbox rows), then a second run (nothing changed:
   0 enqueued);
4. **baseline**: the same rows' values fetched with one SQL statement through psycopg (case columns,
   elevator codes, area code; milestone times aggregated in SQL) and ``json.dumps`` of them — no
   mapping, no ORM. The ratio is (1) / (4).

Usage::

    .venv/bin/python bench/bench_exchange.py                 # 100,000 cases, 20,000 elevators
    .venv/bin/python bench/bench_exchange.py --cases 277778   # a province's month (10 M cases / 36 months)
    .venv/bin/python bench/bench_exchange.py --reuse          # keep the loaded database
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_hazards import backend_cpu, machine  # noqa: E402
from common import DEFAULT_ADMIN_URL, bench_database  # noqa: E402

DISTRICTS = [f"3201{n:02d}" for n in (2, 4, 5, 6, 11, 13, 14, 15, 16, 17, 18, 25)]
MONTH = (dt.datetime(2026, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
         dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))))


def load(n_elevators: int, n_cases: int) -> float:
    """Areas, elevators, the month's cases and their milestones (server side); returns seconds."""
    from django.db import connection

    from liftsafe.core.models import Area
    from liftsafe.registry.models import Elevator, Organisation

    t = time.perf_counter()
    prov = Area.objects.create(code="320000", name="江苏省", level="province")
    city = Area.objects.create(code="320100", name="南京市", level="city", parent=prov)
    areas = [Area.objects.create(code=c, name=f"区 {c}", level="district", parent=city) for c in DISTRICTS]
    mu = Organisation.objects.create(kind="maintenance_unit", name="维保单位", area=city)
    Elevator.objects.bulk_create([Elevator(source="bench", source_id=f"E{i:06d}", area=areas[i % 12], jurisdiction="320000",
                                           category="3310" if i % 20 == 0 else "3110", address=f"{i} Bench Road",
                                           registration_code=f"3110{DISTRICTS[i % 12]}2015{i:06d}", rescue_code=f"{i:06d}")
                                  for i in range(n_elevators)], batch_size=5000)
    e0 = Elevator.objects.order_by("id").values_list("id", flat=True).first()
    start, end = MONTH
    span = int((end - start).total_seconds()) - 7200
    snapshot = json.dumps({"code": "90", "service_mode": 1, "car_status": 0, "car_direction": 0, "car_position": 7, "door_zone": 2,
                           "door_status": 1, "passenger_status": 1, "power_status": 1, "up_limit": 2, "down_limit": 2})
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO emergency_emergencycase (elevator_id, order_number, channel, case_type, received_at, trapped_count,
                injured_count, car_position, caller_phone, special_circumstances, details, source_ref, cause_class, cause_item,
                cause_reported_at, released_count, state, level, responder_id, level_dispatched_at, dispatched_at, responded_at,
                arrived_at, released_at, closed_at, created_by_id, created_at, updated_at)
            SELECT {e0} + (g %% %s), 'B' || lpad(g::text, 10, '0'), 'iot', 'entrapment', r, 1 + g %% 3, 0, '7', '', '',
                   %s::jsonb, '', 'human', 'rubbish_blocking_doors', r + interval '40 min', 1 + g %% 3, 'completed', 1, {mu.pk},
                   r + interval '1 min', r + interval '1 min', r + interval '3 min', r + interval '20 min', r + interval '30 min',
                   r + interval '40 min', NULL, r, r + interval '40 min'
            FROM (SELECT g, %s::timestamptz + ((g * 7919) %% %s) * interval '1 second' AS r FROM generate_series(1, %s) g) s
        """, [n_elevators, snapshot, start, span, n_cases])
        cur.execute(f"""
            INSERT INTO emergency_milestone (case_id, kind, at, recorded_at, actor_id, level, responder_id, data, idempotency_key)
            SELECT c.id, m.kind, c.received_at + m.off, c.received_at + m.off, NULL,
                   CASE WHEN m.kind = 'dispatched' THEN 1 END, CASE WHEN m.kind = 'dispatched' THEN {mu.pk} END,
                   CASE WHEN m.kind = 'released' THEN jsonb_build_object('released_count', c.released_count) ELSE '{{}}'::jsonb END, ''
            FROM emergency_emergencycase c
            CROSS JOIN (VALUES ('received', interval '0'), ('dispatched', interval '1 min'), ('responded', interval '3 min'),
                               ('arrived', interval '20 min'), ('released', interval '30 min'), ('completed', interval '40 min')) AS m(kind, off)
        """)
        cur.execute("ANALYZE")
    return time.perf_counter() - t


def month_cases():
    from liftsafe.emergency.models import EmergencyCase

    return EmergencyCase.objects.filter(received_at__gte=MONTH[0], received_at__lt=MONTH[1])


def export(adapter, batch: int) -> tuple[int, int, float, float]:
    """Map + serialise the month's cases in batches, as the sender does; returns (rows, bytes, wall s, CPU s)."""
    from liftsafe.exchange.services import case_rows

    c0, t0 = backend_cpu(), time.perf_counter()
    pks = list(month_cases().order_by("pk").values_list("pk", flat=True))
    rows = size = 0
    for i in range(0, len(pks), 2000):
        mapped = [adapter.map_case(c, ms) for c, ms in case_rows(pks[i:i + 2000])]  # the same read the outbox uses
        for j in range(0, len(mapped), batch):
            size += len(adapter.encode("case", mapped[j:j + batch]))
        rows += len(mapped)
    return rows, size, time.perf_counter() - t0, backend_cpu() - c0


def baseline(db_url: str) -> tuple[int, int, float]:
    """One SQL statement for the same rows' values (milestone times aggregated in SQL) + json.dumps."""
    import psycopg

    sql = """
        SELECT c.id, c.order_number, c.case_type, c.received_at, c.details, c.trapped_count, c.released_count, c.state,
               e.registration_code, e.equipment_code, e.rescue_code, e.category, a.code,
               min(m.at) FILTER (WHERE m.kind = 'responded'), min(m.at) FILTER (WHERE m.kind = 'arrived'),
               max(m.at) FILTER (WHERE m.kind IN ('completed', 'false_alarm', 'cancelled')),
               string_agg(m.kind || ' ' || m.at::text, '; ' ORDER BY m.at)
        FROM emergency_emergencycase c JOIN registry_elevator e ON e.id = c.elevator_id JOIN core_area a ON a.id = e.area_id
        JOIN emergency_milestone m ON m.case_id = c.id
        WHERE c.received_at >= %s AND c.received_at < %s GROUP BY c.id, e.id, a.id ORDER BY c.id"""
    t0 = time.perf_counter()
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(sql, list(MONTH)).fetchall()
    size = 0
    for j in range(0, len(rows), 500):
        size += len(json.dumps({"records": rows[j:j + 500]}, default=str, ensure_ascii=False).encode("utf-8"))
    return len(rows), size, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    ap.add_argument("--db", default="bench_exchange")
    ap.add_argument("--elevators", type=int, default=20_000)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500, help="records per HTTP body (rule exchange_batch_size)")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--no-enqueue", action="store_true", help="skip the outbox (enqueue) measurement")
    args = ap.parse_args()

    db_url = bench_database(args.db, admin_url=args.admin_url, fresh=not args.reuse, data_dir="/tmp/bench-exchange-var")
    from liftsafe.exchange import services
    from liftsafe.exchange.adapters import get_adapter
    from liftsafe.exchange.models import Destination, OutboxRecord

    print(f"machine: {machine()}")
    if args.reuse and month_cases().exists():
        print("reusing the loaded database")
        OutboxRecord.objects.all().delete()
        Destination.objects.all().delete()
    else:
        print(f"loading {args.elevators:,} elevators, {args.cases:,} cases × 6 milestones …", flush=True)
        print(f"  loaded in {load(args.elevators, args.cases):.1f} s")
    n = month_cases().count()
    print(f"month {MONTH[0]:%Y-%m}: {n:,} cases")

    rows, size, wall, cpu = export(get_adapter("national"), args.batch)
    print(f"national JSON : {rows:,} records, {size / 1e6:.1f} MB in {wall:.2f} s (CPU {cpu:.2f} s) → {rows / wall:,.0f} records/s "
          f"(CPU-bound {rows / cpu:,.0f}/s)")
    crow, csize, cwall, ccpu = export(get_adapter("provincial-csv"), args.batch)
    print(f"provincial CSV: {crow:,} records, {csize / 1e6:.1f} MB in {cwall:.2f} s (CPU {ccpu:.2f} s) → {crow / cwall:,.0f} records/s")
    brow, bsize, bwall = baseline(db_url)
    print(f"baseline (1 SQL + json.dumps): {brow:,} rows, {bsize / 1e6:.1f} MB in {bwall:.2f} s → {brow / bwall:,.0f} rows/s")
    print(f"ratio national / baseline: {wall / bwall:.1f}x")
    if not args.no_enqueue:
        from django.conf import settings
        from django.contrib.auth import get_user_model

        settings.LIFTSAFE_EXCHANGE_ALLOWED_HOSTS = ["127.0.0.1:9"]  # the discard port: a loopback URL is refused unless listed
        admin = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser("bench", password="x")
        d = services.destination_create(admin, name="bench national", kind="national", adapter="national",
                                        endpoint_url="http://127.0.0.1:9/upload")
        c0, t0 = backend_cpu(), time.perf_counter()
        k = services.enqueue_changed(d, since=MONTH[0] - dt.timedelta(days=1))
        ewall, ecpu = time.perf_counter() - t0, backend_cpu() - c0
        print(f"enqueue (map + outbox insert): {k:,} records in {ewall:.2f} s (CPU {ecpu:.2f} s) → {k / ewall:,.0f} records/s")
        t0 = time.perf_counter()
        k2 = services.enqueue_changed(d, since=MONTH[0] - dt.timedelta(days=1))
        print(f"enqueue again (nothing changed): {k2:,} records in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
