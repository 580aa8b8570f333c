"""Rating pages and API per role: the due-process loop over the API with its refusals as HTTP codes and field-named
errors, the pages each role gets (forms only for what the user may do now), and the anonymous public projection."""
import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from liftsafe.rating.models import Rating
from liftsafe.rating.sheets import FUJIAN_YEARLY
from liftsafe.registry.models import Organisation


def _client(user=None):
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _post(c, url, data=None):
    return c.post(url, json.dumps(data or {}), content_type="application/json")


def _last_month():
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=15)


def test_api_due_process_loop(world):
    reg, city, mu = (_client(world.users[k]) for k in ("regulator", "city_regulator", "maintenance_unit"))
    r = _post(reg, "/api/rating/run", {"sheet": "city_monthly", "on": _last_month().isoformat()})
    assert r.status_code == 201, r.content
    mine = next(x for x in r.json() if x["unit_id"] == world.orgs[("maintenance_unit", "a")].pk)
    assert mine["actions"] == ["publish"] and mine["state"] == "draft"
    listed = reg.get("/api/rating/ratings?state=draft").json()["items"]
    assert {x["id"]: (x["actions"], x["unit_name"]) for x in listed}[mine["id"]] == (["publish"], "maintenance_unit A")
    assert _client(world.users["use_unit"]).get(f"/api/rating/ratings/{mine['id']}").status_code == 403
    assert mu.get(f"/api/rating/ratings/{mine['id']}").status_code == 404  # a draft is not the unit's yet
    assert _post(reg, f"/api/rating/ratings/{mine['id']}/publish").status_code == 200
    got = mu.get(f"/api/rating/ratings/{mine['id']}").json()
    assert got["actions"] == ["object", "reply"] and got["objection_until"] == (timezone.localdate() + dt.timedelta(days=21)).isoformat()
    assert _post(mu, f"/api/rating/ratings/{mine['id']}/object", {"text": ""}).json()["errors"].keys() == {"text"}
    assert _post(mu, f"/api/rating/ratings/{mine['id']}/object", {"text": "power cut"}).status_code == 201
    refused = _post(reg, f"/api/rating/ratings/{mine['id']}/decide", {"decision": "upheld", "reasons": "mine"})
    assert refused.status_code == 403  # the scorer
    bad = _post(city, f"/api/rating/ratings/{mine['id']}/decide", {"decision": "maybe", "reasons": "x"})
    assert bad.status_code == 422
    ok = _post(city, f"/api/rating/ratings/{mine['id']}/decide", {"decision": "upheld", "reasons": "checked"})
    assert ok.status_code == 200 and ok.json()["state"] == "decided"
    assert _post(mu, f"/api/rating/ratings/{mine['id']}/reply", {"text": "we improved"}).status_code == 200
    pub = _client().get("/api/rating/public").json()
    row = next(p for p in pub if p["unit_name"] == "maintenance_unit A")
    assert row["reply"] == "we improved" and row["grade"] == mine["grade"] and "power cut" not in json.dumps(pub)


def test_api_sheet_validation_names_the_field(world):
    reg = _client(world.users["regulator"])
    cfg = dict(FUJIAN_YEARLY, code="gappy", bands=[{"grade": "A", "min": None, "max": 10}, {"grade": "B", "min": 11, "max": None}])
    r = _post(reg, "/api/rating/sheets", {"config": cfg})
    assert r.status_code == 422 and "bands[1].min" in r.json()["errors"]
    assert _post(_client(world.users["maintenance_unit"]), "/api/rating/sheets", {"config": cfg}).status_code == 403
    codes = {s["code"] for s in reg.get("/api/rating/sheets").json()}
    assert {"city_monthly", "fujian_yearly", "hk_indices"} <= codes


def test_api_objection_after_the_window(world):
    reg = _client(world.users["regulator"])
    rid = next(x["id"] for x in _post(reg, "/api/rating/run", {"sheet": "city_monthly", "on": _last_month().isoformat()}).json()
               if x["unit_id"] == world.orgs[("maintenance_unit", "a")].pk)
    _post(reg, f"/api/rating/ratings/{rid}/publish")
    Rating.objects.filter(pk=rid).update(objection_until=timezone.localdate() - dt.timedelta(days=1))
    r = _post(_client(world.users["maintenance_unit"]), f"/api/rating/ratings/{rid}/object", {"text": "late"})
    assert r.status_code == 422 and "filed_at" in r.json()["errors"]


def test_pages_per_role(world):
    empty = Organisation.objects.create(kind="maintenance_unit", name="无电梯维保公司", area=world.district_a)
    reg = _client(world.users["regulator"])
    page = reg.get("/rating/").content.decode()
    assert 'id="run-form"' in page
    assert reg.post("/rating/run/", {"sheet": "city_monthly", "on": _last_month().isoformat()}).status_code == 302
    none = Rating.objects.get(unit=empty)
    detail = reg.get(f"/rating/{none.pk}/").content.decode()
    assert "不予评级" in detail and 'id="act-publish"' in detail  # zh-Hans by default: "not rated"
    assert reg.post(f"/rating/{none.pk}/do/publish/").status_code == 302
    mu_page = _client(world.users["maintenance_unit"]).get("/rating/").content.decode()
    assert 'id="run-form"' not in mu_page and "无电梯维保公司" not in mu_page
    assert _client(world.users["use_unit"]).get("/rating/").status_code == 403
    public = _client().get("/public/ratings/")
    assert public.status_code == 200 and "无电梯维保公司" in public.content.decode() and "不予评级" in public.content.decode()
    # a bad date on the run form is a message naming the field, not a 500
    r = reg.post("/rating/run/", {"sheet": "city_monthly", "on": "31/12/2025"}, follow=True)
    assert r.status_code == 200 and "YYYY-MM-DD" in r.content.decode()


def test_sheet_page_shows_what_is_computable_and_saves_validated_json(world):
    from liftsafe.rating.services import ensure_shipped_sheets

    ensure_shipped_sheets()  # the data migration's work (test databases may be built without migrations)
    reg = _client(world.users["regulator"])
    page = reg.get("/rating/sheets/").content.decode()
    assert 'id="sheet-fujian_yearly"' in page and "否：显示为未知" in page and 'id="sheet-form"' in page
    assert 'id="sheet-form"' not in _client(world.users["maintenance_unit"]).get("/rating/sheets/").content.decode()
    cfg = dict(FUJIAN_YEARLY, code="page_sheet", bands=[{"grade": "A", "min": None, "max": 10}, {"grade": "B", "min": 11, "max": None}])
    r = reg.post("/rating/sheets/", {"config": json.dumps(cfg)})
    assert r.status_code == 200 and "10 与 11 之间有空档" in r.content.decode()  # the gap, named
    from liftsafe.rating.models import Sheet

    assert not Sheet.objects.filter(code="page_sheet").exists()
    assert reg.post("/rating/sheets/", {"config": "{not json"}).status_code == 200
    r = reg.post("/rating/sheets/", {"config": json.dumps(dict(FUJIAN_YEARLY, code="page_sheet"))})
    assert r.status_code == 302 and Sheet.objects.filter(code="page_sheet").exists()
    mu = _client(world.users["maintenance_unit"]).post("/rating/sheets/", {"config": json.dumps(dict(FUJIAN_YEARLY, code="mu_sheet"))})
    assert mu.status_code == 200 and not Sheet.objects.filter(code="mu_sheet").exists()
