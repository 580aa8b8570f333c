"""End to end in headless Chromium (Playwright): an operator takes a 96333 call (identifies the elevator
by rescue code), records the intake checklist and dispatches at level 1; the maintenance unit's duty
engineer (a second browser context, phone-sized) acknowledges, arrives, releases the passengers and
reports the cause; the operator's live board follows every step without reloading and the case ends
completed. Saves docs/img/emergency-board.png, docs/img/emergency-responder.png (and the console and
case pages)."""
import datetime as dt
import re

import pytest
from django.utils import timezone

from liftsafe.testing import make_elevator, screenshot_dir
from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import MaintenanceContract

pytestmark = pytest.mark.e2e

DOCS_IMG = screenshot_dir()  # docs/img only with LIFTSAFE_DOCS_SCREENSHOTS=1
ADDRESSES = ["南京市玄武区中山路18号", "南京市玄武区北京东路41号3号楼", "南京市玄武区龙蟠中路229号", "南京市玄武区太平北路120号",
             "南京市玄武区珠江路88号新世界中心", "南京市玄武区长江路292号", "南京市玄武区玄武大道699号", "南京市玄武区中央路1号"]


def populate(world):
    """Other open cases in district A, in every state and at every timer colour, so the board looks real."""
    now = timezone.now()
    op = world.users["operator"]
    mu = world.orgs[("maintenance_unit", "a")]
    a1 = world.elevators["a1"]
    a1.address = ADDRESSES[0]
    a1.save()
    for key, name in ((("maintenance_unit", "a"), "南京金陵电梯维保有限公司"), (("use_unit", "a"), "玄武区中山物业管理中心"),
                      (("rescue_station", "a"), "玄武区电梯应急救援站")):
        world.orgs[key].name = name
        world.orgs[key].phone = "025-8460" + str(len(name))
        world.orgs[key].save()
    els = []
    for i, addr in enumerate(ADDRESSES[1:], start=1):
        e = make_elevator(f"NJ102{i:03d}", world.district_a, rescue_code=f"20{i:04d}", address=addr,
                          registration_code=f"31103201022016{i:02d}{i:04d}", use_unit=world.orgs[("use_unit", "a")],
                          latitude=32.05 + i / 500, longitude=118.79 + i / 400)
        MaintenanceContract.objects.create(elevator=e, maintenance_unit=mu, start_date=dt.date(2024, 1, 1))
        els.append(e)

    def case(e, minutes, ctype="entrapment", channel="phone_96333", trapped=1):
        return services.intake_alarm(e, channel=channel, case_type=ctype, received_at=now - dt.timedelta(minutes=minutes),
                                     actor=op, trapped_count=trapped if ctype == "entrapment" else None,
                                     caller_phone="13900001111").case

    def at(minutes):
        return now - dt.timedelta(minutes=minutes)

    case(els[0], 0.7, trapped=3)                                               # awaiting dispatch
    c = case(els[1], 3, channel="car_alarm")
    services.dispatch_case(op, c, 1, at=at(2.6))                               # response timer amber
    c = case(els[2], 7, channel="iot", trapped=2)
    services.dispatch_case(op, c, 1, at=at(6))                                 # response late (red)
    c = case(els[3], 27)
    services.dispatch_case(op, c, 1, at=at(26))
    services.record_milestone(op, c, "responded", at=at(25))                   # arrival amber
    c = case(els[4], 19, trapped=4)
    services.dispatch_case(op, c, 1, at=at(18))
    services.record_milestone(op, c, "responded", at=at(17))
    services.record_milestone(op, c, "arrived", at=at(6))                      # on site
    c = case(els[5], 12, ctype="fault_report", channel="transfer_12345")
    services.dispatch_case(op, c, 1, at=at(11))


def session_context(browser, live_server, user, **kw):
    from django.test import Client

    client = Client()
    client.force_login(user)
    ctx = browser.new_context(locale="zh-CN", **kw)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    ctx.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}])
    return ctx


def test_call_to_completion(browser, live_server, world):
    populate(world)
    base = live_server.url
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    operator_ctx = session_context(browser, live_server, world.users["operator"], viewport={"width": 1440, "height": 900})
    responder_ctx = session_context(browser, live_server, world.users["maintenance_unit"],
                                    viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    board = operator_ctx.new_page()
    board.goto(f"{base}/emergency/board/")
    board.evaluate("window.__noReload = 'board-page-1'")
    n_before = board.locator("#board-rows > tr").count()
    assert n_before == 6

    # --- the operator takes the call: identify by rescue code
    console = operator_ctx.new_page()
    console.goto(f"{base}/emergency/")
    console.fill("#q", "100001")
    select = console.locator("a.em-select")
    select.first.wait_for()
    assert select.count() == 1
    console.screenshot(path=str(DOCS_IMG / "emergency-console.png"), full_page=True)
    select.first.click()
    console.wait_for_url(re.compile(r"/emergency/intake/\d+/"))
    assert console.locator(".em-script").count() == 1  # reassure script shown while taking the checklist
    console.fill("#id_trapped_count", "2")
    console.fill("#id_injured_count", "0")
    console.fill("#id_car_position", "5F-6F")
    console.fill("#id_caller_phone", "13812345678")
    console.fill("#id_special_circumstances", "一位老人，情绪紧张")
    console.click("form.em-intake button[type=submit]")
    console.wait_for_url(re.compile(r"/emergency/cases/\d+/"))
    case = EmergencyCase.objects.get(elevator=world.elevators["a1"])
    assert (case.trapped_count, case.car_position, case.state) == (2, "5F-6F", "received")

    # the board shows the new case without a reload
    row = board.locator(f"#case-{case.pk}")
    row.wait_for(timeout=10000)
    assert row.get_attribute("data-st") == "received"

    # --- dispatch: level 1 is pre-selected with the contracted maintenance unit
    level1 = console.locator("form.em-dispatch input[name=level][value='1']")
    assert level1.is_checked()
    assert world.orgs[("maintenance_unit", "a")].name in console.locator("form.em-dispatch").inner_text()
    console.click("form.em-dispatch button[type=submit]")
    console.wait_for_load_state()
    board.wait_for_selector(f"#case-{case.pk}[data-st=dispatched]", timeout=10000)

    # --- the maintenance unit's duty engineer, on a phone
    phone = responder_ctx.new_page()
    phone.goto(f"{base}/emergency/responder/")
    task = phone.locator(f"#task-{case.pk}")
    task.wait_for()
    task.locator("button[value=responded]").click()
    phone.wait_for_load_state()
    board.wait_for_selector(f"#case-{case.pk}[data-st=responded]", timeout=10000)
    phone.locator(f"#task-{case.pk} button[value=arrived]").click()
    phone.wait_for_load_state()
    board.wait_for_selector(f"#case-{case.pk}[data-st=arrived]", timeout=10000)
    release = phone.locator(f"#task-{case.pk} form.em-release")
    release.locator("input[name=released_count]").fill("2")
    phone.evaluate(f"document.getElementById('task-{case.pk}').scrollIntoView({{block: 'start'}})")
    phone.screenshot(path=str(DOCS_IMG / "emergency-responder.png"), full_page=False)
    release.locator("button[value=released]").click()
    phone.wait_for_load_state()
    board.wait_for_selector(f"#case-{case.pk}[data-st=released]", timeout=10000)
    board.wait_for_timeout(2700)  # let the change highlight fade
    board.screenshot(path=str(DOCS_IMG / "emergency-board.png"), full_page=True)
    cause = phone.locator(f"#task-{case.pk} form.em-cause")
    cause.locator("select[name=cause_class]").select_option("door_system")
    cause.locator("select[name=cause_item]").select_option("door_system:door_operator")
    cause.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    case.refresh_from_db()
    assert (case.state, case.released_count, case.cause_class, case.cause_item) == ("released", 2, "door_system", "door_operator")

    # --- the operator confirms with the caller and completes the case
    console.goto(f"{base}/emergency/cases/{case.pk}/")
    console.click("form.em-close button[value=completed]")
    console.wait_for_load_state()
    board.wait_for_selector(f"#case-{case.pk}", state="detached", timeout=10000)
    case.refresh_from_db()
    assert case.state == "completed"
    assert board.evaluate("window.__noReload") == "board-page-1"  # the board never reloaded
    assert board.locator("#board-rows > tr").count() == n_before
    console.screenshot(path=str(DOCS_IMG / "emergency-case.png"), full_page=True)
    kinds = list(case.milestones.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["received", "dispatched", "responded", "arrived", "released", "completed"]
    operator_ctx.close()
    responder_ctx.close()
