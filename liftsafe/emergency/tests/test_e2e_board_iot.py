"""End to end in headless Chromium (Playwright), issue 4: an IoT entrapment that a device reports through the
monitoring path (the integrator's ``POST /api/monitoring/messages``, real HTTP to the live server) opens a case that
appears on an operator's open live board, channel IoT, without reloading the page; while nothing changes the board's
polls are answered ``204 No Content`` and its "late" counter still follows the timers. No wall-clock assertions
(timing lives in bench/bench_board_latency.py)."""
import json
import urllib.request

import pytest
from django.utils import timezone, translation

from liftsafe.core.models import ApiToken
from liftsafe.emergency.models import Channel, EmergencyCase
from liftsafe.monitoring import services as monitoring

pytestmark = pytest.mark.e2e


def submit(live_server, token, body):
    """POST one device message through the monitoring HTTP batch endpoint; returns the parsed reply."""
    req = urllib.request.Request(f"{live_server.url}/api/monitoring/messages", method="POST",
                                 data=json.dumps({"messages": [body]}).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_iot_entrapment_appears_on_open_board(browser, live_server, world, settings):
    from django.test import Client

    # an undispatched case turns red 6 s after receipt here, so the test sees the "late" counter move by time alone
    settings.LIFTSAFE_RULES = {"dispatch_delay_warning_s": 6}
    elevator = world.elevators["a1"]  # under the district-A maintenance unit's contract
    monitoring.bind_device(elevator, "E2E-IOT-1")
    _rec, token = ApiToken.issue(world.users["maintenance_unit"], "e2e integrator")

    client = Client()
    client.force_login(world.users["operator"])
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    host = live_server.url.split("//", 1)[1].split(":")[0]
    ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}])
    page = ctx.new_page()
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if "/emergency/board/delta/" in r.url else None)
    page.goto(f"{live_server.url}/emergency/board/")
    page.evaluate("window.__noReload = 'board-1'")
    assert page.locator("#board-rows > tr").count() == 0
    assert page.locator("#board-tab-count").inner_text().strip() == ""
    assert page.get_attribute("#board-poll", "hx-trigger") == "every 1s"  # rule board_poll_s
    page.wait_for_function("() => document.getElementById('board-updated').textContent !== ''", timeout=15000)
    assert 204 in statuses and 200 not in statuses  # nothing changed yet: empty answers only

    reply = submit(live_server, token, {"v": 1, "type": "event", "device": "E2E-IOT-1", "id": "e2e-trap-1",
                                        "ts": timezone.now().isoformat(), "data": {"code": "90"}})
    assert reply["outcomes"] == ["accepted"] and reply["alarms_raised"] == 1
    case = EmergencyCase.objects.get(elevator=elevator)
    assert case.channel == "iot" and case.case_type == "entrapment" and case.state == "received"

    row = page.locator(f"#case-{case.pk}")
    row.wait_for(timeout=15000)
    with translation.override("zh-hans"):
        iot_label = str(Channel.IOT.label)
    assert row.locator("td.ch-iot").inner_text().strip() == iot_label
    assert row.get_attribute("data-st") == "received" and case.order_number in row.inner_text()
    assert 200 in statuses  # the row came with a delta, not a reload
    # the tab badge follows the same delta counts as the count bar (it was empty with no open case)
    page.wait_for_function("() => document.getElementById('board-tab-count').textContent === '1'", timeout=15000)
    assert page.evaluate("window.__noReload") == "board-1"

    # no further change: polls go back to 204, and the late counter turns 1 when the row's timer passes 6 s
    late = page.locator('#board-counts [data-count="late"] b')
    n_before = len(statuses)
    page.wait_for_function("() => document.querySelector('#board-counts [data-count=\"late\"] b').textContent === '1'",
                           timeout=20000)
    assert "late" in (row.get_attribute("class") or "") and late.inner_text() == "1"
    page.wait_for_timeout(2500)  # past the 2 s overlap in which the new row is re-sent
    assert statuses[n_before:] and set(statuses[-2:]) == {204}  # the counter moved without the server
    assert page.evaluate("window.__noReload") == "board-1"
    ctx.close()
