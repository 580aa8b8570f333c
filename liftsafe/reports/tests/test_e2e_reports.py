"""End to end in headless Chromium (Playwright): a regulator opens the statistics dashboard (and switches the
period through htmx), generates the monthly report for May 2023, reads it, publishes it and downloads the
PDF; the PDF's first page is rendered to PNG with pdfium. Saves docs/img/reports-dashboard.png,
docs/img/reports-detail.png and docs/img/reports-pdf-page1.png with LIFTSAFE_DOCS_SCREENSHOTS=1, else a temporary folder (look at them after a layout change)."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from liftsafe.conftest import require_module

from liftsafe.testing import PASSWORD, make_elevator, screenshot_dir
from liftsafe.emergency.causes import CAUSES
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import MaintenanceContract, Organisation
from liftsafe.reports.models import Report

pytestmark = pytest.mark.e2e

DOCS_IMG = screenshot_dir()  # docs/img only with LIFTSAFE_DOCS_SCREENSHOTS=1
SH = ZoneInfo("Asia/Shanghai")


def populate(world) -> int:
    """District A (玄武区): 24 more elevators of three use units and two maintenance companies, and a seeded year
    of 96333 cases (May 2022 – May 2023) with times and causes. Returns May 2023's entrapments in A."""
    rng = random.Random(20230531)
    A = world.district_a
    units = [Organisation.objects.create(kind="use_unit", name=name, area=A)
             for name in ("南京玄武物业管理有限公司", "紫金山庄物业服务中心", "玄武湖商业广场管理有限公司")]
    mus = [world.orgs[("maintenance_unit", "a")], Organisation.objects.create(kind="maintenance_unit", name="江苏通达电梯工程有限公司", area=A)]
    world.orgs[("maintenance_unit", "a")].name = "南京安顺电梯维修有限公司"
    world.orgs[("maintenance_unit", "a")].save()
    elevators = [world.elevators["a1"], world.elevators["a2"]]
    for i in range(24):
        e = make_elevator(f"XW{i:03d}", A, use_unit=units[i % 3], category="3300" if i % 8 == 0 else "3110",
                          place_type=[11, 11, 12, 6, 3][i % 5], installation_date=dt.date(2004 + i % 18, 3, 1),
                          manufacturer_name_raw=["OTIS", "KONE", "SCHINDLER", "HITACHI"][i % 4])
        MaintenanceContract.objects.create(elevator=e, maintenance_unit=mus[i % 2], start_date=dt.date(2019, 1, 1))
        elevators.append(e)
    causes = [(c, item) for c, (label, items) in CAUSES.items() for item in items if item != "other"]
    n, may_entrapments = 0, 0
    for month_start in [dt.date(2022, 5 + k, 1) if k < 8 else dt.date(2023, k - 7, 1) for k in range(13)]:
        for _i in range(rng.randint(9, 16) + (6 if month_start.month in (7, 8) else 0)):
            n += 1
            day = rng.randint(1, 28)
            hour = rng.choice([7, 8, 8, 9, 12, 13, 17, 18, 18, 19, 21, 23, 2])
            received = dt.datetime(month_start.year, month_start.month, day, hour, rng.randint(0, 59), tzinfo=SH)
            kind = ("entrapment", "entrapment", "fault_report", "entrapment", "enquiry", "fault_report", "entrapment")[n % 7]
            state = "false_alarm" if rng.random() < 0.08 else "completed"
            d = received + dt.timedelta(seconds=rng.randint(30, 120))
            r = d + dt.timedelta(seconds=rng.randint(40, 320))
            a = d + dt.timedelta(seconds=rng.randint(600, 2600))
            rel = a + dt.timedelta(seconds=rng.randint(200, 1500))
            cause = rng.choice(causes) if state == "completed" else ("", "")
            elevator = rng.choice(elevators)
            EmergencyCase.objects.create(
                elevator=elevator, area_id=elevator.area_id, order_number=f"E2E{n:06d}", channel=rng.choices(
                    ["phone_96333", "car_alarm", "iot", "qr_report"], [6, 2, 2, 1])[0], case_type=kind, state=state,
                received_at=received, level=1, dispatched_at=d, level_dispatched_at=d, responded_at=r, arrived_at=a,
                released_at=rel if kind == "entrapment" else None, closed_at=rel, cause_class=cause[0], cause_item=cause[1],
                released_count=rng.randint(1, 3) if kind == "entrapment" and state == "completed" else None)
            if month_start == dt.date(2023, 5, 1) and kind == "entrapment" and state == "completed":
                may_entrapments += 1
    return may_entrapments


def login(browser, live_server, username):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def test_regulator_dashboard_generate_read_publish_download(world, live_server, browser, tmp_path):
    pdfium = require_module("pypdfium2", "pypdfium2 is not installed (pip install -e .[dev])")
    may = populate(world)
    assert may > 3
    base = live_server.url
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    ctx, page = login(browser, live_server, "regulator")

    # the nav entry leads to the dashboard; May 2023 of the regulator's district
    page.click("header nav a[href='/reports/']")
    page.wait_for_load_state()
    assert page.locator("#dash-form select[name=area] option").first.get_attribute("value") == "320102"
    page.fill("#dash-form input[name=period]", "2023-05")
    page.press("#dash-form input[name=period]", "Enter")
    page.wait_for_selector("#dash-body .rp-head h2:has-text('2023年5月')")
    assert "period=2023-05" in page.url  # hx-push-url
    kpi = page.locator("#dash-body .kpi[data-key=entrapments] .k-value")
    assert kpi.inner_text().strip() == str(may)
    assert page.locator("#dash-body figure.chart svg").count() >= 5
    page.screenshot(path=str(DOCS_IMG / "reports-dashboard.png"), full_page=True)

    # htmx: switching the period swaps only the numbers and charts (the form element stays the same)
    page.evaluate("document.getElementById('dash-form').dataset.marker = 'kept'")
    page.fill("#dash-form input[name=period]", "2023-04")
    page.press("#dash-form input[name=period]", "Enter")
    page.wait_for_selector("#dash-body .rp-head h2:has-text('2023年4月')")
    assert page.evaluate("document.getElementById('dash-form').dataset.marker") == "kept"
    # a future period: the error names the field, no numbers
    page.fill("#dash-form input[name=period]", "2999-01")
    page.press("#dash-form input[name=period]", "Enter")
    page.wait_for_selector("#dash-errors")
    assert "2999-01" in page.inner_text("#dash-errors") and page.locator("#dash-body .kpi").count() == 0

    # generate the monthly report from the list page: first a mistake (future period), shown on the field
    page.goto(f"{base}/reports/list/")
    page.select_option("#generate-form select[name=area]", "320102")
    page.fill("#generate-form input[name=period]", "2999-05")
    page.click("#generate-form button[type=submit]")
    page.wait_for_selector("#generate-form ul.errorlist[data-field=period]")
    page.fill("#generate-form input[name=period]", "2023-05")
    page.click("#generate-form button[type=submit]")
    page.wait_for_url("**/reports/*/")
    report = Report.objects.get()
    assert report.status == "draft" and report.period_label == "2023-05" and report.area.code == "320102"
    assert "草稿" in page.inner_text("#report-status")
    assert page.locator(".rpt .kpi[data-key=entrapments] .k-value").inner_text().strip() == str(may)
    assert page.locator(".rpt figure.chart svg").count() >= 5 and "附录：指标口径" in page.content()

    # publish (confirm dialog accepted)
    page.once("dialog", lambda d: d.accept())
    page.click("#publish-form button")
    page.wait_for_selector("#report-status:has-text('已发布')")
    report.refresh_from_db()
    assert report.status == "published" and report.published_by == world.users["regulator"]
    assert page.locator("#publish-form").count() == 0
    page.screenshot(path=str(DOCS_IMG / "reports-detail.png"), full_page=False)

    # download the PDF, check it and render its first page
    with page.expect_download() as dl:
        page.click("#download-pdf")
    pdf_path = tmp_path / "report.pdf"
    dl.value.save_as(str(pdf_path))
    assert dl.value.suggested_filename == "report-320102-2023-05-zh-hans.pdf"
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        assert len(doc) >= 8
        first = doc[0].get_textpage().get_text_range()
        assert "玄武区" in first and "电梯故障分析报告" in first and "2023年5月" in first and "已发布" in first
        overview = doc[1].get_textpage().get_text_range()
        assert "困人" in overview and "故障率" in overview
        doc[0].render(scale=150 / 72).to_pil().save(DOCS_IMG / "reports-pdf-page1.png")
        doc[1].render(scale=150 / 72).to_pil().save(tmp_path / "reports-pdf-page2.png")
    finally:
        doc.close()
    ctx.close()
