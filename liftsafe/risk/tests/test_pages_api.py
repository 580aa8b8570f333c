"""Pages and API per role: the list with counts and filters, the "why" page with evidence links and history,
key periods through the page form (area-local times), the red list, the elevator-file panel, API errors."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from liftsafe.core import panels
from liftsafe.hazards.models import Hazard
from liftsafe.inspection.models import Validity
from liftsafe.risk.compute import recompute
from liftsafe.risk.models import KeyPeriod, RiskTask

from .conftest import make_case

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def scored(rw):
    a2 = rw.elevators["a2"]
    Validity.objects.create(elevator=a2, policy="x", state="failed")
    a2.place_type = 3
    a2.save()
    rw.cases = [make_case(a2, at=timezone.now() - dt.timedelta(days=3)) for _ in range(3)]
    rw.hazard = Hazard.objects.create(elevator=a2, area=a2.area, source="spot_check", title="t", state="open",
                                      deadline=timezone.localdate() - dt.timedelta(days=2))
    recompute(trigger="nightly")
    return rw


def test_list_counts_filters_and_csv(scored):
    c = _client(scored.users["regulator"])
    r = c.get("/risk/")
    body = r.content.decode()
    assert r.status_code == 200 and scored.elevators["a2"].registration_code in body
    assert scored.elevators["b1"].registration_code not in body  # other district
    assert "玄武区" in body and 'id="risk-counts"' in body
    r = c.get("/risk/", {"colour": "red"})
    rows = r.content.decode().split('id="risk-list"')[1]
    assert scored.elevators["a2"].registration_code in rows and scored.elevators["a1"].registration_code not in rows
    r = c.get("/risk/", {"colour": "purple"})
    assert r.status_code == 200 and "purple" in r.content.decode()  # refused with a message naming the value
    csv = c.get("/risk/", {"format": "csv", "colour": "red"}).content.decode()
    assert scored.elevators["a2"].registration_code in csv and scored.elevators["a1"].registration_code not in csv


def test_why_page_links_each_factor_to_its_evidence(scored):
    a2 = scored.elevators["a2"]
    r = _client(scored.users["regulator"]).get(f"/risk/elevators/{a2.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "risk-chip red" in body
    for case in scored.cases:
        assert f"/emergency/cases/{case.pk}/" in body
    assert f"/hazards/{scored.hazard.pk}/" in body and f"/inspection/elevators/{a2.pk}/" in body
    assert 'data-factor="insurance"' in body and "夜间全量计算" in body  # unknown factor listed; history with its trigger (zh-Hans)


def test_other_roles_refused(scored):
    for role in ("operator", "maintenance_unit", "use_unit", "insurer"):
        assert _client(scored.users[role]).get("/risk/").status_code == 403
    assert _client(scored.users["regulator"]).get(f"/risk/elevators/{scored.elevators['b1'].pk}/").status_code == 404


def test_key_period_form_in_area_local_time_and_edit(scored):
    c = _client(scored.users["regulator"])
    r = c.post("/risk/key-periods/", {"name": "春节", "starts_at": "2027-02-05T00:00", "ends_at": "2027-02-04T00:00",
                                      "areas": [scored.district_a.pk], "uplift_kind": "band"})
    assert r.status_code == 200 and not KeyPeriod.objects.exists()
    assert "ends at" in r.content.decode().lower() or "结束" in r.content.decode()
    r = c.post("/risk/key-periods/", {"name": "春节", "starts_at": "2027-02-05T00:00", "ends_at": "2027-02-12T00:00",
                                      "areas": [scored.district_a.pk], "place_types": ["3"], "uplift_kind": "points",
                                      "uplift_points": "5"})
    p = KeyPeriod.objects.get()
    assert r.status_code == 302 and p.place_types == [3] and p.uplift_points == 5
    assert timezone.localtime(p.starts_at, dt.timezone(dt.timedelta(hours=8))).hour == 0  # Nanjing local midnight
    r = c.post(f"/risk/key-periods/{p.pk}/", {"name": "春节假期", "starts_at": "2027-02-05T00:00", "ends_at": "2027-02-13T00:00",
                                             "areas": [scored.district_a.pk], "uplift_kind": "band", "version": "1"})
    p.refresh_from_db()
    assert r.status_code == 302 and p.name == "春节假期" and p.version == 2 and p.uplift_kind == "band"


def test_red_list_page_creates_tasks_once(scored):
    c = _client(scored.users["regulator"])
    assert "none yet" in c.get("/risk/red-list/").content.decode() or "尚无" in c.get("/risk/red-list/").content.decode()
    c.post("/risk/red-list/tasks/")
    c.post("/risk/red-list/tasks/")
    t = RiskTask.objects.get()
    assert t.elevator == scored.elevators["a2"] and f"/hazards/{t.hazard_id}/" in c.get("/risk/red-list/").content.decode()


def test_elevator_file_panel(scored):
    p = panels.get("risk")
    ctx = p.context(scored.users["regulator"], scored.elevators["a2"])
    assert ctx["score"].colour == "red" and ctx["reasons"][0]["points"] >= ctx["reasons"][-1]["points"]
    assert p.context(scored.users["use_unit"], scored.elevators["a2"]) is None
    headers, rows = p.export(scored.users["regulator"], scored.elevators["a2"])
    assert len(rows) == 12 and len(headers) == 4


def test_api_detail_list_counts_and_errors(scored):
    c = _client(scored.users["regulator"])
    a2 = scored.elevators["a2"]
    d = c.get(f"/api/risk/elevators/{a2.pk}").json()
    assert d["colour"] == "red" and d["factors"][0]["points"] > 0 and d["history"][0]["trigger"] == "nightly"
    assert any(link["url"] == f"/hazards/{scored.hazard.pk}/" for f in d["factors"] for link in f["links"])
    lst = c.get("/api/risk/scores", {"colour": "red"}).json()
    assert lst["count"] == 1 and lst["items"][0]["elevator_id"] == a2.pk
    counts = c.get("/api/risk/counts").json()
    assert counts == [{"area_id": scored.district_a.pk, "area": "玄武区", "total": 2, "blue": 1, "yellow": 0, "orange": 0, "red": 1}]
    r = c.get("/api/risk/scores", {"colour": "purple"})
    assert r.status_code == 422
    r = c.get("/api/risk/scores", {"area": "999999"})
    assert r.status_code == 422 and "area" in r.json()["errors"]
    r = c.post("/api/risk/key-periods", json.dumps({"name": "x", "starts_at": "2027-01-02T00:00:00+08:00",
                                                    "ends_at": "2027-01-01T00:00:00+08:00", "areas": [scored.district_a.pk]}),
               content_type="application/json")
    assert r.status_code == 422 and "ends_at" in r.json()["errors"]
    assert c.get("/api/risk/matrix", {"severity": "2", "probability": "C"}).json() == {"severity": "2", "probability": "C", "group": "II", "colour": "yellow"}
    assert c.get("/api/risk/matrix", {"severity": "7", "probability": "C"}).status_code == 422
    assert c.get("/api/risk/model").json()["bands"][-1] == {"colour": "red", "lower": 60.0, "upper": None}
    made = c.post("/api/risk/tasks", "{}", content_type="application/json").json()
    assert len(made) == 1 and c.post("/api/risk/tasks", "{}", content_type="application/json").json() == []


def test_times_on_the_why_page_are_in_the_lifts_local_time(rw):
    """A New York lift's score times read in New York time (the area's zone), not the deployment's Beijing time."""
    from liftsafe.risk.models import RiskScore

    area = rw.district_a
    area.time_zone = "America/New_York"
    area.save()
    a1 = rw.elevators["a1"]
    recompute([a1.pk], trigger="test")
    at = timezone.make_aware(dt.datetime(2026, 12, 1, 12, 0))  # 12:00 Beijing = 23:00 the day before in New York
    RiskScore.objects.filter(elevator=a1).update(computed_at=at, colour_since=at)
    body = _client(rw.users["regulator"]).get(f"/risk/elevators/{a1.pk}/").content.decode()
    assert "11月30日 23:00" in body and "12月1日 12:00" not in body
