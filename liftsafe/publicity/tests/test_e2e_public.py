"""End to end in headless Chromium: a regulator writes an article on the staff pages, previews and publishes it;
a phone without JavaScript reads the public safety pages and the published report with its top-10 lists.
Every public page passes axe-core (:data:`AXE_OPTIONS`: the WCAG 2.0/2.1 A and AA rules, colour contrast
included). Screenshots: publicity-*.png."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.publicity import services
from liftsafe.testing import screenshot_dir

pytestmark = pytest.mark.e2e

PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
#: the axe-core rules run on every public page: every rule tagged WCAG 2.0 / 2.1 level A or AA
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    res = Axe().run(page, options=AXE_OPTIONS)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes: {v['nodes'][0]['target']})" for v in res.response["violations"]]


def _published_report(world):
    from liftsafe.reports.models import Report
    from liftsafe.reports.tests.sample_report import sample_data

    return Report.objects.create(area=world.district_a, period_kind="month", period_start=dt.date(2023, 5, 1),
                                 period_end=dt.date(2023, 6, 1), period_label="2023-05", status="published",
                                 data=sample_data(long_rows=12), generated_at=timezone.now(), published_at=timezone.now())


def test_regulator_publishes_and_the_public_reads(browser, live_server, world):
    base = live_server.url
    shots = screenshot_dir()
    reg = world.users["regulator"]
    camp = services.article_create(reg, {"kind": "campaign", "title_zh": "电梯安全宣传周", "body_zh": "## 进校园\n\n不要在电梯里打闹。",
                                         "starts_on": timezone.localdate(), "ends_on": timezone.localdate() + dt.timedelta(days=6),
                                         "place_types": [1], "notice_zh": "宣传周：请勿打闹", "audiences": ["children"],
                                         "theme": "schools"})
    services.article_transition(reg, camp.pk, "publish")
    report = _published_report(world)

    # the regulator writes, previews and publishes an article (desktop)
    staff = session_context(browser, live_server, reg, viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(f"{base}/publicity/new/")
    staff.fill("#id_title_zh", "乘梯安全须知")
    staff.fill("#id_body_zh", "## 被困怎么办\n\n按警铃，拨打 **96333**。<script>window.pwned=1</script>")
    staff.check("input[name=audiences][value=parents]")
    staff.click("#article-form button[type=submit]")
    staff.wait_for_selector("#article-state")
    assert staff.inner_text("#article-state").strip() == "草稿"
    assert "<strong>96333</strong>" in staff.inner_html("#preview-zh") and "script" not in staff.inner_html("#preview-zh")
    staff.screenshot(path=str(shots / "publicity-staff-preview.png"), full_page=True)
    staff.click("#action-publish")
    staff.wait_for_selector("#article-state[data-state=published]")
    staff.goto(f"{base}/publicity/")
    staff.screenshot(path=str(shots / "publicity-staff-list.png"), full_page=True)

    # the public, on a phone with JavaScript off
    ctx = browser.new_context(locale="zh-CN", java_script_enabled=False, **PHONE)
    page = ctx.new_page()
    page.goto(f"{base}/public/safety/")
    assert "乘梯安全须知" in page.inner_text("#public-items") and "电梯安全宣传周" in page.inner_text("#public-items")
    assert page.get_attribute("#call-96333", "href") == "tel:96333"
    page.screenshot(path=str(shots / "publicity-public-list.png"), full_page=True)
    page.select_option("#f-aud", "children")
    page.click("form.filters button[type=submit]")
    assert "电梯安全宣传周" in page.inner_text("#public-items") and "乘梯安全须知" not in page.inner_text("#public-items")
    page.click("#public-items a")
    page.wait_for_selector("#public-article")
    assert "不要在电梯里打闹" in page.inner_text("#public-article")
    page.screenshot(path=str(shots / "publicity-public-article.png"), full_page=True)
    page.goto(f"{base}/public/reports/")
    page.click(f"a[href='/public/reports/{report.pk}/']")
    page.wait_for_selector("#top-brands")
    page.screenshot(path=str(shots / "publicity-public-report.png"), full_page=False)

    # axe-core on every public page (needs JavaScript for axe itself: a second context)
    axe_page = browser.new_context(locale="zh-CN", **PHONE).new_page()
    problems = {}
    for url in ("/public/safety/", f"/public/safety/{camp.pk}/", "/public/reports/", f"/public/reports/{report.pk}/"):
        axe_page.goto(base + url)
        v = axe_violations(axe_page)
        if v:
            problems[url] = v
    assert not problems, problems
    assert axe_page.evaluate("() => window.pwned === undefined")
