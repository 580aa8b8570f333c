"""Registry API: search with every filter and pagination, detail, nested reads, writes through services."""
import datetime as dt

import pytest
from django.test import Client

from liftsafe.core.models import ApiToken
from liftsafe.testing import make_elevator
from liftsafe.registry.models import Elevator, LifecycleEvent, MaintenanceContract


def session(user, **kw):
    c = Client(**kw)
    c.force_login(user)
    return c


def ids(resp):
    assert resp.status_code == 200, resp.content
    return {row["source_id"] for row in resp.json()["items"]}


def patch(client, url, data, **kw):
    return client.patch(url, data, content_type="application/json", **kw)


def post(client, url, data, **kw):
    return client.post(url, data, content_type="application/json", **kw)


# --- search ---------------------------------------------------------------------------------

def test_list_is_scoped_and_paginated(world):
    c = session(world.users["admin"])
    r = c.get("/api/registry/elevators", {"limit": 3})
    body = r.json()
    assert body["count"] == 4 and len(body["items"]) == 3
    assert [i["source_id"] for i in body["items"]] == ["A1", "A2", "B1"]
    assert [i["source_id"] for i in c.get("/api/registry/elevators", {"limit": 3, "offset": 3}).json()["items"]] == ["B2"]
    assert ids(session(world.users["regulator"]).get("/api/registry/elevators")) == {"A1", "A2"}
    assert ids(session(world.users["nobody"]).get("/api/registry/elevators")) == set()


def test_limit_over_max_is_422_naming_limit(world):
    r = session(world.users["admin"]).get("/api/registry/elevators", {"limit": 501})
    assert r.status_code == 422
    assert "limit" in r.json()["errors"]


@pytest.mark.parametrize("params,expected", [
    ({"q": "31103201022014010001"}, {"A1"}),       # 注册代码
    ({"q": "100002"}, {"A2"}),                     # rescue code
    ({"q": "b1"}, {"B1"}),                         # source device number, case-insensitive
    ({"q": "A2 test"}, {"A2"}),                    # address prefix
    ({"q": "  b2   TEST  road "}, {"B2"}),         # spaces folded
    ({"q": "Test Road"}, set()),                   # prefix, not substring
    ({"area": "320104"}, {"B1", "B2"}),
    ({"area": "320100"}, {"A1", "A2", "B1", "B2"}),
    ({"area": "999999"}, set()),
    ({"category": "3110"}, {"A1", "A2", "B1", "B2"}),
    ({"category": "3310"}, set()),
    ({"status": "in_use"}, {"A1", "A2", "B1", "B2"}),
    ({"status": "stopped"}, set()),
    ({"source": "test"}, {"A1", "A2", "B1", "B2"}),
    ({"source": "nyc"}, set()),
])
def test_search_filters(world, params, expected):
    assert ids(session(world.users["admin"]).get("/api/registry/elevators", params)) == expected


def test_search_filters_by_org_and_place(world):
    c = session(world.users["admin"])
    Elevator.objects.filter(pk=world.elevators["a2"].pk).update(place_type=1)
    assert ids(c.get("/api/registry/elevators", {"place_type": 1})) == {"A2"}
    assert ids(c.get("/api/registry/elevators", {"use_unit": world.orgs[("use_unit", "b")].pk})) == {"B1", "B2"}
    # b2 was maintained by A's unit until 2020: the filter is on the current contract
    assert ids(c.get("/api/registry/elevators", {"maintenance_unit": world.orgs[("maintenance_unit", "a")].pk})) == {"A1", "A2"}


def test_filters_never_widen_the_scope(world):
    c = session(world.users["regulator"])
    assert ids(c.get("/api/registry/elevators", {"area": "320104"})) == set()
    assert ids(c.get("/api/registry/elevators", {"q": world.elevators["b1"].registration_code})) == set()
    assert ids(c.get("/api/registry/elevators", {"use_unit": world.orgs[("use_unit", "b")].pk})) == set()


@pytest.mark.parametrize("params,field", [({"status": "broken"}, "status"), ({"category": "9999"}, "category"),
                                          ({"place_type": "x"}, "place_type"), ({"use_unit": "abc"}, "use_unit")])
def test_bad_filter_is_422_naming_it(world, params, field):
    r = session(world.users["admin"]).get("/api/registry/elevators", params)
    assert r.status_code == 422
    body = r.json()
    assert field in body["errors"] and field in body["detail"]


# --- detail and nested -------------------------------------------------------------------------

def test_detail_with_organisations(world):
    a1 = world.elevators["a1"]
    body = session(world.users["use_unit"]).get(f"/api/registry/elevators/{a1.pk}").json()
    assert body["registration_code"] == a1.registration_code
    assert body["area"] == {"code": "320102", "name": "玄武区"}
    assert body["use_unit"]["name"] == "use_unit A"
    assert body["maintenance_unit"]["name"] == "maintenance_unit A"
    assert body["insurer"]["kind"] == "insurer"


def test_detail_and_nested_of_other_are_404(world):
    b1 = world.elevators["b1"]
    c = session(world.users["regulator"])
    for suffix in ("", "/contracts", "/lifecycle", "/history"):
        r = c.get(f"/api/registry/elevators/{b1.pk}{suffix}")
        assert r.status_code == 404, suffix
        assert r.json() == {"detail": "Not Found"}
    assert c.get("/api/registry/elevators/999999").status_code == 404


def test_contracts_lifecycle_history(world):
    b2 = world.elevators["b2"]
    LifecycleEvent.objects.create(elevator=b2, kind="installed", occurred_on=dt.date(2010, 5, 1), note="installed by X")
    c = session(world.users["admin"])
    contracts = c.get(f"/api/registry/elevators/{b2.pk}/contracts").json()
    assert [(x["maintenance_unit_name"], x["start_date"], x["end_date"]) for x in contracts] == [
        ("maintenance_unit B", "2021-01-01", None), ("maintenance_unit A", "2019-01-01", "2020-12-31")]
    life = c.get(f"/api/registry/elevators/{b2.pk}/lifecycle").json()
    assert [(e["kind"], e["occurred_on"], e["note"]) for e in life] == [("installed", "2010-05-01", "installed by X")]
    hist = c.get(f"/api/registry/elevators/{b2.pk}/history").json()
    assert hist[-1]["type"] == "+"
    assert {"field": "registration_code", "old": None, "new": b2.registration_code} in hist[-1]["changes"]


# --- writes -------------------------------------------------------------------------------------

def test_patch_by_regulator_records_who_when_before_after(world):
    a1 = world.elevators["a1"]
    c = session(world.users["regulator"])
    r = patch(c, f"/api/registry/elevators/{a1.pk}", {"floors": 12, "rated_load_kg": "1000", "reason": "survey 2026"})
    assert r.status_code == 200, r.content
    assert r.json()["floors"] == 12
    a1.refresh_from_db()
    assert a1.floors == 12 and a1.rated_load_kg == 1000
    latest = c.get(f"/api/registry/elevators/{a1.pk}/history").json()[0]
    assert latest["user"] == "regulator" and latest["reason"] == "survey 2026" and latest["type"] == "~"
    assert {"field": "floors", "old": None, "new": "12"} in latest["changes"]


def test_patch_with_one_bad_field_writes_nothing(world):
    a1 = world.elevators["a1"]
    before = a1.history.count()
    c = session(world.users["admin"])
    r = patch(c, f"/api/registry/elevators/{a1.pk}", {"address": "New Road 1", "rated_load_kg": "-5"})
    assert r.status_code == 422
    assert "rated_load_kg" in r.json()["errors"]
    a1.refresh_from_db()
    assert a1.address == "A1 Test Road" and a1.history.count() == before


@pytest.mark.parametrize("data,field", [
    ({"registration_code": "123"}, "registration_code"),
    ({"installation_date": "2099-01-01"}, "installation_date"),
    ({"category": "9999"}, "category"),
    ({"latitude": 123}, "latitude"),
    ({"floors": -1}, "floors"),
    ({"no_such_field": 1}, "no_such_field"),
    ({"area": "320104"}, "area"),                # outside the regulator's area
    ({"area": "000000"}, "area"),
    ({"use_unit": "x"}, "use_unit"),
    ({}, "__all__"),
])
def test_patch_validation_errors_name_the_field(world, data, field):
    a1 = world.elevators["a1"]
    r = patch(session(world.users["regulator"]), f"/api/registry/elevators/{a1.pk}", data)
    assert r.status_code == 422, r.content
    assert field in r.json()["errors"], r.json()


def test_patch_cannot_attach_an_organisation_outside_scope(world):
    a1 = world.elevators["a1"]
    r = patch(session(world.users["regulator"]), f"/api/registry/elevators/{a1.pk}", {"use_unit": world.orgs[("use_unit", "b")].pk})
    assert r.status_code == 422 and "use_unit" in r.json()["errors"]
    r = patch(session(world.users["regulator"]), f"/api/registry/elevators/{a1.pk}", {"use_unit": world.orgs[("insurer", "a")].pk})
    assert r.status_code == 422 and "use_unit" in r.json()["errors"]
    r = patch(session(world.users["city_regulator"]), f"/api/registry/elevators/{a1.pk}",
              {"use_unit": world.orgs[("use_unit", "b")].pk, "area": "320104"})
    assert r.status_code == 200
    a1.refresh_from_db()
    assert a1.use_unit == world.orgs[("use_unit", "b")] and a1.area == world.district_b


@pytest.mark.parametrize("who,side,status", [
    ("admin", "b1", 200), ("city_regulator", "b1", 200), ("regulator", "a1", 200), ("regulator", "b1", 404),
    ("operator", "a1", 403), ("maintenance_unit", "a1", 403), ("use_unit", "a1", 403), ("insurer", "a1", 403),
    ("nobody", "a1", 404),
])
def test_patch_permissions(world, who, side, status):
    e = world.elevators[side]
    r = patch(session(world.users[who]), f"/api/registry/elevators/{e.pk}", {"floors": 7})
    assert r.status_code == status, r.content
    e.refresh_from_db()
    assert (e.floors == 7) == (status == 200)
    if status != 200:
        assert "detail" in r.json()


def test_patch_anonymous_401_and_token_write(world):
    a1 = world.elevators["a1"]
    assert patch(Client(), f"/api/registry/elevators/{a1.pk}", {"floors": 3}).status_code == 401
    _rec, token = ApiToken.issue(world.users["regulator"], "sync")
    c = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert patch(c, f"/api/registry/elevators/{a1.pk}", {"floors": 3}).status_code == 200
    a1.refresh_from_db()
    assert a1.floors == 3
    assert a1.history.first().history_user == world.users["regulator"]
    # a session without the CSRF token may not write
    s = session(world.users["regulator"], enforce_csrf_checks=True)
    assert patch(s, f"/api/registry/elevators/{a1.pk}", {"floors": 4}).status_code == 403


def test_status_change_adds_lifecycle_and_scrapped_is_final(world):
    a1 = world.elevators["a1"]
    c = session(world.users["regulator"])
    r = post(c, f"/api/registry/elevators/{a1.pk}/status", {"status": "stopped", "on": "2026-11-20", "reason": "hazard order"})
    assert r.status_code == 200 and r.json()["status"] == "stopped"
    assert LifecycleEvent.objects.filter(elevator=a1, kind="stopped", occurred_on=dt.date(2026, 11, 20)).exists()
    assert post(c, f"/api/registry/elevators/{a1.pk}/status", {"status": "scrapped", "reason": "old"}).status_code == 200
    r = post(c, f"/api/registry/elevators/{a1.pk}/status", {"status": "in_use", "reason": "back"})
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = post(c, f"/api/registry/elevators/{a1.pk}/status", {"status": "flying", "reason": "x"})
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = post(c, f"/api/registry/elevators/{a1.pk}/status", {"status": "stopped"})
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    assert post(session(world.users["operator"]), f"/api/registry/elevators/{world.elevators['a2'].pk}/status",
                {"status": "stopped", "reason": "x"}).status_code == 403


def test_contract_create_and_overlap(world):
    a1 = world.elevators["a1"]
    c = session(world.users["admin"])
    unit_b = world.orgs[("maintenance_unit", "b")]
    r = post(c, f"/api/registry/elevators/{a1.pk}/contracts", {"maintenance_unit": unit_b.pk, "start_date": "2026-01-01", "contract_no": "HT-9"})
    assert r.status_code == 201, r.content
    assert r.json()["maintenance_unit_name"] == "maintenance_unit B"
    old = MaintenanceContract.objects.get(elevator=a1, start_date=dt.date(2020, 1, 1))
    assert old.end_date == dt.date(2025, 12, 31)  # superseded
    r = post(c, f"/api/registry/elevators/{a1.pk}/contracts", {"maintenance_unit": unit_b.pk, "start_date": "2025-06-01", "end_date": "2025-07-01"})
    assert r.status_code == 422 and "start_date" in r.json()["errors"]
    r = post(c, f"/api/registry/elevators/{a1.pk}/contracts", {"maintenance_unit": world.orgs[("insurer", "a")].pk, "start_date": "2027-01-01"})
    assert r.status_code == 422 and "maintenance_unit" in r.json()["errors"]
    r = post(c, f"/api/registry/elevators/{a1.pk}/contracts", {"maintenance_unit": unit_b.pk, "start_date": "2027-02-01", "end_date": "2027-01-01"})
    assert r.status_code == 422 and "end_date" in r.json()["errors"]
    assert MaintenanceContract.objects.filter(elevator=a1).count() == 2


def test_contract_with_maintenance_unit_outside_scope_is_422(world):
    a1 = world.elevators["a1"]
    r = post(session(world.users["regulator"]), f"/api/registry/elevators/{a1.pk}/contracts",
             {"maintenance_unit": world.orgs[("maintenance_unit", "b")].pk, "start_date": "2026-01-01"})
    assert r.status_code == 422 and "maintenance_unit" in r.json()["errors"]
    assert MaintenanceContract.objects.filter(elevator=a1).count() == 1


def test_lifecycle_add(world):
    a1 = world.elevators["a1"]
    c = session(world.users["regulator"])
    r = post(c, f"/api/registry/elevators/{a1.pk}/lifecycle", {"kind": "major_repair", "occurred_on": "2025-03-02", "note": "new ropes"})
    assert r.status_code == 201 and r.json()["kind"] == "major_repair"
    r = post(c, f"/api/registry/elevators/{a1.pk}/lifecycle", {"kind": "teleported", "occurred_on": "2025-03-02"})
    assert r.status_code == 422 and "kind" in r.json()["errors"]
    r = post(c, f"/api/registry/elevators/{a1.pk}/lifecycle", {"kind": "modified", "occurred_on": "2099-03-02"})
    assert r.status_code == 422 and "occurred_on" in r.json()["errors"]
    assert post(session(world.users["use_unit"]), f"/api/registry/elevators/{a1.pk}/lifecycle",
                {"kind": "modified", "occurred_on": "2025-01-01"}).status_code == 403
    assert list(LifecycleEvent.objects.filter(elevator=a1).values_list("kind", flat=True)) == ["major_repair"]


# --- organisations -------------------------------------------------------------------------------

def test_organisations_scoped(world):
    names = lambda r: {o["name"] for o in r.json()["items"]}  # noqa: E731
    reg = session(world.users["regulator"]).get("/api/registry/organisations")
    assert names(reg) == {"use_unit A", "maintenance_unit A", "inspection_agency A", "insurer A", "rescue_station A"}
    assert names(session(world.users["use_unit"]).get("/api/registry/organisations")) == {"use_unit A"}
    assert names(session(world.users["nobody"]).get("/api/registry/organisations")) == set()
    admin = session(world.users["admin"])
    assert names(admin.get("/api/registry/organisations", {"kind": "insurer"})) == {"insurer A", "insurer B"}
    assert names(admin.get("/api/registry/organisations", {"q": "消防"})) == {"南京消防"}
    r = admin.get("/api/registry/organisations", {"kind": "bank"})
    assert r.status_code == 422 and "kind" in r.json()["errors"]


def test_organisation_detail_scoped(world):
    b = world.orgs[("use_unit", "b")]
    assert session(world.users["admin"]).get(f"/api/registry/organisations/{b.pk}").json()["area_code"] == "320104"
    assert session(world.users["regulator"]).get(f"/api/registry/organisations/{b.pk}").status_code == 404
    assert session(world.users["use_unit"]).get(f"/api/registry/organisations/{world.orgs[('use_unit', 'a')].pk}").status_code == 200


def test_new_elevator_appears_in_search_for_its_area_only(world):
    make_elevator("A9", world.district_a, address="9 Zhongshan Road")
    assert ids(session(world.users["regulator"]).get("/api/registry/elevators", {"q": "9 zhongshan"})) == {"A9"}
    assert ids(session(world.users["maintenance_unit"]).get("/api/registry/elevators", {"q": "9 zhongshan"})) == set()


def test_count_is_capped_for_huge_results(world, monkeypatch):
    from liftsafe.registry import api as registry_api

    monkeypatch.setattr(registry_api, "COUNT_CAP", 3)
    c = session(world.users["admin"])
    body = c.get("/api/registry/elevators", {"limit": 2}).json()
    assert (body["count"], body["count_exact"], len(body["items"])) == (3, False, 2)
    body = c.get("/api/registry/elevators", {"limit": 2, "offset": 2}).json()  # paging past the cap counts for real
    assert (body["count"], body["count_exact"], [i["source_id"] for i in body["items"]]) == (4, True, ["B1", "B2"])
    body = c.get("/api/registry/elevators", {"area": "320102"}).json()
    assert (body["count"], body["count_exact"]) == (2, True)
