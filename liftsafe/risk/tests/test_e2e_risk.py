"""End to end in headless Chromium: a regulator sees the lifts by colour with counts by area, opens a red lift's
reasons (factors with evidence links and the colour history). Screenshots: risk-list.png, risk-why.png."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.hazards.models import Hazard
from liftsafe.inspection.models import Validity
from liftsafe.risk.compute import recompute
from liftsafe.testing import screenshot_dir

from .conftest import make_case

pytestmark = pytest.mark.e2e


def test_regulator_sees_colours_and_opens_a_lifts_reasons(browser, live_server, rw):
    a2 = rw.elevators["a2"]
    Validity.objects.create(elevator=a2, policy="x", state="failed")
    a2.place_type = 6
    a2.save()
    cases = [make_case(a2, at=timezone.now() - dt.timedelta(days=2)) for _ in range(2)]
    Hazard.objects.create(elevator=a2, area=a2.area, source="spot_check", title="门锁", state="open",
                          deadline=timezone.localdate() - dt.timedelta(days=1))
    recompute(trigger="nightly")
    ctx = session_context(browser, live_server, rw.users["regulator"], viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{live_server.url}/risk/")
    assert page.locator("#risk-list .risk-chip.red").count() == 1
    assert page.locator("#risk-counts tbody tr").count() == 1
    page.screenshot(path=str(screenshot_dir() / "risk-list.png"), full_page=True)
    page.locator(f"#risk-list a[href='/risk/elevators/{a2.pk}/']").click()
    page.wait_for_url(f"**/risk/elevators/{a2.pk}/")
    assert page.locator("#risk-summary .risk-chip.red").is_visible()
    assert page.locator("#risk-factors tbody tr").count() == 12
    links = page.locator("#risk-factors tr[data-factor=entrapments] a")
    assert links.count() == 2 and {links.nth(i).get_attribute("href") for i in range(2)} == {f"/emergency/cases/{c.pk}/" for c in cases}
    assert page.locator("#risk-history tbody tr").count() == 1
    page.screenshot(path=str(screenshot_dir() / "risk-why.png"), full_page=True)
    page.locator("#risk-factors tr[data-factor=hazards_overdue] a").first.click()
    page.wait_for_url("**/hazards/*/")
