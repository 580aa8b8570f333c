"""Issue 15 (b): the lift map's server-side clustering against a plain query of the same points.

Run: ``.venv/bin/python bench/map_clusters.py [--scale 20000] [--requests 30]`` (SQLite test file), or with
``LIFTSAFE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres LIFTSAFE_TEST_DATABASE_NAME=test_mapbench``
for PostgreSQL. Builds a throw-away test database (``make_world`` plus ``--scale`` generated lifts spread over a
0.6° × 0.8° city box in district A, 5 % crowded places), then, as district A's regulator (scoped), times:

1. the first view of the city (zoom 10, the whole box): ``command.selectors.map_clusters`` (GROUP BY grid cell,
   colour and flag counts) vs the plain query of the same points (``values_list(pk, lat, lon)`` of the same
   scoped, filtered lifts in the box — what a client-side clustering map would fetch);
2. ``--requests`` pan/zoom requests (random boxes at zoom 11-14): p50/p99 of both.

Prints medians/p99 in ms and the cluster/plain ratio of the same run (no numbers recorded). The database is dropped.
"""
from __future__ import annotations

import argparse
import os
import random
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

SOUTH, WEST, NORTH, EAST = 31.8, 118.5, 32.4, 119.3


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def build(scale: int):
    from liftsafe.registry.models import Elevator
    from liftsafe.testing import make_world

    w = make_world()
    rnd = random.Random(15)
    a = w.district_a
    batch = []
    for i in range(scale):
        batch.append(Elevator(source="bench", source_id=f"MB{i:07d}", area=a, jurisdiction=a.jurisdiction_code, category="3110",
                              address=f"{i} Bench Road (generated)", status="in_use", crowded_place=rnd.random() < 0.05,
                              latitude=rnd.uniform(SOUTH, NORTH), longitude=rnd.uniform(WEST, EAST)))
        if len(batch) == 5000:
            Elevator.objects.bulk_create(batch)
            batch = []
    Elevator.objects.bulk_create(batch)
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--scale", type=int, default=20000, help="generated lifts (default 20000; the issue's target is 1,000,000)")
    ap.add_argument("--requests", type=int, default=30, help="pan/zoom requests (default 30)")
    args = ap.parse_args()
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from liftsafe.command import selectors

        t, w = timed(lambda: build(args.scale))
        print(f"database: {connection.vendor}; {args.scale} lifts built in {t:.1f} s; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
        user = w.users["regulator"]
        filters = selectors.MapFilters()

        def clusters(box, zoom):
            return selectors.map_clusters(user, selectors.BBox.checked(*box), zoom, filters)

        def plain(box):
            qs = selectors.map_lifts(user, filters).filter(selectors.BBox.checked(*box).q())
            return list(qs.values_list("pk", "latitude", "longitude"))

        city = (SOUTH, WEST, NORTH, EAST)
        clusters(city, 10), plain(city)  # warm caches
        c_first = [timed(lambda: clusters(city, 10))[0] for _ in range(3)]
        p_first = [timed(lambda: plain(city))[0] for _ in range(3)]
        data = clusters(city, 10)
        print(f"first view (zoom 10, {data['total']} lifts → {len(data['clusters'])} clusters): clusters median "
              f"{statistics.median(c_first) * 1000:.0f} ms; plain points median {statistics.median(p_first) * 1000:.0f} ms; "
              f"ratio {statistics.median(c_first) / statistics.median(p_first):.2f}")
        rnd = random.Random(7)
        c_t, p_t = [], []
        for _ in range(args.requests):
            zoom = rnd.randint(11, 14)
            span_lat, span_lon = 180 / 2 ** zoom * 2, 360 / 2 ** zoom * 3
            s, wst = rnd.uniform(SOUTH, NORTH - span_lat), rnd.uniform(WEST, EAST - span_lon)
            box = (s, wst, s + span_lat, wst + span_lon)
            c_t.append(timed(lambda: clusters(box, zoom))[0])
            p_t.append(timed(lambda: plain(box))[0])
        print(f"pan/zoom ({args.requests} requests, zoom 11-14): clusters p50 {pct(c_t, 50) * 1000:.0f} ms p99 "
              f"{pct(c_t, 99) * 1000:.0f} ms; plain p50 {pct(p_t, 50) * 1000:.0f} ms p99 {pct(p_t, 99) * 1000:.0f} ms; "
              f"p99 ratio {pct(c_t, 99) / pct(p_t, 99):.2f}")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
