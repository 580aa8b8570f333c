"""End to end in headless Chromium: a regulator opens a lift's complete file from the elevator page, issues a
numbered stop-use notice from the file, opens its PDF; the use unit finds it unread and reads it (recorded).
Screenshots: efile-file.png, notice-detail.png, notice-use-unit.png."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.maintenance.models import Visit
from liftsafe.notices.models import Delivery, Document
from liftsafe.testing import screenshot_dir

pytestmark = pytest.mark.e2e


def test_regulator_issues_a_stop_use_notice_from_the_file_and_the_use_unit_reads_it(browser, live_server, world):
    base = live_server.url
    e = world.elevators["a1"]
    Visit.objects.create(elevator=e, maintenance_unit=world.orgs[("maintenance_unit", "a")], tier="half_monthly",
                         planned_date=timezone.localdate() - dt.timedelta(days=3), latitude=32.04, longitude=118.79, accuracy_m=6)
    reg = session_context(browser, live_server, world.users["regulator"], viewport={"width": 1440, "height": 900}).new_page()
    reg.goto(f"{base}/registry/elevators/{e.pk}/")
    reg.locator("#elevator-file-link").click()
    reg.wait_for_url(f"**/file/{e.pk}/")
    for key in ("identity", "organisations", "cases", "iot", "maintenance", "inspection", "hazards", "documents", "lifecycle"):
        assert reg.locator(f"section#{key}").count() == 1, key
        assert reg.locator(f"#toc a[href='#{key}']").count() == 1, key
    assert reg.locator("#maintenance-visits tbody tr .visit-location").count() == 1
    reg.screenshot(path=str(screenshot_dir() / "efile-file.png"), full_page=True)

    reg.locator("#issue-document").click()
    reg.wait_for_url("**/notices/new/**")
    reg.select_option("#issue-form select[name=kind]", "stop_use")
    reg.fill("#issue-form textarea[name=facts]", "曳引机制动器制动力不足，存在溜梯风险")
    reg.fill("#issue-form textarea[name=requirements]", "立即停止使用，更换制动器后报检")
    reg.locator("#issue-form button[type=submit]").click()
    reg.locator("#doc-number").wait_for()
    doc = Document.objects.get()
    year = timezone.localdate().year
    assert doc.number == f"320102特停用〔{year}〕1号" and reg.locator("#doc-number").inner_text() == doc.number
    reg.screenshot(path=str(screenshot_dir() / "notice-detail.png"), full_page=True)
    pdf_url = reg.locator("#doc-pdf").get_attribute("href")
    resp = reg.request.get(base + pdf_url)
    assert resp.ok and resp.headers["content-type"] == "application/pdf" and resp.body().startswith(b"%PDF")
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(resp.body())
    assert doc.number in pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert Delivery.objects.get(document=doc).read_at is None  # the issuer's opening is no reading

    reg.goto(f"{base}/file/{e.pk}/")
    assert reg.locator(f"section#documents a:has-text('{doc.number}')").count() == 1

    uu = session_context(browser, live_server, world.users["use_unit"], viewport={"width": 1280, "height": 800}).new_page()
    uu.goto(f"{base}/notices/?unread=1")
    uu.locator(f"#documents a:has-text('{doc.number}')").click()
    uu.locator("#delivery").wait_for()
    d = Delivery.objects.get(document=doc)
    assert d.read_at is not None and d.read_by == world.users["use_unit"]
    uu.screenshot(path=str(screenshot_dir() / "notice-use-unit.png"), full_page=True)
    uu.goto(f"{base}/notices/?unread=1")
    assert uu.locator(f"#documents a:has-text('{doc.number}')").count() == 0
