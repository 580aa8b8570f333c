"""End to end in headless Chromium: the district regulator runs the monthly rating and publishes the draft; the
maintenance unit opens its score item by item (the late arrival links to its case), files an objection with
evidence; the district regulator (the scorer) is not offered the decision, the city regulator decides with
reasons; the unit publishes its reply; the public page shows the grade, the date and the reply and nothing of
the objection. Screenshots: rating-regulator.png, rating-unit.png, rating-public.png."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liftsafe.emergency import services as em
from liftsafe.emergency.models import EmergencyCase
from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.rating.models import Objection, Rating
from liftsafe.testing import screenshot_dir

pytestmark = pytest.mark.e2e

DESK = dict(viewport={"width": 1280, "height": 900})


def test_objection_review_publication_with_reply(browser, live_server, world, tmp_path):
    base = live_server.url
    first = timezone.localdate().replace(day=1)
    day = (first - dt.timedelta(days=1)).replace(day=10)
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
    case = em.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=at, trapped_count=1).case
    em.dispatch_case(world.users["admin"], case, 1)
    EmergencyCase.objects.filter(pk=case.pk).update(dispatched_at=at + dt.timedelta(minutes=1))  # nobody arrived: late

    reg = session_context(browser, live_server, world.users["regulator"], **DESK).new_page()
    reg.goto(f"{base}/rating/")
    reg.select_option("#run-form select[name=sheet]", "city_monthly")
    reg.fill("#run-form input[name=on]", day.isoformat())
    reg.locator("#run-form button[type=submit]").click()
    reg.wait_for_load_state()
    r = Rating.objects.get(unit=world.orgs[("maintenance_unit", "a")])
    assert r.state == "draft" and r.rated
    reg.screenshot(path=str(screenshot_dir() / "rating-regulator.png"), full_page=True)
    reg.goto(f"{base}/rating/{r.pk}/")
    reg.locator("#act-publish button[type=submit]").click()
    reg.wait_for_load_state()
    r.refresh_from_db()
    assert r.state == "published" and r.published_on == timezone.localdate()

    unit = session_context(browser, live_server, world.users["maintenance_unit"], **DESK).new_page()
    unit.goto(f"{base}/rating/{r.pk}/")
    link = unit.locator(f"#items a[href='/emergency/cases/{case.pk}/']")
    assert link.count() == 1  # the late arrival's evidence
    unit.screenshot(path=str(screenshot_dir() / "rating-unit.png"), full_page=True)
    evidence = tmp_path / "power-cut.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% power company notice\n")
    unit.fill("#act-object textarea[name=text]", "到达超时系小区停电所致，附供电公司证明。")
    unit.set_input_files("#act-object input[name=file]", str(evidence))
    unit.locator("#act-object button[type=submit]").click()
    unit.wait_for_load_state()
    o = Objection.objects.get(rating=r)
    assert o.file and o.text.startswith("到达超时")

    reg.goto(f"{base}/rating/{r.pk}/")
    assert reg.locator("#act-decide").count() == 0  # the scorer is not offered the decision
    city = session_context(browser, live_server, world.users["city_regulator"], **DESK).new_page()
    city.goto(f"{base}/rating/")
    city.locator(f"a[href='/rating/{r.pk}/']").first.click()
    city.select_option("#act-decide select[name=decision]", "revised")
    new_grade = "A" if r.grade != "A" else "B"
    city.select_option("#act-decide select[name=revised_grade]", new_grade)
    city.fill("#act-decide textarea[name=reasons]", "停电已核实，到达超时不计。")
    city.locator("#act-decide button[type=submit]").click()
    city.wait_for_load_state()
    r.refresh_from_db()
    assert r.state == "decided" and r.grade == new_grade

    unit.goto(f"{base}/rating/{r.pk}/")
    unit.fill("#act-reply textarea[name=text]", "我司已增设备用值班电话。")
    unit.locator("#act-reply button[type=submit]").click()
    unit.locator("#reply").wait_for()
    r.refresh_from_db()
    assert r.reply == "我司已增设备用值班电话。"

    public = browser.new_context(locale="zh-CN", **DESK).new_page()
    public.goto(f"{base}/public/ratings/")
    text = public.locator("#public-ratings").inner_text()
    assert "maintenance_unit A" in text and new_grade in text and "我司已增设备用值班电话。" in text
    assert "停电" not in public.content()  # neither the objection nor the decision's reasons are public
    public.screenshot(path=str(screenshot_dir() / "rating-public.png"), full_page=True)
