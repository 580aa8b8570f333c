"""Issue 4: how long an IoT entrapment takes to appear on the 96333 live board, and what a nothing-changed poll costs.

Run: ``.venv/bin/python bench/bench_board_latency.py [--cases 2000] [--messages 20] [--intervals 3,1]`` (SQLite file),
or with ``LIFTSAFE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres LIFTSAFE_TEST_DATABASE_NAME=test_latency``
for PostgreSQL. It builds a throw-away test database (the ``make_world`` world plus ``--cases`` open 96333 cases made
through the services, as bench/emergency_ui.py does), then:

1. Poll cost, in process with the Django test client (server time, no network): the delta endpoint when nothing
   changed, without the ``late_at`` hint (what the board sent before issue 4, which runs the full path: changed rows,
   closed ids, counts) and with it (the cheap check), and after a few cases changed; plus a breakdown of the full
   path (``board_data``, ``_counts``, template render). Wall and CPU time of this process, median of ``--polls``.
2. Latency, end to end: a live server (Django's LiveServerThread, threaded, on the same database), an operator's
   board open in headless Chromium (Playwright, /usr/bin/chromium; never downloads a browser), and ``--messages``
   IoT entrapment events (``{"type": "event", "data": {"code": "90"}}``, each from its own device) POSTed by the
   integrator through ``/api/monitoring/messages`` at random moments. Latency = the POST leaving this script → the
   case's row inserted into the board's DOM (a MutationObserver stamps it with ``Date.now()``; same clock).
   Measured for each poll interval in ``--intervals`` (the rule ``board_poll_s``; 3 = the interval before issue 4).

Prints p50/p95/max per interval and the ratio. The database is dropped at the end.
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


def bench_polls(world, out, n):
    """Server time of the delta endpoint: nothing changed (old full path / new cheap check), a few changed; breakdown."""
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
    late_at = r.content.decode().split('data-late-at="', 1)[1].split('"', 1)[0] if b"data-late-at" in r.content else None
    out.append(f"- board: {r.content.count(b'<tr id=')} open cases; late_at hint {late_at!r}")
    res = {}
    wall, cpu, r = timed(lambda: c.get("/emergency/board/delta/", {"since": since}), n)
    res["old"] = (wall, cpu)
    out.append(f"- nothing changed, no hint (the pre-issue-4 request; full path): HTTP {r.status_code}, {len(r.content)} B; "
               f"wall {ms(wall)}; CPU {ms(cpu)}")
    if late_at is not None:
        wall, cpu, r = timed(lambda: c.get("/emergency/board/delta/", {"since": since, "late_at": late_at}), n)
        res["new"] = (wall, cpu)
        out.append(f"- nothing changed, with the late_at hint (cheap check): HTTP {r.status_code}, {len(r.content)} B; "
                   f"wall {ms(wall)}; CPU {ms(cpu)}")
    # breakdown of the full path
    sdt = timezone.datetime.fromisoformat(since)
    wall, cpu, data = timed(lambda: views.board_data(user, sdt), n)
    out.append(f"  - board_data(since) (changed rows + closed ids): wall {ms(wall)}; CPU {ms(cpu)}")
    wall, cpu, _ = timed(lambda: views._counts(user, timezone.now()), n)
    out.append(f"  - _counts (state counts + late count): wall {ms(wall)}; CPU {ms(cpu)}")
    counts = views._counts(user, timezone.now())
    ctx = {"rows_html": "", "rows": [], "cursor": since, "closed": [], "counts": counts, "full": False}
    wall, cpu, _ = timed(lambda: render_to_string("emergency/_board_delta.html", ctx), n)
    out.append(f"  - _board_delta.html render (counts include): wall {ms(wall)}; CPU {ms(cpu)}")
    touch_some(world, 5)
    wall, cpu, r = timed(lambda: c.get("/emergency/board/delta/", {"since": since, **({"late_at": late_at} if late_at else {})}), n)
    out.append(f"- 5 cases changed since the cursor: HTTP {r.status_code}, {r.content.count(b'<tr id=')} rows, {len(r.content)} B; "
               f"wall {ms(wall)}; CPU {ms(cpu)}")
    if "new" in res:
        o, nw = statistics.median(res["old"][1]), statistics.median(res["new"][1])
        out.append(f"- nothing-changed poll CPU: {o * 1000:.1f} ms → {nw * 1000:.1f} ms ({o / max(nw, 1e-6):.1f}× less); "
                   f"50 operators polling every 1 s: {50 * o * 100:.0f}% → {50 * nw * 100:.0f}% of one core")
    return res


def devices(world, n):
    """``n`` new district-A elevators, each under A's maintenance contract, each with a bound device ``LAT-<i>``."""
    import datetime as dt

    from liftsafe.core.testing import make_elevator
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
                lat, channels = [], set()
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
                           f"max {max(lat) * 1000:.0f} ms, min {min(lat) * 1000:.0f} ms; row channel {sorted(channels)}")
            browser.close()
    finally:
        server.stop()
    if len(intervals) >= 2:
        a, b = results[intervals[0]], results[intervals[-1]]
        out.append(f"- ratio {intervals[0]} s / {intervals[-1]} s: p50 {statistics.median(a) / statistics.median(b):.1f}×, "
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
        from liftsafe.core.testing import make_world

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
