"""The maintenance API through the real HTTP path: the worker's visit, countersign, error contract, verify."""
import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from liftsafe.maintenance.models import Visit


def client(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, body=None):
    return c.post(url, json.dumps(body or {}), content_type="application/json")


def test_worker_visit_countersign_and_verify_over_the_api(mw):
    w, su = client(mw.users["maintenance_unit"]), client(mw.users["use_unit"])
    vid = mw.visit.pk
    r = post(w, f"/api/maintenance/visits/{vid}/check-in", {"code": "100001", "method": "qr", "worker2": mw.users["worker2"].pk,
                                                            "device_id": "p1", "latitude": 32.0401, "longitude": 118.7901, "accuracy_m": 5})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "checked_in"
    r = post(w, f"/api/maintenance/visits/{vid}/items", {"results": {"Z-9-99": {"r": "normal"}}})
    assert r.status_code == 422 and list(r.json()["errors"]) == ["results.Z-9-99"]
    r = post(w, f"/api/maintenance/visits/{vid}/items", {"results": {"A-1-29": {"r": "normal", "value": 8.5}}})
    assert r.status_code == 200 and r.json()["results"]["A-1-29"]["value"] == 8.5
    r = post(su, f"/api/maintenance/visits/{vid}/countersign")
    assert r.status_code == 409 and "state" in r.json()["errors"]  # not checked out yet
    assert post(w, f"/api/maintenance/visits/{vid}/check-out").status_code == 200
    r = post(w, f"/api/maintenance/visits/{vid}/countersign")
    assert r.status_code == 403  # the maintenance unit may not sign for the use unit
    r = post(su, f"/api/maintenance/visits/{vid}/countersign")
    assert r.status_code == 200 and r.json()["frozen"] and r.json()["chain_seq"] == 1
    assert post(su, f"/api/maintenance/visits/{vid}/countersign").status_code == 409  # twice
    # frozen: no edit, no delete through the API
    r = post(w, f"/api/maintenance/visits/{vid}/items", {"results": {"A-1-01": {"r": "normal"}}})
    assert r.status_code == 422 and "frozen" in r.json()["errors"]
    r = w.delete(f"/api/maintenance/visits/{vid}")
    assert r.status_code == 422 and "frozen" in r.json()["errors"]
    r = client(mw.users["regulator"]).get(f"/api/maintenance/elevators/{mw.elevators['a1'].pk}/verify")
    assert r.status_code == 200 and r.json()["ok"] and r.json()["checked"] == 1
    assert Visit.objects.get(pk=vid).results["A-1-29"]["value"] == 8.5


def test_offline_api_three_times_one_visit_and_future_refused(mw):
    w = client(mw.users["maintenance_unit"])
    body = {"client_id": "phone-77", "elevator": mw.elevators["a1"].pk, "tier": "half_monthly", "code": "100001",
            "started_at": (timezone.now() - dt.timedelta(minutes=30)).isoformat(), "results": {"A-1-02": {"r": "normal"}}}
    codes = [post(w, "/api/maintenance/offline-visits", body).status_code for _ in range(3)]
    assert codes == [201, 200, 200] and Visit.objects.filter(client_id="phone-77").count() == 1
    body.update(client_id="phone-78", started_at=(timezone.now() + dt.timedelta(days=2)).isoformat())
    r = post(w, "/api/maintenance/offline-visits", body)
    assert r.status_code == 422 and "started_at" in r.json()["errors"]


def test_scoping_of_visit_reads(mw):
    vid = mw.visit.pk
    for name, code in [("maintenance_unit", 200), ("use_unit", 200), ("regulator", 200), ("inspection_agency", 200),
                       ("insurer", 200), ("nobody", 404)]:
        assert client(mw.users[name]).get(f"/api/maintenance/visits/{vid}").status_code == code, name
    # B's maintenance unit and B's use unit do not see A's lift
    from liftsafe.core.models import Role
    from liftsafe.testing import make_user
    for role, kind in ((Role.MAINTENANCE_UNIT, "maintenance_unit"), (Role.USE_UNIT, "use_unit")):
        u = make_user(f"b_{kind}", role, organisation=mw.orgs[(kind, "b")])
        assert client(u).get(f"/api/maintenance/visits/{vid}").status_code == 404
    # read-only roles cannot write
    r = post(client(mw.users["inspection_agency"]), f"/api/maintenance/visits/{vid}/check-in", {"code": "100001"})
    assert r.status_code == 403


def test_overdue_summary_for_regulator(mw):
    r = client(mw.users["regulator"]).get("/api/maintenance/overdue")
    assert r.status_code == 200
    rows = r.json()
    assert sum(x["count"] for x in rows) == 2  # a1, a2 in district A, never visited
    assert client(mw.users["maintenance_unit"]).get("/api/maintenance/overdue").status_code == 403
