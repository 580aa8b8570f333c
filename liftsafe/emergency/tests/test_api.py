"""Emergency JSON API: intake (by rescue code), dispatch, milestones, cause, reads, errors."""
import pytest
from django.test import Client

from liftsafe.core.models import ApiToken
from liftsafe.emergency.models import EmergencyCase


def client_for(user):
    _, token = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def post(c, url, data):
    return c.post(url, data, content_type="application/json")


@pytest.fixture
def op(world):
    return client_for(world.users["operator"])


def test_intake_dispatch_follow_to_completion(world, op):
    r = post(op, "/api/emergency/cases", {"rescue_code": "100001", "channel": "phone_96333", "case_type": "entrapment",
                                          "trapped_count": 2, "caller_phone": "13812345678", "idempotency_key": "tap-1"})
    assert r.status_code == 201, r.content
    case = r.json()["case"]
    assert case["elevator_id"] == world.elevators["a1"].pk and case["state"] == "received"
    assert op.get(f"/api/emergency/cases/{case['id']}").json()["status_code"] == "01"
    again = post(op, "/api/emergency/cases", {"rescue_code": "100001", "channel": "phone_96333", "case_type": "entrapment",
                                              "idempotency_key": "tap-1"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    pk = case["id"]
    r = post(op, f"/api/emergency/cases/{pk}/dispatch", {"level": 1})
    assert r.status_code == 200 and r.json()["responder_id"] == world.orgs[("maintenance_unit", "a")].pk
    mu = client_for(world.users["maintenance_unit"])
    assert post(mu, f"/api/emergency/cases/{pk}/milestones", {"kind": "responded"}).status_code == 201
    assert post(mu, f"/api/emergency/cases/{pk}/milestones", {"kind": "arrived"}).status_code == 201
    bad = post(mu, f"/api/emergency/cases/{pk}/milestones", {"kind": "released", "released_count": 5})
    assert bad.status_code == 422 and "released_count" in bad.json()["errors"]
    assert post(mu, f"/api/emergency/cases/{pk}/milestones", {"kind": "released", "released_count": 2}).status_code == 201
    bad = post(mu, f"/api/emergency/cases/{pk}/cause", {"cause_class": "human", "cause_item": "power_cut"})
    assert bad.status_code == 422 and "cause_item" in bad.json()["errors"]
    assert post(mu, f"/api/emergency/cases/{pk}/cause", {"cause_class": "human", "cause_item": "overload"}).status_code == 200
    assert post(op, f"/api/emergency/cases/{pk}/milestones", {"kind": "completed"}).status_code == 201
    d = op.get(f"/api/emergency/cases/{pk}").json()
    assert d["state"] == "completed" and d["status_code"] == "00" and d["released_count"] == 2
    assert d["durations"]["on_site_rescue"] is not None
    tl = op.get(f"/api/emergency/cases/{pk}/timeline").json()
    assert [m["kind"] for m in tl] == ["received", "dispatched", "responded", "arrived", "released", "completed"]
    up = op.get("/api/emergency/upload").json()
    assert up["items"][0]["deal_status"] == "00"


def test_intake_errors_and_scope(world, op):
    r = post(op, "/api/emergency/cases", {"rescue_code": "999999", "channel": "phone_96333", "case_type": "entrapment"})
    assert r.status_code == 422 and "rescue_code" in r.json()["errors"]
    r = post(op, "/api/emergency/cases", {"rescue_code": "100003", "channel": "phone_96333", "case_type": "entrapment"})
    assert r.status_code == 422  # district B's elevator is not in the operator's area
    r = post(op, "/api/emergency/cases", {"elevator_id": world.elevators["a1"].pk, "channel": "pager", "case_type": "entrapment"})
    assert r.status_code == 422 and "channel" in r.json()["errors"]
    reg = client_for(world.users["regulator"])
    r = post(reg, "/api/emergency/cases", {"elevator_id": world.elevators["a1"].pk, "channel": "phone_96333", "case_type": "entrapment"})
    assert r.status_code == 403
    assert not EmergencyCase.objects.exists()


def test_masking_in_api_and_board(world, op):
    r = post(op, "/api/emergency/cases", {"rescue_code": "100001", "channel": "phone_96333", "case_type": "entrapment",
                                          "caller_phone": "13812345678", "dispatch": True})
    pk = r.json()["case"]["id"]
    assert r.json()["case"]["level"] == 1 and r.json()["case"]["caller_phone"] == "13812345678"
    reg = client_for(world.users["regulator"])
    assert reg.get(f"/api/emergency/cases/{pk}").json()["caller_phone"] == "138****5678"
    assert reg.get("/api/emergency/cases").json()["items"][0]["caller_phone"] == "138****5678"
    assert client_for(world.users["rescue_station"]).get(f"/api/emergency/cases/{pk}").status_code == 404
    board = reg.get("/api/emergency/board").json()
    assert [c["id"] for c in board["cases"]] == [pk] and "13812345678" not in str(board)
    assert len(op.get("/api/emergency/causes").json()) >= 6
