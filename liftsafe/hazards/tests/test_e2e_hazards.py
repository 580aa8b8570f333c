"""End to end in headless Chromium (Playwright): the full hazard cycle for the right roles —
file → listed → stop-use → evidence upload → submit → verify/close → look-back → recurrence → reopen.
Saves docs/img/hazards-*.png with LIFTSAFE_DOCS_SCREENSHOTS=1 (else a temporary folder)."""

import pytest

from liftsafe.testing import PASSWORD, screenshot_dir
from liftsafe.hazards import services
from liftsafe.hazards.models import Hazard
from liftsafe.registry.models import Elevator
from liftsafe.registry import services as registry_services

from .helpers import PNG, days

pytestmark = pytest.mark.e2e

DOCS_IMG = screenshot_dir()  # docs/img only with LIFTSAFE_DOCS_SCREENSHOTS=1


def populate(world):
    names = {("use_unit", "a"): "南京玄武物业管理有限公司", ("use_unit", "b"): "南京秦淮置业物业服务有限公司",
             ("maintenance_unit", "a"): "江苏通达电梯工程有限公司", ("maintenance_unit", "b"): "南京安顺电梯维修有限公司"}
    for key, name in names.items():
        world.orgs[key].name = name
        world.orgs[key].save()
    for key, address in (("a1", "南京市玄武区中山路18号1号楼"), ("a2", "南京市玄武区北京东路41号"), ("b1", "南京市秦淮区中华路88号")):
        registry_services.elevator_update(world.users["admin"], world.elevators[key], {"address": address})
    reg = world.users["city_regulator"]
    for key, title, level, unit in (("a2", "轿厢应急照明不亮", "general", ("use_unit", "a")),
                                    ("b1", "限速器校验超期", "major", ("maintenance_unit", "b")),
                                    ("a2", "机房温度过高，无通风设施", "significant", ("maintenance_unit", "a"))):
        services.hazard_file(reg, elevator=world.elevators[key], source="spot_check", title=title, level=level,
                             responsible_unit=world.orgs[unit])
    Hazard.objects.filter(title="限速器校验超期").update(deadline=days(-4))


def login(browser, live_server, username):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def shot(page, name):
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / f"hazards-{name}.png"), full_page=True)


def test_full_cycle_in_browser(world, live_server, browser, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    populate(world)
    a1 = world.elevators["a1"]
    base = live_server.url

    # regulator files a hazard from the problem-elevator file, lists it, orders stop-use
    ctx, page = login(browser, live_server, "regulator")
    page.goto(f"{base}/hazards/elevators/{a1.pk}/")
    page.click(f"a[href='/hazards/new/?elevator={a1.pk}']")
    page.fill("input[name=title]", "厅门锁啮合长度不足 7mm")
    page.select_option("select[name=source]", "inspection")
    page.select_option("select[name=level]", "significant")
    page.select_option("select[name=cause_class]", "door_system")
    use_unit = f"input[name=responsible_unit][value='{world.orgs[('use_unit', 'a')].pk}']"
    assert page.is_checked(use_unit)  # the elevator's use unit is preselected
    mu = world.orgs[("maintenance_unit", "a")]
    mu.refresh_from_db()
    page.fill("input[name=unit_q]", mu.name[:4])  # htmx autocomplete over the regulator's organisations
    page.wait_for_selector(f".hz-unit-found input[value='{mu.pk}']")
    found = page.locator(".hz-unit-found input[name=responsible_unit]")
    assert 1 <= found.count() <= 20
    page.check(use_unit)
    page.fill("textarea[name=description]", "定期检验发现 3 层厅门锁啮合长度 5mm，不符合 TSG T7001 要求。")
    page.click("main form.card button[type=submit]")
    page.wait_for_url("**/hazards/*/")
    h = Hazard.objects.get(title__startswith="厅门锁啮合")
    assert h.state == "open" and h.filed_by == world.users["regulator"]
    page.select_option("#act-list select[name=authority]", "district")
    page.click("#act-list button")
    page.wait_for_load_state()
    page.fill("#act-stop input[name=reason]", "厅门锁失效，存在剪切风险")
    page.click("#act-stop button")
    page.wait_for_load_state()
    h.refresh_from_db()
    a1.refresh_from_db()
    assert h.listed and h.listed_authority == "district" and a1.status == "stopped"
    assert page.locator(".badge.stopped").count() >= 1 and page.locator(".badge.listed").count() == 1
    shot(page, "detail-regulator")
    page.goto(f"{base}/hazards/")
    assert page.locator(".badge.overdue").count() == 0  # the overdue one is in district B
    shot(page, "list")
    ctx.close()

    # the city regulator sees district B's overdue hazard in the list, with the badge
    ctx, page = login(browser, live_server, "city_regulator")
    page.goto(f"{base}/hazards/?overdue=1")
    assert page.locator(".badge.overdue").count() == 1 and "限速器校验超期" in page.content()
    ctx.close()

    # the responsible unit sees it under "my open hazards", uploads evidence and submits
    ctx, page = login(browser, live_server, "use_unit")
    page.goto(f"{base}/hazards/mine/")
    assert "厅门锁啮合长度不足" in page.content()
    shot(page, "mine")
    page.goto(f"{base}/hazards/{h.pk}/")
    assert page.locator("#act-close").count() == 0  # no close-out for the responsible unit
    photo = tmp_path / "门锁更换后.png"
    photo.write_bytes(PNG)
    page.set_input_files("#upload input[type=file]", str(photo))
    page.click("#upload button")
    page.wait_for_load_state()
    assert "门锁更换后.png" in page.content()
    page.fill("#act-submit textarea[name=note]", "已更换 3 层厅门锁，啮合长度 9mm。")
    page.click("#act-submit button")
    page.wait_for_load_state()
    h.refresh_from_db()
    assert h.state == "submitted" and h.evidence.count() == 1
    shot(page, "submitted-unit")
    ctx.close()

    # the regulator verifies and closes: the stop-use order is lifted
    ctx, page = login(browser, live_server, "regulator")
    page.goto(f"{base}/hazards/{h.pk}/")
    with page.expect_response(lambda r: "/hazards/evidence/" in r.url) as resp:
        page.click("a[href^='/hazards/evidence/']")
    assert resp.value.status == 200
    page.goto(f"{base}/hazards/{h.pk}/")
    page.fill("#act-close textarea[name=note]", "现场复核合格")
    page.click("#act-close button")
    page.wait_for_load_state()
    h.refresh_from_db()
    a1.refresh_from_db()
    assert h.state == "closed" and a1.status == Elevator.Status.IN_USE
    shot(page, "closed")

    # look-back campaign over district A, then a recurrence on re-check reopens the hazard one level up
    page.goto(f"{base}/hazards/campaigns/")
    page.fill("#launch input[name=name]", "2026 年第四季度回头看")
    page.select_option("#launch select[name=area]", world.district_a.code)
    page.fill("#launch input[name=period_start]", days(-30).isoformat())
    page.fill("#launch input[name=period_end]", days(0).isoformat())
    page.fill("#launch input[name=rate]", "0.2")
    page.fill("#launch input[name=seed]", "20261129")
    page.click("#launch button")
    page.wait_for_url("**/hazards/campaigns/*/")
    assert f"#{h.pk}" in page.content()
    page.fill("#recheck input[name=hazard]", str(h.pk))
    page.select_option("#recheck select[name=result]", "recurrence")
    page.fill("#recheck input[name=note]", "3 层厅门锁再次啮合不足")
    page.click("#recheck button")
    page.wait_for_load_state()
    shot(page, "campaign")
    h.refresh_from_db()
    assert h.state == "open" and h.recurrence_count == 1 and h.level == "major"
    page.goto(f"{base}/hazards/elevators/{a1.pk}/")
    shot(page, "elevator-file")
    page.goto(f"{base}/hazards/stats/")
    shot(page, "stats")
    ctx.close()
