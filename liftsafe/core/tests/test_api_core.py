"""Core API: authentication (session, bearer token, anonymous), me, areas, tokens, error format, docs."""
import pytest
from django.contrib.auth.models import AnonymousUser  # noqa: F401
from django.test import Client

from liftsafe.core.models import ApiToken


def session(user, **kw):
    c = Client(**kw)
    c.force_login(user)
    return c


def bearer(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("url", ["/api/core/me", "/api/core/areas", "/api/core/tokens", "/api/registry/elevators",
                                 "/api/registry/organisations"])
def test_anonymous_gets_401_json(world, url):
    r = Client().get(url)
    assert r.status_code == 401
    assert r.json() == {"detail": "Unauthorized"}


def test_me_by_session_and_by_token(world):
    r = session(world.users["regulator"]).get("/api/core/me")
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "regulator" and body["area_path"] == world.district_a.path and body["auth"] == "session"
    _rec, token = ApiToken.issue(world.users["maintenance_unit"], "script")
    body = bearer(token).get("/api/core/me").json()
    assert body["username"] == "maintenance_unit" and body["auth"] == "token"
    assert body["organisation_id"] == world.orgs[("maintenance_unit", "a")].pk
    assert body["organisation_name"] == "maintenance_unit A"
    assert ApiToken.objects.get(name="script").last_used_at is not None


def test_bad_revoked_and_inactive_tokens_are_401(world):
    assert bearer("ls_not-a-token").get("/api/core/me").status_code == 401
    rec, token = ApiToken.issue(world.users["regulator"], "old")
    rec.revoked = True
    rec.save()
    assert bearer(token).get("/api/core/me").status_code == 401
    _rec, token2 = ApiToken.issue(world.users["operator"], "op")
    assert bearer(token2).get("/api/core/me").status_code == 200
    world.users["operator"].is_active = False
    world.users["operator"].save()
    assert bearer(token2).get("/api/core/me").status_code == 401


def test_token_lifecycle_issue_list_use_revoke(world):
    c = session(world.users["use_unit"])
    r = c.post("/api/core/tokens", {"name": "dashboard"}, content_type="application/json")
    assert r.status_code == 201
    issued = r.json()
    assert issued["token"].startswith("ls_") and issued["name"] == "dashboard"
    assert not ApiToken.objects.filter(digest=issued["token"]).exists()  # only the digest is stored
    assert bearer(issued["token"]).get("/api/core/me").json()["username"] == "use_unit"
    listed = c.get("/api/core/tokens").json()
    assert [t["name"] for t in listed] == ["dashboard"] and "token" not in listed[0]
    assert c.delete(f"/api/core/tokens/{issued['id']}").status_code == 204
    assert bearer(issued["token"]).get("/api/core/me").status_code == 401
    assert c.get("/api/core/tokens").json()[0]["revoked"] is True


def test_cannot_see_or_revoke_another_users_token(world):
    other, _t = ApiToken.issue(world.users["regulator"], "theirs")
    c = session(world.users["use_unit"])
    assert c.get("/api/core/tokens").json() == []
    assert c.delete(f"/api/core/tokens/{other.pk}").status_code == 404
    other.refresh_from_db()
    assert other.revoked is False


def test_token_name_required_is_422_naming_the_field(world):
    r = session(world.users["use_unit"]).post("/api/core/tokens", {"name": "  "}, content_type="application/json")
    assert r.status_code == 422
    assert "name" in r.json()["errors"]
    r = session(world.users["use_unit"]).post("/api/core/tokens", {}, content_type="application/json")
    assert r.status_code == 422 and "name" in r.json()["errors"]
    assert ApiToken.objects.count() == 0


def test_session_writes_need_csrf_token_writes_do_not(world):
    c = session(world.users["use_unit"], enforce_csrf_checks=True)
    r = c.post("/api/core/tokens", {"name": "x"}, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    c.get("/login/")  # sets the csrftoken cookie
    r = c.post("/api/core/tokens", {"name": "x"}, content_type="application/json",
               HTTP_X_CSRFTOKEN=c.cookies["csrftoken"].value)
    assert r.status_code == 201
    # a bearer-token client has no session cookie: no CSRF needed (on an endpoint a token may use)
    _rec, token = ApiToken.issue(world.users["regulator"], "sync")
    e = world.elevators["a1"]
    r = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}").patch(
        f"/api/registry/elevators/{e.pk}", {"address": "1 Test Road", "reason": "t"}, content_type="application/json")
    assert r.status_code == 200, r.content


@pytest.mark.parametrize("who,expected", [
    ("admin", {"320000", "320100", "320102", "320104"}),
    ("city_regulator", {"320100", "320102", "320104"}),
    ("regulator", {"320102"}),
    ("operator", {"320102"}),
    ("use_unit", {"320102"}),
    ("maintenance_unit", {"320102"}),
    ("nobody", set()),
])
def test_areas_are_scoped(world, who, expected):
    r = session(world.users[who]).get("/api/core/areas")
    assert r.status_code == 200
    assert {a["code"] for a in r.json()} == expected


def test_areas_level_filter(world):
    body = session(world.users["admin"]).get("/api/core/areas", {"level": "district"}).json()
    assert {a["code"] for a in body} == {"320102", "320104"}
    assert {a["parent_code"] for a in body} == {"320100"}


def test_openapi_docs_and_schema(world):
    c = Client()
    assert c.get("/api/docs").status_code == 200
    schema = c.get("/api/openapi.json").json()
    ops = {op["operationId"] for methods in schema["paths"].values() for op in methods.values()}
    assert {"core_me", "registry_elevator_list", "registry_elevator_update", "registry_elevator_export_csv"} <= ops
    assert "BearerAuth" in str(schema["components"]["securitySchemes"]) or "bearer" in str(schema["components"]).lower()
