"""Insurance pages and API per role: insurer's policies and claims, regulator's gaps, the elevator-file panel."""
import datetime as dt
import json

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from liftsafe.core import panels
from liftsafe.insurance import services
from liftsafe.insurance.models import Claim, Policy

from .conftest import entrapment, make_policy


def client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def cw(iw):
    entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=130), persons=2)
    entrapment(iw, iw.elevators["b1"], dt.timedelta(minutes=130), persons=2)
    services.claims_suggest()
    iw.claim_a = Claim.objects.get(elevator=iw.elevators["a1"])
    iw.claim_b = Claim.objects.get(elevator=iw.elevators["b1"])
    return iw


def test_insurer_sees_own_claims_and_files_on_the_page(cw):
    c = client(cw.users["insurer"])
    page = c.get("/insurance/claims/").content.decode()
    assert cw.claim_a.case.order_number in page and cw.claim_b.case.order_number not in page
    detail = c.get(f"/insurance/claims/{cw.claim_a.pk}/").content.decode()
    assert "/do/file/" in detail and "/do/pay/" not in detail and "1000" in detail  # 2 × ¥500
    assert c.get(f"/insurance/claims/{cw.claim_b.pk}/").status_code == 404
    r = c.post(f"/insurance/claims/{cw.claim_a.pk}/do/file/", {"persons": "2", "amount": "1000"})
    assert r.status_code == 302
    assert Claim.objects.get(pk=cw.claim_a.pk).state == "filed"
    detail = c.get(f"/insurance/claims/{cw.claim_a.pk}/").content.decode()
    assert "/do/pay/" in detail and "/do/refuse/" in detail and "/do/file/" not in detail


def test_page_errors_name_the_field_and_keep_the_state(cw):
    c = client(cw.users["insurer"])
    r = c.post(f"/insurance/claims/{cw.claim_a.pk}/do/file/", {"persons": "abc"}, follow=True)
    assert Claim.objects.get(pk=cw.claim_a.pk).state == "suggested"
    assert "人数" in r.content.decode() or "people" in r.content.decode().lower()
    r = c.post(f"/insurance/claims/{cw.claim_a.pk}/do/refuse/", {"reason": ""}, follow=True)
    assert r.status_code == 200 and Claim.objects.get(pk=cw.claim_a.pk).state == "suggested"
    r = c.post(f"/insurance/claims/{cw.claim_a.pk}/do/nonsense/", {}, follow=True)
    assert r.status_code == 200 and Claim.objects.get(pk=cw.claim_a.pk).state == "suggested"


def test_regulator_reads_claims_but_cannot_file(cw):
    c = client(cw.users["regulator"])
    detail = c.get(f"/insurance/claims/{cw.claim_a.pk}/").content.decode()
    assert "/do/file/" not in detail
    c.post(f"/insurance/claims/{cw.claim_a.pk}/do/file/", {"persons": "2"})
    assert Claim.objects.get(pk=cw.claim_a.pk).state == "suggested"


def test_gaps_page_counts_uninsured_lifts(world):
    today = timezone.localdate()
    make_policy(world, "a", lifts=[world.elevators["a1"]])
    make_policy(world, "a", lifts=[world.elevators["a2"]], start=today - dt.timedelta(days=400), end=today - dt.timedelta(days=1))
    page = client(world.users["regulator"]).get("/insurance/gaps/").content.decode()
    assert world.elevators["a2"].address in page and world.elevators["a1"].address not in page
    assert world.elevators["b1"].address not in page  # another district
    city = client(world.users["city_regulator"]).get("/insurance/gaps/").content.decode()
    assert world.elevators["b1"].address in city
    for role in ("insurer", "use_unit", "maintenance_unit", "operator"):
        assert client(world.users[role]).get("/insurance/gaps/").status_code == 403


def test_api_gaps_by_area(world):
    make_policy(world, "a", lifts=[world.elevators["a1"]])
    rows = client(world.users["city_regulator"]).get("/api/insurance/gaps").json()
    by_area = {r["area_id"]: r for r in rows}
    assert by_area[world.district_a.pk]["uninsured"] == 1 and by_area[world.district_a.pk]["in_use"] == 2
    assert by_area[world.district_b.pk]["uninsured"] == 2
    lifts = client(world.users["regulator"]).get("/api/insurance/gaps/lifts").json()["items"]
    assert [x["id"] for x in lifts] == [world.elevators["a2"].pk]


def test_api_claim_flow_and_errors(cw):
    c = client(cw.users["insurer"])
    url = f"/api/insurance/claims/{cw.claim_a.pk}"
    body = c.get(url).json()
    assert body["state"] == "suggested" and body["actions"] == ["file", "refuse"] and body["band"] == "over_2h"
    r = c.post(url + "/pay", json.dumps({}), content_type="application/json")
    assert r.status_code == 422 and "state" in r.json()["errors"]
    r = c.post(url + "/file", json.dumps({"persons": 0}), content_type="application/json")
    assert r.status_code == 422 and "persons" in json.dumps(r.json()["errors"])
    r = c.post(url + "/file", json.dumps({"persons": 2, "amount": "999999999"}), content_type="application/json")
    assert r.status_code == 422 and "amount" in r.json()["errors"]
    r = c.post(url + "/file", json.dumps({"persons": 2}), content_type="application/json")
    assert r.status_code == 200 and r.json()["claimed_amount"] in ("1000.00", 1000, "1000")
    r = c.post(url + "/pay", json.dumps({"amount": "1000"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "paid"
    assert c.post(f"/api/insurance/claims/{cw.claim_b.pk}/file", "{}", content_type="application/json").status_code == 404
    r = client(cw.users["use_unit"]).post(url + "/refuse", json.dumps({"reason": "x"}), content_type="application/json")
    assert r.status_code == 403


def test_api_policy_create_and_read(world):
    today = timezone.localdate()
    payload = {"insurer": world.orgs[("insurer", "a")].pk, "policy_no": "P-1", "insured_party": world.orgs[("maintenance_unit", "a")].pk,
               "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=364)).isoformat(),
               "limit_per_person": "150000", "limit_per_accident": "1500000", "elevators": [world.elevators["a1"].pk]}
    r = client(world.users["regulator"]).post("/api/insurance/policies", json.dumps(payload), content_type="application/json")
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert r.json()["elevator_ids"] == [world.elevators["a1"].pk]
    bad = dict(payload, policy_no="P-2", elevators=[world.elevators["b1"].pk])
    r = client(world.users["regulator"]).post("/api/insurance/policies", json.dumps(bad), content_type="application/json")
    assert r.status_code == 422 and "elevators" in r.json()["errors"]
    r = client(world.users["insurer"]).post("/api/insurance/policies", json.dumps(dict(payload, policy_no="P-3")), content_type="application/json")
    assert r.status_code == 403
    # the insurer reads its policy, the maintenance unit (the insured party) too, an operator not
    assert client(world.users["insurer"]).get(f"/api/insurance/policies/{pid}").status_code == 200
    assert client(world.users["maintenance_unit"]).get(f"/api/insurance/policies/{pid}").status_code == 200
    assert client(world.users["operator"]).get(f"/api/insurance/policies/{pid}").status_code == 404
    assert client(world.users["operator"]).get("/api/insurance/policies").json()["items"] == []
    assert Policy.objects.count() == 1


def test_policy_page_form(world):
    c = client(world.users["regulator"])
    assert c.get("/insurance/policies/new/").status_code == 200
    today = timezone.localdate()
    data = {"insurer": world.orgs[("insurer", "a")].pk, "policy_no": "PG-1", "insured_party": world.orgs[("use_unit", "a")].pk,
            "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=30)).isoformat(),
            "limit_per_person": "100000", "limit_per_accident": "500000", "elevators": f"{world.elevators['a1'].pk}, {world.elevators['a2'].pk}"}
    r = c.post("/insurance/policies/new/", dict(data, elevators="a1 x"))
    assert r.status_code == 200 and not Policy.objects.exists()
    r = c.post("/insurance/policies/new/", dict(data, end_date="2020-13-01"))
    assert r.status_code == 200 and not Policy.objects.exists()
    r = c.post("/insurance/policies/new/", data)
    assert r.status_code == 302 and Policy.objects.get().elevators.count() == 2
    p = Policy.objects.get()
    page = c.get(f"/insurance/policies/{p.pk}/").content.decode()
    assert "PG-1" in page and world.elevators["a1"].address in page
    assert client(world.users["insurer"]).get("/insurance/policies/new/").status_code == 403
    hist = c.get(f"/history/insurance/policy/{p.pk}/")
    assert hist.status_code == 200


def test_claim_history_page(cw):
    services.claim_transition(cw.users["insurer"], cw.claim_a.pk, "file")
    r = client(cw.users["insurer"]).get(f"/history/insurance/claim/{cw.claim_a.pk}/")
    assert r.status_code == 200


def test_elevator_file_panel(cw):
    panel = panels.get("insurance")
    assert panel is not None
    e = cw.elevators["a1"]
    ctx = panel.context(cw.users["insurer"], e)
    assert ctx["insured"] and [p.pk for p in ctx["in_force"]] == [cw.policy_a.pk] and ctx["claims"]
    html = render_to_string(panel.template, {"elevator": e, "panel": panel, **ctx})
    assert cw.policy_a.policy_no in html and cw.claim_a.case.order_number in html
    assert panel.context(cw.users["operator"], e) is None
    assert panel.context(cw.users["inspection_agency"], e) is None
    e2 = cw.elevators["a2"]
    cw.policy_a.elevators.remove(e2)
    ctx = panel.context(cw.users["regulator"], e2)
    assert ctx["insured"] is False
    headers, rows = panel.export(cw.users["regulator"], e)
    assert rows and rows[0][0] == cw.policy_a.policy_no


def test_bands_api(world):
    rows = client(world.users["insurer"]).get("/api/insurance/bands").json()
    assert [r["key"] for r in rows] == ["30m_1h", "1h_1h30", "1h30_2h", "over_2h"]
    assert rows[0]["from_inclusive"] is True and rows[1]["from_inclusive"] is False and rows[-1]["to_s"] is None


def test_claims_are_read_only_in_the_admin(cw):
    c = client(cw.users["admin"])
    assert c.get(f"/admin/insurance/claim/{cw.claim_a.pk}/change/").status_code == 200  # view only
    r = c.post(f"/admin/insurance/claim/{cw.claim_a.pk}/change/", {"state": "paid"})
    assert r.status_code == 403 and Claim.objects.get(pk=cw.claim_a.pk).state == "suggested"
    assert c.post(f"/admin/insurance/claim/{cw.claim_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Claim.objects.filter(pk=cw.claim_a.pk).exists()
