"""Issue 15 (c): the elevator file of a lift with ``--years`` of history must render in < 500 ms (server time).

Run: ``.venv/bin/python bench/elevator_file.py [--years 10] [--repeat 7]`` (a throw-away SQLite test database), or
with ``LIFTSAFE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres LIFTSAFE_TEST_DATABASE_NAME=test_efile_bench``
for PostgreSQL. It builds the ``make_world`` world and gives lift a1, per year of history (generated, bulk-inserted):
24 maintenance visits, 30 closed 96333 cases (a third false alarms), 60 IoT alarms, 1 periodic inspection, 2 hazards
with their history, 2 lifecycle events; then times, as the regulator with Django's test client (in process, no
network), the file page ``/file/<pk>/``, one section export and the PDF dossier, against the same run's baseline:
the registry's plain elevator page. Prints the medians (ms) and the ratios to the baseline; records nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
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

from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402


def build(years: int):
    from django.utils import timezone

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.hazards import services as hz
    from liftsafe.inspection.models import InspectionRecord
    from liftsafe.maintenance.models import Visit
    from liftsafe.monitoring.models import Alarm
    from liftsafe.registry.models import LifecycleEvent
    from liftsafe.testing import make_world

    w = make_world()
    e, unit = w.elevators["a1"], w.orgs[("maintenance_unit", "a")]
    now = timezone.now()
    start = now - dt.timedelta(days=365 * years)
    days = 365 * years
    Visit.objects.bulk_create([Visit(elevator=e, maintenance_unit=unit, tier="half_monthly", state="checked_out",
                                     planned_date=(start + dt.timedelta(days=i * 15)).date(),
                                     checked_in_at=start + dt.timedelta(days=i * 15), checked_out_at=start + dt.timedelta(days=i * 15, hours=1),
                                     latitude=32.04, longitude=118.79, accuracy_m=8) for i in range(24 * years)])
    EmergencyCase.objects.bulk_create([EmergencyCase(elevator=e, area=e.area, order_number=f"BENCH{i:07d}", channel="iot",
                                                     case_type="entrapment", received_at=start + dt.timedelta(days=days * i / (30 * years)),
                                                     state="false_alarm" if i % 3 == 0 else "completed") for i in range(30 * years)])
    Alarm.objects.bulk_create([Alarm(elevator=e, type="fault", code="F1", raised_at=start + dt.timedelta(days=days * i / (60 * years)),
                                     last_occurred_at=start + dt.timedelta(days=days * i / (60 * years)),
                                     cleared_at=start + dt.timedelta(days=days * i / (60 * years), hours=1)) for i in range(60 * years)])
    InspectionRecord.objects.bulk_create([InspectionRecord(elevator=e, kind="periodic", conclusion="pass",
                                                           inspected_on=(start + dt.timedelta(days=365 * y)).date()) for y in range(years)])
    LifecycleEvent.objects.bulk_create([LifecycleEvent(elevator=e, kind="inspected", occurred_on=(start + dt.timedelta(days=180 * k)).date())
                                        for k in range(2 * years)])
    reg = w.users["regulator"]
    for k in range(2 * years):
        hz.hazard_file(reg, elevator=e, source="spot_check", title=f"generated hazard {k}", level="general",
                       responsible_unit=w.orgs[("use_unit", "a")])
    return w, e


def median_ms(client, url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        if hasattr(r, "streaming_content"):
            b"".join(r.streaming_content)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from django.test import Client

        t = time.perf_counter()
        w, e = build(args.years)
        print(f"history of {args.years} years built in {time.perf_counter() - t:.1f} s")
        c = Client()
        c.force_login(w.users["regulator"])
        base = median_ms(c, f"/registry/elevators/{e.pk}/", args.repeat)
        rows = [("registry elevator page (baseline)", base)]
        for label, url in (("elevator file page", f"/file/{e.pk}/"), ("maintenance section CSV", f"/file/{e.pk}/maintenance.csv"),
                           ("PDF dossier", f"/file/{e.pk}/dossier.pdf")):
            rows.append((label, median_ms(c, url, args.repeat)))
        for label, ms in rows:
            print(f"{label:36s} {ms:8.1f} ms   x{ms / base:5.2f} of baseline")
        print("target: elevator file page < 500 ms")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
