"""End to end in headless Chromium at 1920×1080: the wall screen renders its map, KPIs and lists without
scrolling; a new IoT entrapment appears with an alert; mute is remembered; a network blip keeps the last data and
says how old it is; memory stays flat over many refreshes (CDP heap after GC); the regulator's map filtered.
Screenshots: command-wall.png, command-wall-alert.png, command-wall-4k.png, command-map-filtered.png."""
from __future__ import annotations

import pytest
from django.db import transaction

from liftsafe.emergency.models import EmergencyCase
from liftsafe.emergency.tests.test_e2e_emergency import populate, session_context
from liftsafe.monitoring import services as mon
from liftsafe.registry.models import Elevator
from liftsafe.testing import screenshot_dir

pytestmark = pytest.mark.e2e
HD = {"width": 1920, "height": 1080}


def _wait_polls(page, n: int, timeout: float = 30_000):
    page.wait_for_function(f"() => parseInt(document.getElementById('wall').dataset.polls || '0', 10) >= {n}", timeout=timeout)


def _heap(cdp) -> int:
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"])


def test_wall_screen_live(browser, live_server, world, settings):
    settings.LIFTSAFE_RULES = {"command_wall_poll_s": 0.5}
    populate(world)
    open_cases = EmergencyCase.objects.filter(elevator__area=world.district_a).exclude(
        state__in=["completed", "false_alarm", "cancelled"]).count()
    base = live_server.url
    ctx = session_context(browser, live_server, world.users["operator"], viewport=HD)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/command/wall/")
    _wait_polls(page, 1)
    page.wait_for_function(f"() => document.getElementById('wall').dataset.markers === '{open_cases}'")
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1"), "wall screen scrolls"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("#kpi-day [data-k=response_kpi_rate] dd").count() == 1
    assert page.locator("#kpi-month [data-k=entrapments] dd").inner_text().strip() != ""
    assert int(page.locator("#wall-counts [data-k=open_total] b").inner_text()) == open_cases
    assert page.locator("#wall-map .case-pin.late").count() >= 1  # late ones pulse
    assert page.locator("#wall-map .station-pin").count() == 1
    page.screenshot(path=str(screenshot_dir() / "command-wall.png"))

    # a new IoT entrapment: an alert (visual + sound unless muted), the new case on the map
    e = Elevator.objects.get(pk=world.elevators["a2"].pk)
    with transaction.atomic():
        alarm, created = mon.raise_alarm(e, "entrapment", code="E2E", detail="trapped")
    assert created and alarm.case_id
    page.wait_for_function("() => document.getElementById('wall').dataset.alerts === '1'")
    assert page.locator("#wall-alert").is_visible()
    new_no = EmergencyCase.objects.get(pk=alarm.case_id).order_number
    assert new_no in page.locator("#wall-alert").inner_text()
    assert page.evaluate("() => document.getElementById('wall').dataset.lastAlert") == str(alarm.case_id)
    assert page.evaluate("() => document.getElementById('wall').dataset.beeped") == "1"
    page.screenshot(path=str(screenshot_dir() / "command-wall-alert.png"))

    # mute, remembered across a reload; no second alert for the same case
    page.click("#wall-mute")
    assert page.evaluate("() => localStorage.getItem('liftsafe.wall.muted')") == "1"
    page.reload()
    _wait_polls(page, 2)
    assert page.locator("#wall-mute").get_attribute("aria-pressed") == "true"
    assert page.evaluate("() => document.getElementById('wall').dataset.alerts || '0'") == "0"

    # a network blip: the last data stays, the age line says so
    markers = page.evaluate("() => document.getElementById('wall').dataset.markers")
    page.route("**/api/command/wall", lambda route: route.abort())
    page.wait_for_function("() => document.getElementById('wall').dataset.stale === '1'", timeout=20_000)
    assert page.evaluate("() => document.getElementById('wall').dataset.markers") == markers
    assert page.locator("#wall-map .case-pin").count() == int(markers)
    assert page.locator("#wall-age").inner_text().strip() != ""
    page.unroute("**/api/command/wall")
    page.wait_for_function("() => document.getElementById('wall').dataset.stale === '0'", timeout=20_000)

    # memory stays flat over many refreshes (every poll re-renders every case, KPI and list)
    cdp = ctx.new_cdp_session(page)
    polls = int(page.evaluate("() => document.getElementById('wall').dataset.polls"))
    _wait_polls(page, polls + 10)
    before = _heap(cdp)
    _wait_polls(page, polls + 70, timeout=120_000)
    after = _heap(cdp)
    nodes = page.evaluate("() => document.getElementsByTagName('*').length")
    _wait_polls(page, polls + 80, timeout=60_000)
    assert page.evaluate("() => document.getElementsByTagName('*').length") == nodes, "DOM grows"
    assert after - before < 512 * 1024, f"heap grew {after - before} bytes over 60 refreshes ({before} → {after})"
    assert not [x for x in errors if "command" in x or "Uncaught" in x], errors

    # 3840×2160: still one screen
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")
    page.screenshot(path=str(screenshot_dir() / "command-wall-4k.png"))
    ctx.close()


def test_regulator_map_filtered(browser, live_server, world):
    populate(world)
    Elevator.objects.filter(area=world.district_a, source_id__startswith="NJ102").filter(pk__in=list(
        Elevator.objects.filter(area=world.district_a, source_id__startswith="NJ102").values_list("pk", flat=True)[:3])
    ).update(crowded_place=True)
    ctx = session_context(browser, live_server, world.users["regulator"], viewport=HD)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/command/map/")
    page.wait_for_function("() => document.getElementById('lift-map').dataset.loaded")
    total_all = int(page.evaluate("() => document.getElementById('lift-map').dataset.total"))
    assert total_all == Elevator.objects.filter(area=world.district_a).count()
    page.check("input[name=crowded]")
    page.wait_for_function("() => document.getElementById('lift-map').dataset.total === '3'")
    assert "crowded=1" in page.url
    assert page.locator("#lift-map .cmd-cluster, #lift-map .cmd-pt").count() >= 1
    page.screenshot(path=str(screenshot_dir() / "command-map-filtered.png"))
    page.select_option("select[name=colour]", "red")
    page.wait_for_function("() => document.getElementById('lift-map').dataset.total === '0'")
    assert not errors, errors
    ctx.close()
