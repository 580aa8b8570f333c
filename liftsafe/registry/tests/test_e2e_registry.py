"""End to end in headless Chromium (Playwright): log in, list, live search and filters (htmx, no
reload), detail with history, language switch, and a maintenance unit that cannot see another
unit's elevator. Saves docs/img/registry-list.png and docs/img/registry-detail.png."""
import datetime as dt
import os
import re

import pytest

from liftsafe.testing import PASSWORD, make_elevator, screenshot_dir
from liftsafe.registry import services

pytestmark = pytest.mark.e2e

DOCS_IMG = screenshot_dir()  # docs/img only with LIFTSAFE_DOCS_SCREENSHOTS=1

STREETS = ["中山路", "北京东路", "龙蟠中路", "太平北路", "珠江路", "长江路", "汉中路", "洪武路", "中华路", "建康路"]
PLACES = [11, 12, 6, 3, 1, 11, 12, 4]


def populate(world):
    """Realistic Nanjing rows beside the world's four, so the pages look like the real registry."""
    admin = world.users["admin"]
    names = {("use_unit", "a"): "南京玄武物业管理有限公司", ("use_unit", "b"): "南京秦淮置业物业服务有限公司",
             ("maintenance_unit", "a"): "江苏通达电梯工程有限公司", ("maintenance_unit", "b"): "南京安顺电梯维修有限公司",
             ("inspection_agency", "a"): "南京市特种设备安全监督检验研究院", ("insurer", "a"): "中国人保财险南京分公司"}
    for key, name in names.items():
        world.orgs[key].name = name
        world.orgs[key].save()
    for key, address in (("a2", "南京市玄武区北京东路41号"), ("b1", "南京市秦淮区中华路88号"), ("b2", "南京市秦淮区建康路3号")):
        services.elevator_update(admin, world.elevators[key], {"address": address})
    statuses = ["in_use"] * 8 + ["stopped", "sealed"]
    cats = ["3110", "3110", "3120", "3310", "3110", "3430"]
    n = 0
    for side, area in (("a", world.district_a), ("b", world.district_b)):
        for i in range(12):
            n += 1
            e = make_elevator(
                f"NJ{area.code[-3:]}{i:03d}", area, rescue_code=f"2{n:05d}",
                registration_code=f"{cats[n % len(cats)]}{area.code}2015{(n % 12) + 1:02d}{n:04d}",
                address=f"南京市{area.name}{STREETS[n % len(STREETS)]}{10 + 3 * n}号{(n % 4) + 1}号楼",
                category=cats[n % len(cats)], status=statuses[n % len(statuses)], place_type=PLACES[n % len(PLACES)],
                use_unit=world.orgs[("use_unit", side)], next_inspection_due=dt.date(2027, (n % 12) + 1, 15),
            )
            services.contract_create(admin, elevator=e, maintenance_unit=world.orgs[("maintenance_unit", side)],
                                     start_date=dt.date(2023, 1, 1))
    a1 = world.elevators["a1"]
    services.lifecycle_event_add(admin, a1, "manufactured", dt.date(2013, 11, 2), note="出厂编号 KX-2013-0441")
    services.lifecycle_event_add(admin, a1, "installed", dt.date(2014, 3, 20), note="安装监督检验合格")
    services.lifecycle_event_add(admin, a1, "registered", dt.date(2014, 4, 8))
    services.elevator_update(admin, a1, {
        "address": "南京市玄武区中山路18号", "place_type": 6, "crowded_place": True, "model": "GeN2-MR", "factory_number": "KX-2013-0441",
        "rated_load_kg": 1000, "rated_speed_mps": "1.75", "travel_height_m": "45.5", "floors": 16, "stops": 16,
        "installation_date": dt.date(2014, 3, 20), "last_inspection_date": dt.date(2026, 5, 12),
        "last_inspection_conclusion": "pass", "next_inspection_due": dt.date(2027, 5, 31),
        "use_certificate_no": "梯11苏A00001(14)",
    }, reason="登记信息核对")
    services.elevator_update(admin, a1, {"rated_speed_mps": "2.5"}, reason="改造后铭牌更新")


def login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def rows(page) -> list[str]:
    return page.locator("#elevator-table tbody td:first-child a").all_inner_texts()


def test_regulator_journey_and_screenshots(browser, live_server, world):
    populate(world)
    base = live_server.url
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    login(page, base, "city_regulator")
    assert "欢迎" in page.inner_text("h1")
    assert "28" in page.inner_text(".tile-num")
    if os.environ.get("LIFTSAFE_E2E_SHOTS"):
        page.screenshot(path=os.environ["LIFTSAFE_E2E_SHOTS"] + "/home.png")
    page.click("nav.main-nav >> text=电梯")
    page.wait_for_url(re.compile(r"/registry/elevators/$"))
    assert page.inner_text("h1") == "电梯登记台账"
    assert "共 28 台电梯" in page.inner_text("#result-count")
    page.evaluate("window.__noReload = 'still here'")

    # search by a code: htmx replaces the table, the page is not reloaded, the URL follows
    b1 = world.elevators["b1"]
    page.fill("#q", b1.rescue_code)
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 1 台')")
    assert rows(page) == ["B1"]
    assert page.evaluate("window.__noReload") == "still here"
    assert page.url.endswith(f"/registry/elevators/?q={b1.rescue_code}")  # empty filters left out

    # search by address prefix
    page.fill("#q", "南京市秦淮区")
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 14 台')")
    assert all(r.startswith(("NJ104", "B")) for r in rows(page))

    # filter: status sealed within the prefix
    page.select_option("select[name=status]", "sealed")
    page.wait_for_function("() => !document.querySelector('#result-count').innerText.includes('共 14 台')")
    got = rows(page)
    assert got and len(got) < 14
    assert set(page.locator("#elevator-table tbody .badge").all_inner_texts()) == {"查封"}
    assert page.evaluate("window.__noReload") == "still here"

    # clear everything: the full list, then screenshot
    page.click("text=清除")
    page.wait_for_url(re.compile(r"/registry/elevators/$"))
    page.select_option("select[name=area]", "320102")
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 14 台')")
    page.select_option("select[name=area]", "")
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 28 台')")
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "registry-list.png"), full_page=False)

    # detail with history
    page.fill("#q", world.elevators["a1"].registration_code)
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 1 台')")
    page.click("#elevator-table tbody td:first-child a")
    page.wait_for_url(re.compile(r"/registry/elevators/\d+/$"))
    assert "中山路18号" in page.inner_text(".page-head")
    detail = page.inner_text("main")
    for text in ("识别代码", "注册代码", "救援识别码", "使用登记证编号", "1000 kg", "2.5 m/s", "45.5 m",
                 "维保合同", "全生命周期", "安装监督检验合格", "变更记录", "改造后铭牌更新", "新建", "修改"):
        assert text in detail, text
    history = page.locator("#history")
    assert "1.75" in history.inner_text() and "2.5" in history.inner_text()  # before → after
    page.screenshot(path=str(DOCS_IMG / "registry-detail.png"), full_page=True)

    # switch to English and back; the choice persists across pages
    page.select_option("#language", "en")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "Change history" in page.inner_text("main") and "Rated load (kg)" in page.inner_text("main")
    page.goto(f"{base}/registry/elevators/")
    assert page.inner_text("h1") == "Elevator registry"
    assert "28 elevators" in page.inner_text("#result-count")
    page.select_option("#language", "zh-hans")
    page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'")
    assert page.inner_text("h1") == "电梯登记台账"
    ctx.close()


def test_maintenance_unit_cannot_see_other_units_elevator(browser, live_server, world):
    base = live_server.url
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # a phone
    page = ctx.new_page()
    login(page, base, "maintenance_unit")
    page.goto(f"{base}/registry/elevators/")
    assert sorted(rows(page)) == ["A1", "A2"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "list overflows a phone screen"
    if os.environ.get("LIFTSAFE_E2E_SHOTS"):
        page.screenshot(path=os.environ["LIFTSAFE_E2E_SHOTS"] + "/mobile-list.png", full_page=True)
    # b2 was maintained by this unit until 2020, b1 never: both are out of scope now
    for key in ("b1", "b2"):
        response = page.goto(f"{base}{world.elevators[key].get_absolute_url()}")
        assert response.status == 404
        assert "404" in page.inner_text(".errorpage")
        assert world.elevators[key].address not in page.content()
    # searching for the other unit's code finds nothing
    page.goto(f"{base}/registry/elevators/")
    page.fill("#q", world.elevators["b1"].rescue_code)
    page.wait_for_function("() => document.querySelector('#result-count').innerText.includes('共 0 台')")
    assert rows(page) == []
    ctx.close()
