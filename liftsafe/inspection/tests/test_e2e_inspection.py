"""End to end in headless Chromium (Playwright): an agency records a failing inspection with findings, the use unit
rectifies (and confirms the minor one), the re-inspection passes; the lift's validity on its registry page follows
each step. Screenshots in docs/img only with LIFTSAFE_DOCS_SCREENSHOTS=1 (else a temporary folder)."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from liftsafe.testing import PASSWORD, screenshot_dir
from liftsafe.inspection.models import Finding, FindingState, Validity, ValidityState
from liftsafe.registry.models import Elevator

pytestmark = pytest.mark.e2e

IMG = screenshot_dir()


def login(browser, live_server, username):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def label(state: str) -> str:
    with translation.override("zh-hans"):
        return str(ValidityState(state).label)


def validity_shown(page, live_server, pk) -> str:
    page.goto(live_server.url + reverse("registry:elevator_detail", args=[pk]))
    page.wait_for_selector("#validity-state")  # the htmx panel served by the inspection app
    return page.inner_text("#validity-state").strip()


def record(page, live_server, pk, kind, conclusion, findings=()):
    page.goto(f"{live_server.url}/inspection/new/?elevator={pk}")
    page.select_option("#id_kind", kind)
    page.fill("#id_inspected_on", timezone.localdate().isoformat())
    page.select_option("#id_conclusion", conclusion)
    for i, (clause, text, cls, days) in enumerate(findings):
        page.fill(f"#id_f{i}-clause", clause)
        page.fill(f"#id_f{i}-text", text)
        page.select_option(f"#id_f{i}-finding_class", cls)
        page.fill(f"#id_f{i}-deadline_days", str(days))
        page.select_option(f"#id_f{i}-deadline_basis", "working")
    page.click("#record-form button[type=submit]")
    page.wait_for_url(f"**/elevators/{pk}/")


def test_fail_rectify_reinspect_in_browser(world, live_server, browser):
    today = timezone.localdate()
    a1 = world.elevators["a1"]
    Elevator.objects.filter(pk=a1.pk).update(installation_date=today - dt.timedelta(days=800),
                                             supervision_pass_date=today - dt.timedelta(days=790))
    ctx, page = login(browser, live_server, "inspection_agency")
    record(page, live_server, a1.pk, "periodic", "fail",
           [("2.8", "制动器磨损超限", "major", 15), ("3.1", "轿厢照明不足", "minor", 10)])
    assert validity_shown(page, live_server, a1.pk) == label("failed")
    assert Validity.objects.get(elevator=a1).state == ValidityState.FAILED
    page.screenshot(path=str(IMG / "inspection-failed.png"), full_page=True)
    ctx.close()

    ctx, page = login(browser, live_server, "use_unit")
    page.goto(f"{live_server.url}/inspection/")
    for f in Finding.objects.order_by("pk"):
        row = f"#finding-{f.pk}"
        page.fill(f"{row} input[name=evidence_note]", f"已整改 {f.clause}")
        page.click(f"{row} form[action$='/rectify/'] button")
        page.wait_for_load_state()
    minor = Finding.objects.get(clause="3.1")
    assert minor.state == FindingState.RECTIFIED
    page.click(f"#finding-{minor.pk} form[action$='/confirm/'] button")
    page.wait_for_load_state()
    assert Finding.objects.get(pk=minor.pk).state == FindingState.CLOSED
    assert Finding.objects.get(clause="2.8").state == FindingState.RECTIFIED  # closes only with the re-inspection
    assert validity_shown(page, live_server, a1.pk) == label("failed")
    ctx.close()

    ctx, page = login(browser, live_server, "inspection_agency")
    record(page, live_server, a1.pk, "reinspection", "pass_on_reinspection")
    v = Validity.objects.get(elevator=a1)
    assert v.state in (ValidityState.VALID, ValidityState.DUE_SOON) and v.last_conclusion == "pass_on_reinspection"
    assert validity_shown(page, live_server, a1.pk) == label(v.state)
    assert Finding.objects.get(clause="2.8").state == FindingState.CLOSED
    page.screenshot(path=str(IMG / "inspection-passed.png"), full_page=True)
    ctx.close()
