"""End to end in headless Chromium (issue 15, field work): a responder on a phone-sized page marks two arrivals
with the phone's location (Playwright geolocation) — one at the lift, one recorded 6 km away, which is flagged
on the page and on the regulator's case page; and a use unit's self-reported hazard (自查自报) reaches the
regulator's hazard list as a lead. Screenshots go to liftsafe.testing.screenshot_dir()."""
import io

import pytest

from liftsafe.emergency import services
from liftsafe.emergency.models import FieldRecord
from liftsafe.emergency.tests.test_e2e_emergency import session_context
from liftsafe.hazards.models import Hazard
from liftsafe.testing import screenshot_dir

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _responded(world, key):
    op, mu = world.users["operator"], world.users["maintenance_unit"]
    from django.utils import timezone
    import datetime as dt

    case = services.intake_alarm(world.elevators[key], channel="phone_96333", case_type="entrapment", actor=op,
                                 received_at=timezone.now() - dt.timedelta(minutes=12), trapped_count=1,
                                 caller_phone="13812345678").case
    services.dispatch_case(op, case, 1)
    services.record_milestone(mu, case, "responded")
    case.refresh_from_db()
    return case


def _arrive(page, base, case, geo_text):
    page.goto(f"{base}/emergency/responder/")
    form = page.locator(f"#task-{case.pk} form.em-arrive")
    form.wait_for()
    page.wait_for_function("() => document.querySelector('#task-%d form.em-arrive input[name=latitude]').value !== ''" % case.pk,
                           timeout=10000)
    assert geo_text in form.locator("[data-geo-status]").inner_text()
    form.locator("button[value=arrived]").click()
    page.wait_for_load_state()


def test_arrival_location_flag_and_self_report(browser, live_server, world):
    base = live_server.url
    shots = screenshot_dir()
    near, far = _responded(world, "a1"), _responded(world, "a2")  # both lifts at (32.04, 118.79)

    ctx = session_context(browser, live_server, world.users["maintenance_unit"], geolocation={
        "latitude": 32.0403, "longitude": 118.7902, "accuracy": 15}, permissions=["geolocation"], **PHONE)
    page = ctx.new_page()
    _arrive(page, base, near, "15")
    rec = FieldRecord.objects.get(case=near)
    assert rec.location_check == "near" and rec.accuracy_m == 15 and rec.distance_m < 100

    ctx.set_geolocation({"latitude": 32.10, "longitude": 118.79, "accuracy": 20})  # ~6.7 km away
    _arrive(page, base, far, "20")
    rec = FieldRecord.objects.get(case=far)
    assert rec.location_check == "far" and rec.flagged and rec.distance_m > 6000
    warning = page.locator("ul.messages li.warning, .messages .warning")
    assert warning.count() >= 1 and f"{rec.distance_m:,.0f}" in warning.first.inner_text()
    page.screenshot(path=str(shots / "field-responder-far-arrival.png"), full_page=True)

    reg = session_context(browser, live_server, world.users["regulator"], viewport={"width": 1440, "height": 900}).new_page()
    reg.goto(f"{base}/emergency/cases/{far.pk}/")
    section = reg.locator("section.em-on-site")
    section.wait_for()
    assert "6" in section.inner_text() and section.locator("tr.loc-far").count() == 1
    reg.screenshot(path=str(shots / "field-regulator-case-on-site.png"), full_page=True)

    # --- a use unit reports a hazard on its own lift, with a photo; the regulator sees the lead
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (120, 90), (90, 90, 90)).save(buf, format="JPEG")
    uu = session_context(browser, live_server, world.users["use_unit"], viewport={"width": 1280, "height": 900}).new_page()
    uu.goto(f"{base}/hazards/report/?elevator={world.elevators['a1'].pk}")
    uu.fill("input[name=title]", "轿门安全触板失效（自查）")
    uu.select_option("select[name=level]", "significant")
    uu.fill("textarea[name=description]", "月度自查发现：轿门安全触板不动作。")
    uu.set_input_files("input[name=files]", files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}])
    uu.screenshot(path=str(shots / "field-self-report-form.png"), full_page=True)
    uu.click("form.hz-self-report button[type=submit]")
    uu.wait_for_url("**/hazards/*/")
    h = Hazard.objects.get(source="self_report")
    assert h.state == "lead" and h.evidence.count() == 1

    reg.goto(f"{base}/hazards/?source=self_report&state=lead")
    reg.wait_for_selector(f"text=轿门安全触板失效（自查）")
    reg.goto(f"{base}/hazards/{h.pk}/")
    assert "door.jpg" in reg.content()
    reg.screenshot(path=str(shots / "field-regulator-self-reported-lead.png"), full_page=True)
    ctx.close()
