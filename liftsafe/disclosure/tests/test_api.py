"""Disclosure API: public projection and ticket status (anonymous, no personal data), staff routes per role."""
import json

from django.test import Client

from liftsafe.disclosure import services
from liftsafe.disclosure.models import PublicReport


def api(world, role=None) -> Client:
    c = Client()
    if role:
        c.force_login(world.users[role])
    return c


def test_public_lift_and_request(dw):
    r = services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", phone="13900001111", ip="8.8.8.8")
    body = api(dw).get(f"/api/disclosure/public/lifts/{dw.code['a1']}").json()
    assert body["rescue_code"] == dw.elevators["a1"].rescue_code and body["emergency_number"] == "96333"
    assert body["insurance"] == "unknown" and body["use_unit"]["name"] == "use_unit A"
    assert api(dw).get("/api/disclosure/public/lifts/ZZZZZZZZZ").status_code == 404
    assert api(dw).get("/api/disclosure/public/lifts/%00").status_code in (404, 422)
    t = api(dw).get(f"/api/disclosure/public/requests/{r.ticket}")
    assert t.status_code == 200 and t.json()["status"] == "new" and "13900001111" not in t.content.decode()
    assert api(dw).get("/api/disclosure/public/requests/nope").status_code == 404


def test_staff_routes(dw):
    r = services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", phone="13900001111", ip="8.8.8.8")
    assert api(dw).get("/api/disclosure/reports").status_code == 401
    assert api(dw, "operator").get("/api/disclosure/reports").status_code == 403
    items = api(dw, "use_unit").get("/api/disclosure/reports").json()["items"]
    assert [i["ticket"] for i in items] == [r.ticket] and items[0]["phone"] == "13900001111"
    mu = api(dw, "maintenance_unit")
    resp = mu.post(f"/api/disclosure/reports/{r.pk}/progress", json.dumps({"note": "on our way", "expected_on": "2000-01-01"}),
                   content_type="application/json")
    assert resp.status_code == 422 and "expected_on" in resp.json()["errors"]
    resp = mu.post(f"/api/disclosure/reports/{r.pk}/close", json.dumps({"note": "fixed"}), content_type="application/json")
    assert resp.status_code == 200 and resp.json()["state"] == "closed"
    resp = mu.post(f"/api/disclosure/reports/{r.pk}/close", json.dumps({"note": "again"}), content_type="application/json")
    assert resp.status_code == 422 and "state" in resp.json()["errors"]
    resp = mu.post(f"/api/disclosure/reports/{r.pk}/explode", json.dumps({}), content_type="application/json")
    assert resp.status_code == 422
    reg = api(dw, "regulator")
    resp = reg.put(f"/api/disclosure/publication/{dw.district_a.code}", json.dumps({"page": True, "accept_reports": False, "fields": ["units"]}),
                   content_type="application/json")
    assert resp.status_code == 200 and resp.json()["fields"] == ["units"]
    resp = reg.put(f"/api/disclosure/publication/{dw.district_a.code}", json.dumps({"fields": ["phones"]}), content_type="application/json")
    assert resp.status_code == 422
    assert reg.put(f"/api/disclosure/publication/{dw.district_b.code}", json.dumps({}), content_type="application/json").status_code == 404
    assert PublicReport.objects.get(pk=r.pk).state == "closed"


def test_public_api_lookups_are_rate_limited(dw, settings):
    settings.LIFTSAFE_RULES = {"disclosure_page_views_per_address_per_minute": 3}
    c = api(dw)
    got = [c.get(f"/api/disclosure/public/lifts/ZZZZZZZZ{i}").status_code for i in range(5)]
    assert got == [404, 404, 404, 429, 429]
