"""End to end in headless Chromium on a phone-sized page: a worker finds today's visit by the lift's rescue
code, checks in (the phone's location is taken), walks the checklist, checks out; the use unit countersigns
from its own account; the record is frozen and its chain verifies. Screenshot: maintenance-worker.png."""
from __future__ import annotations

import pytest

from liftsafe.testing import screenshot_dir
from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.maintenance import services
from liftsafe.maintenance.models import Visit

pytestmark = pytest.mark.e2e

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)


def test_worker_completes_a_visit_on_a_phone(browser, live_server, mw):
    base = live_server.url
    ctx = session_context(browser, live_server, mw.users["maintenance_unit"], geolocation={"latitude": 32.0401, "longitude": 118.7901},
                          permissions=["geolocation"], **PHONE)
    page = ctx.new_page()
    page.goto(f"{base}/maintenance/today/")
    page.fill("input[name=code]", "100001")
    page.locator("form[action$='/maintenance/today/'] button[type=submit]").click()
    page.wait_for_url(f"**/maintenance/visits/{mw.visit.pk}/**")
    page.select_option("#checkin select[name=worker2]", str(mw.users["worker2"].pk))
    page.wait_for_function("() => document.querySelector('#checkin input[name=latitude]').value !== ''")
    page.locator("#checkin button[type=submit]").click()
    page.locator("#item-A-1-29").wait_for()
    v = Visit.objects.get(pk=mw.visit.pk)
    assert v.state == "checked_in" and abs(v.latitude - 32.0401) < 1e-6 and "far_from_lift" not in v.flags
    for code in ("A-1-01", "A-1-12", "A-1-20", "A-1-29", "A-1-31"):
        page.check(f"input[name='r_{code}'][value=normal]")
    page.fill("input[name='value_A-1-29']", "8")
    page.check("input[name='r_A-1-03'][value=abnormal]")
    page.fill("input[name='note_A-1-03']", "轴承异响")
    page.fill("input[name='action_A-1-03']", "已加注润滑脂")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page wider than the phone"
    page.screenshot(path=str(screenshot_dir() / "maintenance-worker.png"), full_page=False)
    page.locator("form[action$='/do/items/'] button[type=submit]").click()
    page.wait_for_load_state()
    v.refresh_from_db()
    assert v.results["A-1-29"]["value"] == 8 and v.abnormal_count == 1 and len(v.results) == 6
    page.locator("form[action$='/do/check_out/'] button[type=submit]").click()
    page.wait_for_load_state()
    v.refresh_from_db()
    assert v.state == "checked_out" and v.checked_out_at is not None

    signer = session_context(browser, live_server, mw.users["use_unit"], **PHONE).new_page()
    signer.goto(f"{base}/maintenance/countersign/")
    signer.locator(f"a[href='/maintenance/visits/{v.pk}/']").click()
    signer.locator("form[action$='/do/countersign/'] button[type=submit]").click()
    signer.wait_for_url("**/maintenance/countersign/")
    v.refresh_from_db()
    assert v.frozen and v.countersigned_by == mw.users["use_unit"]
    assert services.verify_chain(v.elevator).ok
