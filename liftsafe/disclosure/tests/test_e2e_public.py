"""End to end in a phone-sized headless Chromium: open the label's URL, see the lift's page, report a problem with a
photo, the maintenance unit answers and closes, the reporter reopens; the regulator turns another report into a
hazard lead. axe-core (axe-playwright-python) checks every public page with the rules tagged wcag2a, wcag2aa,
wcag21a, wcag21aa (colour contrast, labels, names of links and buttons, document language, landmarks …).
Screenshots: disclosure-qr-page.png, disclosure-report.png, disclosure-ticket.png, disclosure-unit-report.png,
disclosure-regulator-report.png."""
from __future__ import annotations

import pytest

from liftsafe.disclosure import labels, services
from liftsafe.disclosure.models import PublicReport
from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.testing import screenshot_dir

from .conftest import jpeg_with_gps

pytestmark = pytest.mark.e2e

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_clean(page, what: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = results.response["violations"]
    assert not violations, f"{what}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in violations)


def test_passenger_reports_unit_answers_reporter_reopens(browser, live_server, dw, tmp_path):
    base = live_server.url
    shots = screenshot_dir()
    photo = tmp_path / "door.jpg"
    photo.write_bytes(jpeg_with_gps((640, 480)))
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    page = ctx.new_page()
    url = labels.label_url(base, dw.code["a1"]).replace(base.upper(), base)  # the printed URL, on the test server
    resp = page.goto(url)
    assert resp.status == 200 and len(resp.body()) < 50 * 1024
    call = page.locator("a[href='tel:96333']").first
    assert call.is_visible() and "96333" in call.inner_text()
    assert dw.elevators["a1"].rescue_code in page.inner_text("main")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "page wider than the phone"
    axe_clean(page, "lift page")
    page.screenshot(path=str(shots / "disclosure-qr-page.png"), full_page=True)

    page.locator("a[href*='category=fault']").click()
    page.wait_for_url("**/report/**")
    axe_clean(page, "report form")
    page.fill("#text", "轿门关不上 <script>alert(1)</script>")
    page.fill("#phone", "13900001111")
    page.set_input_files("#photo", str(photo))
    page.screenshot(path=str(shots / "disclosure-report.png"), full_page=True)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/public/ticket/**")
    report = PublicReport.objects.get()
    assert report.photo and report.ticket in page.inner_text("main")
    assert "13900001111" not in page.content()
    axe_clean(page, "ticket page")

    unit = session_context(browser, live_server, dw.users["maintenance_unit"], **PHONE).new_page()
    unit.goto(f"{base}/disclosure/reports/{report.pk}/")
    assert "13900001111" in unit.inner_text("main")  # the responsible unit sees the callback number
    unit.screenshot(path=str(shots / "disclosure-unit-report.png"), full_page=True)
    unit.fill("#note-close", "已更换门机皮带")
    unit.locator(f"form[action$='/action/close/'] button[type=submit]").click()
    unit.wait_for_load_state()
    report.refresh_from_db()
    assert report.state == "closed"

    page.reload()
    assert "已更换门机皮带" in page.inner_text("main")
    page.fill("#comment", "还是关不上")
    page.locator("form[action$='/reopen/'] button[type=submit]").click()
    page.wait_for_load_state()
    report.refresh_from_db()
    assert report.state == "reopened" and report.reopen_comment == "还是关不上"
    page.screenshot(path=str(shots / "disclosure-ticket.png"), full_page=True)

    other = services.report_file(elevator=dw.elevators["a2"], category="safety", text="层门有裂缝", ip="7.7.7.7")
    reg = session_context(browser, live_server, dw.users["regulator"], viewport={"width": 1280, "height": 900}).new_page()
    reg.goto(f"{base}/disclosure/reports/{other.pk}/")
    reg.screenshot(path=str(shots / "disclosure-regulator-report.png"), full_page=True)
    reg.locator("form[action$='/action/to_hazard/'] button[type=submit]").click()
    reg.wait_for_load_state()
    other.refresh_from_db()
    assert other.state == "forwarded" and other.hazard_id


def test_unknown_code_page_and_portal_pass_axe(browser, live_server, dw):
    ctx = browser.new_context(locale="zh-CN", **PHONE)
    page = ctx.new_page()
    resp = page.goto(f"{live_server.url}/q/ZZZZZZZZZ")
    assert resp.status == 404 and page.locator("a[href='tel:96333']").first.is_visible()
    axe_clean(page, "not-found page")
    page.goto(f"{live_server.url}/public/?q={dw.elevators['a1'].rescue_code}")
    assert page.locator(f"a[href='/q/{dw.code['a1']}']").count() == 1
    axe_clean(page, "portal")
    page.locator("form.lang button[value=en]").click()
    page.wait_for_load_state()
    assert "Call 96333" in page.inner_text("body")
    axe_clean(page, "portal in English")
