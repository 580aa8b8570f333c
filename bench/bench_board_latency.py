"""Issue 4: how long an IoT entrapment takes to appear on the 96333 live board, and what a nothing-changed poll costs.

Run: ``.venv/bin/python bench/bench_board_latency.py [--cases 2000] [--messages 20] [--intervals 3,1]`` (SQLite file),
or with ``LIFTSAFE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres LIFTSAFE_TEST_DATABASE_NAME=test_latency``
for PostgreSQL. It builds a throw-away test database (the ``make_world`` world plus ``--cases`` open 96333 cases made
through the services, as bench/emergency_ui.py does), then:

1. Poll cost, in process with the Django test client (server time, no network): the delta endpoint when nothing
   changed (now a 204 after one indexed query) and after 5 cases changed; the work the pre-issue-4 view did on every
   poll (closed ids, changed rows, ``_counts``, render; copied in :func:`legacy_work`) with its breakdown. Wall and
   CPU time of this process, median of ``--polls``.
2. Latency, end to end: a live server (Django's LiveServerThread, threaded, on the same database), an operator's
   board open in headless Chromium (Playwright, /usr/bin/chromium; never downloads a browser), and ``--messages``
   IoT entrapment events (``{"type": "event", "data": {"code": "90"}}``, each from its own device) POSTed by the
   integrator through ``/api/monitoring/messages`` at random moments. Latency = the POST leaving this script → the
   case's row inserted into the board's DOM (a MutationObserver stamps it with ``Date.now()``; same clock).
   Measured for each poll interval in ``--intervals`` (the rule ``board_poll_s``; 3 = the interval before issue 4).

Prints p50/p95/max per interval and the ratios to the first interval. The database is dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftsafe.settings")
os.environ["LIFTSAFE_TESTING"] = "1"
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pct(values, p):
    """``p``-th percentile (nearest rank) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def ms(samples):
    return f"median {statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def timed(fn, n):
    """``(wall samples, cpu samples, last result)`` of ``n`` calls of ``fn`` after one warm-up call."""
    fn()
    wall, cpu, res = [], [], None
    for _ in range(n):
        t, tc = time.perf_counter(), time.process_time()
        res = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - tc)
    return wall, cpu, res


def legacy_work(user, since):
    """What the pre-issue-4 delta view computed on every poll, nothing changed or not: the closed-ids query, the
    changed-rows query, the counts (two queries) and the fragment render (views.py before issue 4, verbatim)."""
    from django.db.models import Case, IntegerField, Value, When
    from django.template.loader import render_to_string
    from django.utils import timezone

    from liftsafe.emergency import selectors, views
    from liftsafe.emergency.models import OPEN_STATES, State

    now = timezone.now()
    qs = selectors.cases_for(user).order_by()
    open_values = [s.value for s in OPEN_STATES]
    recent = qs.filter(updated_at__gte=since - selectors.BOARD_OVERLAP)
    changed = recent.filter(state__in=open_values)
    closed = list(recent.exclude(state__in=open_values).values_list("pk", flat=True)[:5000])
    undispatched_first = Case(When(state=State.RECEIVED, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = list(changed.order_by(undispatched_first, "received_at", "pk").values_list(*views._BOARD_FIELDS)[:5000])
    rows_html, rows = views.render_board_rows(rows, now)
    ctx = {"rows_html": rows_html, "rows": rows, "cursor": now.isoformat(), "closed": closed,
           "counts": views._counts(user, now), "full": False}
    return render_to_string("emergency/_board_delta.html", ctx)


def bench_polls(world, out, n):
    """Server time of the delta endpoint: nothing changed (now / the pre-issue-4 path), a few changed; breakdown."""
    import datetime as dt

    from django.template.loader import render_to_string
    from django.test import Client
    from django.utils import timezone

    from emergency_ui import touch_some
    from liftsafe.emergency import views
    from liftsafe.emergency.models import EmergencyCase

    EmergencyCase.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=1))
    c = Client()
    user = world.users["operator"]
    c.force_login(user)
    r = c.get("/emergency/board/")
    since = r.headers["X-Board-Version"]
    sdt = dt.datetime.fromisoformat(since)
    out.append(f"- board: {r.content.count(b'<tr id=')} open cases")
    wall, cpu, r = timed(lambda: c.get("/emergency/board/delta/", {"since": since}), n)
    new_req, new_req_w = statistics.median(cpu), statistics.median(wall)
    out.append(f"- delta poll, nothing changed (HTTP {r.status_code}, {len(r.content)} B): wall {ms(wall)}; CPU {ms(cpu)}")
    wall, cpu, data = timed(lambda: views.board_data(user, sdt), n)
    new_bd, new_bd_w = statistics.median(cpu), statistics.median(wall)
    out.append(f"  - of which board_data(since), the one indexed query: wall {ms(wall)}; CPU {ms(cpu)}")
    wall, cpu, _ = timed(lambda: legacy_work(user, sdt), n)
    old_work, old_work_w = statistics.median(cpu), statistics.median(wall)
    out.append(f"- pre-issue-4 work of the same poll (closed ids + rows query, counts, render; ran on every poll): "
               f"wall {ms(wall)}; CPU {ms(cpu)}")
    wall, cpu, _ = timed(lambda: views._counts(user, timezone.now()), n)
    out.append(f"  - of which _counts (state counts + late count, 2 queries): wall {ms(wall)}; CPU {ms(cpu)}")
    counts = views._counts(user, timezone.now())
    ctx = {"rows_html": "", "rows": [], "cursor": since, "closed": [], "counts": counts, "full": False}
    wall, cpu, _ = timed(lambda: render_to_string("emergency/_board_delta.html", ctx), n)
    out.append(f"  - of which _board_delta.html render: wall {ms(wall)}; CPU {ms(cpu)}")
    old_req = new_req - new_bd + old_work
    old_req_w = new_req_w - new_bd_w + old_work_w
    out.append(f"- nothing-changed poll wall time (includes the database server's work), whole request: before ≈ "
               f"{old_req_w * 1000:.1f} ms, after {new_req_w * 1000:.1f} ms ({old_req_w / max(new_req_w, 1e-6):.1f}× less)")
    out.append(f"- nothing-changed poll CPU, whole request: before ≈ {old_req * 1000:.1f} ms (request overhead + the "
               f"pre-issue-4 work), after {new_req * 1000:.1f} ms ({old_req / max(new_req, 1e-6):.1f}× less); "
               f"50 operators polling: before every 3 s {50 / 3 * old_req * 100:.0f}%, at every 1 s it would be "
               f"{50 * old_req * 100:.0f}%, after every 1 s {50 * new_req * 100:.0f}% of one core")
    touch_some(world, 5)
    wall, cpu, r = timed(lambda: c.get("/emergency/board/delta/", {"since": since}), n)
    out.append(f"- delta poll, 5 cases changed since the cursor: HTTP {r.status_code}, {r.content.count(b'<tr id=')} rows, "
               f"{len(r.content)} B (gzipped by the view when asked); wall {ms(wall)}; CPU {ms(cpu)}")


def devices(world, n):
    """``n`` new district-A elevators, each under A's maintenance contract, each with a bound device ``LAT-<i>``."""
    import datetime as dt

    from liftsafe.testing import make_elevator
    from liftsafe.monitoring import services as mon
    from liftsafe.registry.models import MaintenanceContract

    mu = world.orgs[("maintenance_unit", "a")]
    out = []
    for i in range(n):
        e = make_elevator(f"LAT{i:04d}", world.district_a, address=f"{i} Latency Road")
        MaintenanceContract.objects.create(elevator=e, maintenance_unit=mu, start_date=dt.date(2020, 1, 1))
        mon.bind_device(e, f"LAT-{i:04d}")
        out.append((e, f"LAT-{i:04d}"))
    return out


OBSERVER = """() => {
  window.__seen = {};
  const tbody = document.getElementById('board-rows');
  new MutationObserver(muts => {
    const t = Date.now();
    for (const m of muts) for (const n of m.addedNodes) {
      if (n.nodeType === 1 && n.id && n.id.startsWith('case-')) {
        const code = (n.querySelector('i.mono') || {}).textContent || '';
        if (!(code in window.__seen)) window.__seen[code] = {t: t, ch: n.querySelector('td[class^=ch-]').className};
      }
    }
  }).observe(tbody, {childList: true});
}"""


def bench_latency(world, out, intervals, n_messages, settings_override):
    """Message POSTed → row on the board, for each poll interval; returns ``{interval: [latency s]}``."""
    from django.test import Client
    from django.utils import timezone
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    from liftsafe.core.models import ApiToken

    devs = devices(world, n_messages * len(intervals))
    _rec, token = ApiToken.issue(world.users["maintenance_unit"], "latency bench")
    server = LiveServer("127.0.0.1:0")
    results = {}
    try:
        host = server.url.split("//", 1)[1].split(":")[0]
        client = Client()
        client.force_login(world.users["operator"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for k, interval in enumerate(intervals):
                settings_override(interval)
                ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
                ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}])
                page = ctx.new_page()
                page.goto(f"{server.url}/emergency/board/")
                trigger = page.get_attribute("#board-poll", "hx-trigger")
                page.evaluate(OBSERVER)
                page.wait_for_timeout(1500)
                lat, posts, channels = [], [], set()
                for i, (e, dev) in enumerate(devs[k * n_messages:(k + 1) * n_messages]):
                    time.sleep(random.uniform(0, float(interval)))  # de-phase the message from the poll
                    body = {"v": 1, "type": "event", "device": dev, "id": f"lat-{dev}", "ts": timezone.now().isoformat(),
                            "data": {"code": "90"}}
                    req = urllib.request.Request(f"{server.url}/api/monitoring/messages", method="POST",
                                                 data=json.dumps({"messages": [body]}).encode(),
                                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                    t_sent = time.time() * 1000
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        reply = json.loads(resp.read())
                    posts.append(time.time() - t_sent / 1000)
                    assert reply["outcomes"] == ["accepted"] and reply["alarms_raised"] == 1, reply
                    code = e.source_id
                    page.wait_for_function(f"() => window.__seen && ({json.dumps(code)} in window.__seen)", timeout=30000,
                                           polling=20)
                    seen = page.evaluate(f"window.__seen[{json.dumps(code)}]")
                    lat.append((seen["t"] - t_sent) / 1000)
                    channels.add(seen["ch"])
                ctx.close()
                results[interval] = lat
                out.append(f"- poll every {interval} s (hx-trigger=\"{trigger}\"), {len(lat)} IoT entrapments: "
                           f"p50 {statistics.median(lat) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
                           f"max {max(lat) * 1000:.0f} ms, min {min(lat) * 1000:.0f} ms; row channel {sorted(channels)}; "
                           f"of which the POST (batch processing + case intake, committed) median "
                           f"{statistics.median(posts) * 1000:.0f} ms, max {max(posts) * 1000:.0f} ms")
            browser.close()
    finally:
        server.stop()
    a = results[intervals[0]]
    for iv in intervals[1:]:
        b = results[iv]
        out.append(f"- ratio {intervals[0]} s / {iv} s: p50 {statistics.median(a) / statistics.median(b):.1f}×, "
                   f"p95 {pct(a, 95) / pct(b, 95):.1f}×")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cases", type=int, default=2000, help="open background cases on the board (default 2000)")
    ap.add_argument("--messages", type=int, default=20, help="IoT entrapments per poll interval (default 20)")
    ap.add_argument("--intervals", default="3,1", help="poll intervals to compare, s (default 3,1: before/after issue 4)")
    ap.add_argument("--polls", type=int, default=20, help="samples per poll-cost figure (default 20)")
    ap.add_argument("--skip-browser", action="store_true", help="only the in-process poll cost")
    args = ap.parse_args()
    intervals = [float(x) if "." in x else int(x) for x in args.intervals.split(",")]
    random.seed(4)
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    out = [f"database: {connection.vendor}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"]
    try:
        from django.conf import settings

        from emergency_ui import analyze, open_cases
        from liftsafe.testing import make_world

        world = make_world()
        t0 = time.perf_counter()
        open_cases(world, args.cases)
        out.append(f"- {args.cases} open cases made in {time.perf_counter() - t0:.0f} s")
        analyze()
        bench_polls(world, out, args.polls)
        if not args.skip_browser:
            def override(interval):
                settings.LIFTSAFE_RULES = {**getattr(settings, "LIFTSAFE_RULES", {}), "board_poll_s": interval}

            bench_latency(world, out, intervals, args.messages, override)
        out.append(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        print("\n".join(out))
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
