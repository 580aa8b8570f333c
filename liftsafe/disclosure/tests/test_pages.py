"""Public and staff pages: status codes, the no-personal-data rule, size, bad input."""
import re

import pytest
from django.test import Client

from liftsafe.disclosure import services
from liftsafe.disclosure.models import PublicReport
from liftsafe.registry.models import Elevator
from liftsafe.testing import PASSWORD

from .conftest import jpeg_with_gps, upload


def login(world, role) -> Client:
    c = Client()
    assert c.login(username=world.users[role].username, password=PASSWORD)
    return c


def test_qr_page_shows_the_public_fields_and_a_call_button(dw):
    e = dw.elevators["a1"]
    r = Client().get(f"/q/{dw.code['a1']}")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'href="tel:96333"' in html and e.rescue_code in html and e.registration_code in html
    assert "use_unit A" in html and "maintenance_unit A" in html
    assert "<script" not in html and 'style="' not in html
    assert len(r.content) < 50 * 1024
    assert r.headers["Content-Language"] if "Content-Language" in r.headers else True


def test_qr_page_in_english(dw):
    c = Client()
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = c.get(f"/q/{dw.code['a1']}").content.decode()
    assert "Call 96333" in html and "Rescue code" in html


def test_qr_page_default_is_chinese(dw):
    html = Client().get(f"/q/{dw.code['a1']}").content.decode()
    assert "救援识别码" in html and "拨打 96333" in html


@pytest.mark.parametrize("code", ["ZZZZZZZZZ", "abc", "0000000000", "%3Cscript%3E", "A" * 300])
def test_unknown_and_malformed_codes_are_404_with_96333(dw, code):
    r = Client().get(f"/q/{code}")
    assert r.status_code == 404
    assert b'href="tel:96333"' in r.content


def test_scrapped_lift_shows_friendly_page_with_96333(dw):
    Elevator.objects.filter(pk=dw.elevators["a2"].pk).update(status="scrapped")
    r = Client().get(f"/q/{dw.code['a2']}")
    assert r.status_code == 200 and b'href="tel:96333"' in r.content
    assert b"use_unit A" not in r.content
    assert Client().get(f"/q/{dw.code['a2']}/report/").status_code == 200  # form shows, filing refused
    r = Client().post(f"/q/{dw.code['a2']}/report/", {"category": "fault", "text": "x"})
    assert r.status_code == 422 and not PublicReport.objects.exists()


def test_lookups_are_rate_limited(dw, settings):
    settings.LIFTSAFE_RULES = {"disclosure_page_views_per_address_per_minute": 5}
    c = Client()
    statuses = [c.get(f"/q/ZZZZZZZZ{i}").status_code for i in range(8)]
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429] * 3


def test_report_form_trapped_sends_to_96333(dw):
    r = Client().get(f"/q/{dw.code['a1']}/report/?category=trapped")
    assert r.status_code == 200 and b'href="tel:96333"' in r.content and b"<form" not in r.content.split(b"<main>")[1]
    r = Client().post(f"/q/{dw.code['a1']}/report/", {"category": "trapped", "text": "help"})
    assert r.status_code == 200 and not PublicReport.objects.exists()


def test_report_with_photo_and_html_is_stored_as_text_and_escaped(dw):
    c = Client()
    r = c.post(f"/q/{dw.code['a1']}/report/", {"category": "fault", "text": "<script>alert(1)</script><b onmouseover=x>",
                                                 "phone": "13900001111", "photo": upload(jpeg_with_gps())})
    assert r.status_code == 302
    report = PublicReport.objects.get()
    assert report.photo and report.text.startswith("<script>")
    page = c.get(r["Location"])
    html = page.content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "13900001111" not in html and "139****1111" in html
    staff = login(dw, "maintenance_unit").get(f"/disclosure/reports/{report.pk}/").content.decode()
    assert "<script>alert" not in staff and "13900001111" in staff


def test_flood_shows_the_challenge(dw):
    c = Client()
    for i in range(3):
        assert c.post(f"/q/{dw.code['a1']}/report/", {"category": "fault", "text": f"r{i}"}).status_code == 302
    r = c.post(f"/q/{dw.code['a1']}/report/", {"category": "fault", "text": "r3"})
    assert r.status_code == 429
    html = r.content.decode()
    token = re.search(r'name="challenge" value="([^"]+)"', html).group(1)
    a, b = (int(x) for x in re.search(r"(\d) \+ (\d) = \?", html).groups())
    r = c.post(f"/q/{dw.code['a1']}/report/", {"category": "fault", "text": "r3", "challenge": token, "answer": a + b})
    assert r.status_code == 302 and PublicReport.objects.count() == 4


def test_ticket_page_reopen_and_survey(dw):
    rep = services.report_file(elevator=dw.elevators["a1"], category="fault", text="broken", ip="5.5.5.5")
    c = Client()
    assert c.get(f"/public/ticket/{rep.ticket}/").status_code == 200
    assert c.get("/public/ticket/RZZZZZZZZZ/").status_code == 404
    assert c.post(f"/public/ticket/{rep.ticket}/reopen/", {"comment": "x"}).status_code == 422  # not closed yet
    services.report_act(dw.users["maintenance_unit"], rep, "close", note="repaired the door")
    page = c.get(f"/public/ticket/{rep.ticket}/").content.decode()
    assert "repaired the door" in page and "maintenance_unit A" in page
    assert c.post(f"/public/ticket/{rep.ticket}/reopen/", {"comment": "still broken"}).status_code == 302
    assert PublicReport.objects.get(pk=rep.pk).state == "reopened"


def test_portal_lookup(dw):
    e = dw.elevators["a1"]
    c = Client()
    assert c.get("/public/").status_code == 200
    html = c.get("/public/", {"q": e.rescue_code}).content.decode()
    assert f"/q/{dw.code['a1']}" in html
    html = c.get("/public/", {"q": e.address[:6]}).content.decode()
    assert f"/q/{dw.code['a1']}" in html
    html = c.get("/public/", {"q": "ab"}).content.decode()
    assert "/q/" not in html.split("<main>")[1].split("</main>")[0].replace('href="/q/', "")
    assert "/public/ratings/" in c.get("/public/").content.decode()


def test_staff_pages_per_role(dw):
    rep = services.report_file(elevator=dw.elevators["a1"], category="fault", text="broken", ip="5.5.5.5")
    for role, status in (("maintenance_unit", 200), ("use_unit", 200), ("regulator", 200), ("admin", 200),
                         ("operator", 403), ("insurer", 403)):
        c = login(dw, role)
        assert c.get("/disclosure/reports/").status_code == status, role
        assert c.get(f"/disclosure/reports/{rep.pk}/").status_code == (status if status == 200 else 403), role
    mu = login(dw, "maintenance_unit")
    page = mu.get(f"/disclosure/reports/{rep.pk}/").content.decode()
    assert "/action/acknowledge/" in page and "/action/to_hazard/" not in page
    reg = login(dw, "regulator").get(f"/disclosure/reports/{rep.pk}/").content.decode()
    assert "/action/to_hazard/" in reg and "/action/close/" not in reg
    r = mu.post(f"/disclosure/reports/{rep.pk}/action/acknowledge/", {"note": "seen", "expected_on": "not-a-date"})
    assert r.status_code == 302 and PublicReport.objects.get(pk=rep.pk).state == "new"
    mu.post(f"/disclosure/reports/{rep.pk}/action/acknowledge/", {"note": "seen"})
    assert PublicReport.objects.get(pk=rep.pk).state == "acknowledged"


def test_publication_page(dw):
    c = login(dw, "regulator")
    assert c.get("/disclosure/publication/").status_code == 200
    c.post("/disclosure/publication/", {"area": dw.district_a.code, "page": "on", "fields": ["units", "risk"]})
    html = Client().get(f"/q/{dw.code['a1']}").content.decode()
    assert "use_unit A" in html and "tel:96333" in html
    assert c.post("/disclosure/publication/", {"area": dw.district_b.code, "page": "on"}).status_code == 404
    assert login(dw, "use_unit").get("/disclosure/publication/").status_code == 403


def test_qr_svg_and_panel(dw):
    c = login(dw, "use_unit")
    r = c.get(f"/disclosure/qr/{dw.elevators['a1'].pk}.svg")
    assert r.status_code == 200 and r.content.startswith(b"<svg")
    assert c.get(f"/disclosure/qr/{dw.elevators['b1'].pk}.svg").status_code == 404


def test_photo_served_only_in_scope(dw):
    rep = services.report_file(elevator=dw.elevators["a1"], category="fault", text="", photo=upload(jpeg_with_gps()), ip="6.6.6.6")
    assert login(dw, "regulator").get(f"/disclosure/reports/{rep.pk}/photo/").status_code == 200
    assert login(dw, "operator").get(f"/disclosure/reports/{rep.pk}/photo/").status_code == 403
    assert login(dw, "use_unit").get(f"/disclosure/reports/{rep.pk}/photo/").status_code == 200
    other = services.report_file(elevator=dw.elevators["b1"], category="fault", text="", photo=upload(jpeg_with_gps()), ip="6.6.6.7")
    assert login(dw, "regulator").get(f"/disclosure/reports/{other.pk}/photo/").status_code == 404
    assert Client().get(f"/disclosure/reports/{rep.pk}/photo/").status_code == 302
