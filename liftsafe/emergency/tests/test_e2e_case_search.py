"""End to end in headless Chromium (Playwright): a regulator finds past cases on the case search page (by order
number, by state, page 2) without reloading; an operator types a case number into the console and gets the case,
not an elevator; the registry's elevator page loads the elevator's 96333 case history with its false-alarm count
and filters it to false alarms. Screenshots: case-search.png, elevator-cases.png (see ``screenshot_dir``)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.testing import screenshot_dir
from liftsafe.emergency import services

from .test_e2e_emergency import session_context

pytestmark = pytest.mark.e2e


def populate(world):
    """a1: 30 closed cases over 30 days (every third a false alarm, the rest completed); b1: one case."""
    admin = world.users["admin"]
    t = timezone.now().replace(microsecond=0) - dt.timedelta(days=40)
    cases = []
    for i in range(30):
        at = t + dt.timedelta(days=i)
        c = services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=at).case
        if i % 3 == 0:
            services.record_milestone(admin, c, "false_alarm", at + dt.timedelta(minutes=2))
        else:
            services.dispatch_case(admin, c, 1, at=at + dt.timedelta(minutes=1))
            services.record_milestone(admin, c, "completed", at + dt.timedelta(minutes=9))
        c.refresh_from_db()
        cases.append(c)
    other = services.intake_alarm(world.elevators["b1"], channel="iot", case_type="entrapment", received_at=t).case
    return cases, other


def test_case_search_console_and_elevator_history(browser, live_server, world):
    cases, other = populate(world)
    base = live_server.url
    shots = screenshot_dir()
    reg = session_context(browser, live_server, world.users["regulator"], viewport={"width": 1280, "height": 900})
    page = reg.new_page()
    page.goto(f"{base}/emergency/cases/")
    page.evaluate("window.__noReload = 'search-page-1'")
    assert page.locator("#case-count").inner_text().startswith("30")
    assert page.locator("table.em-case-list tbody tr").count() == 25

    # an order number: one row, updated in place (htmx), never the other district's case
    target = cases[7]
    page.fill("#id_q", target.order_number)
    page.locator(f"#case-{target.pk}").wait_for()
    page.wait_for_function("() => document.querySelectorAll('table.em-case-list tbody tr').length === 1")
    assert page.evaluate("window.__noReload") == "search-page-1"
    page.fill("#id_q", other.order_number)
    page.locator("td.empty").wait_for()
    assert other.order_number not in page.locator("#case-results").inner_text()

    # by state: the 10 false alarms
    page.fill("#id_q", "")
    page.select_option("#id_state", "false_alarm")
    page.wait_for_function("() => document.querySelector('#case-count').innerText.trim().startsWith('10')")
    rows = page.locator("table.em-case-list tbody tr")
    assert rows.count() == 10 and all(c.order_number in page.locator("#case-results").inner_text()
                                      for c in cases if c.state == "false_alarm")
    page.screenshot(path=str(shots / "case-search.png"), full_page=True)

    # page 2 of every case, URL pushed (shareable), still no reload
    page.select_option("#id_state", "")
    page.wait_for_function("() => document.querySelector('#case-count').innerText.trim().startsWith('30')")
    page.locator("a[rel=next]").click()
    page.wait_for_function("() => document.querySelectorAll('table.em-case-list tbody tr').length === 5")
    assert "page=2" in page.url and page.evaluate("window.__noReload") == "search-page-1"
    assert cases[0].order_number in page.locator("#case-results").inner_text()  # the oldest five

    # the operator's console: a case number finds the case, not an elevator
    op = session_context(browser, live_server, world.users["operator"], viewport={"width": 1280, "height": 900})
    console = op.new_page()
    console.goto(f"{base}/emergency/")
    console.fill("#q", target.order_number)
    console.locator("#case-hits a.mono").wait_for()
    assert console.locator("#case-hits a.mono").inner_text() == target.order_number
    assert console.locator("a.em-select").count() == 0

    # the elevator page: the 96333 case history panel, loaded from the emergency app, counts false alarms
    el = reg.new_page()
    el.goto(f"{base}/registry/elevators/{world.elevators['a1'].pk}/")
    count = el.locator("#elevator-case-count")
    count.wait_for()
    assert "30" in count.inner_text() and "10" in count.inner_text()
    assert "em-false-alarms" in (count.get_attribute("class") or "")
    assert el.locator("#elevator-cases tbody tr").count() == 20
    el.locator("#elevator-cases nav.em-filter a").nth(1).click()  # false alarms only
    el.wait_for_function("() => document.querySelectorAll('#elevator-cases tbody tr').length === 10")
    text = el.locator("#elevator-cases tbody").inner_text()
    assert all((c.order_number in text) == (c.state == "false_alarm") for c in cases)
    el.screenshot(path=str(shots / "elevator-cases.png"), full_page=True)
    reg.close()
    op.close()
