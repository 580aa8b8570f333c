"""Overdue notifications (once per threshold per hazard) and per-role scoping of hazards, files and pages."""
import datetime as dt

import pytest
from django.test import Client

from liftsafe.core.models import Notification
from liftsafe.testing import PASSWORD
from liftsafe.hazards import selectors, services
from liftsafe.hazards.models import Hazard
from liftsafe.hazards.tasks import dedupe_key, notify_overdue

from .helpers import days, file_hazard, png, today


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_overdue_notified_once_per_threshold(world):
    h1, h2 = file_hazard(world), file_hazard(world, title="second")
    h3 = file_hazard(world, title="not yet due")
    Hazard.objects.filter(pk=h1.pk).update(deadline=days(-1))
    Hazard.objects.filter(pk=h2.pk).update(deadline=days(-40))  # crossed 0, 7 and 30: notified once, for 30
    Hazard.objects.filter(pk=h3.pk).update(deadline=days(3))
    assert notify_overdue() == 2
    assert notify_overdue() == 0  # second run sends nothing
    n = Notification.objects.get(dedupe_key=dedupe_key(h1.pk, days(-1), 0))
    assert n.organisation == world.orgs[("use_unit", "a")] and n.area == world.district_a and n.kind == "hazards.overdue"
    assert Notification.objects.filter(dedupe_key=dedupe_key(h2.pk, days(-40), 30)).exists()
    assert Notification.objects.filter(dedupe_key__startswith=f"hazard:{h2.pk}:").count() == 1
    assert not Notification.objects.filter(dedupe_key__startswith=f"hazard:{h3.pk}:").exists()
    assert notify_overdue(today() + dt.timedelta(days=7)) == 2  # h1 crosses 7 days, h3 becomes overdue
    assert Notification.objects.filter(dedupe_key=dedupe_key(h1.pk, days(-1), 7)).exists()
    assert notify_overdue(today() + dt.timedelta(days=7)) == 0


def test_new_deadline_starts_a_new_round(world):
    reg = world.users["regulator"]
    h = file_hazard(world)
    Hazard.objects.filter(pk=h.pk).update(deadline=days(-2))
    assert notify_overdue() == 1 and notify_overdue() == 0
    h.refresh_from_db()
    services.hazard_update(reg, h, version=h.version, changes={"deadline": days(3)})  # extended: no longer overdue
    assert notify_overdue() == 0
    assert notify_overdue(today() + dt.timedelta(days=5)) == 1  # overdue again against the new deadline
    n = Notification.objects.get(dedupe_key=dedupe_key(h.pk, days(3), 0))
    assert n.payload["deadline"] == days(3).isoformat() and "已逾期 2 天" in n.subject


def test_closed_hazards_are_not_notified(world):
    h = file_hazard(world)
    Hazard.objects.filter(pk=h.pk).update(deadline=days(-2), state="closed")
    assert notify_overdue() == 0


SEES_A1_HAZARD = {"admin": True, "city_regulator": True, "regulator": True, "operator": True, "maintenance_unit": True,
                  "use_unit": True, "inspection_agency": True, "insurer": True, "rescue_station": True, "nobody": False}


@pytest.mark.parametrize("who", sorted(SEES_A1_HAZARD))
def test_hazard_scoping_per_role(world, who):
    ha = file_hazard(world)
    hb = file_hazard(world, elevator="b1", unit=("use_unit", "b"), user="city_regulator")
    seen = set(selectors.hazards_for(world.users[who]).values_list("pk", flat=True))
    assert (ha.pk in seen) == SEES_A1_HAZARD[who]
    assert (hb.pk in seen) == (who in ("admin", "city_regulator"))


def test_responsible_unit_sees_its_hazard_outside_registry_scope(world):
    h = file_hazard(world, elevator="b1", unit=("maintenance_unit", "a"), user="city_regulator")
    assert h in selectors.hazards_for(world.users["maintenance_unit"])
    assert h not in selectors.hazards_for(world.users["use_unit"])
    assert [x.pk for x in selectors.my_open_hazards(world.users["maintenance_unit"])] == [h.pk]


def _client(world, who):
    c = Client()
    assert c.login(username=world.users[who].username, password=PASSWORD)
    return c


def test_evidence_served_only_to_those_who_see_the_hazard(world):
    h = file_hazard(world)
    ev = services.evidence_add(world.users["use_unit"], h, png())
    url = f"/hazards/evidence/{ev.pk}/"
    r = _client(world, "regulator").get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"\x89PNG")
    hb = file_hazard(world, elevator="b1", unit=("use_unit", "b"), user="city_regulator")
    evb = services.evidence_add(world.users["city_regulator"], hb, png())
    assert _client(world, "regulator").get(f"/hazards/evidence/{evb.pk}/").status_code == 404
    assert _client(world, "nobody").get(url).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous → login


@pytest.mark.parametrize("who", ["regulator", "city_regulator", "use_unit", "maintenance_unit", "inspection_agency", "admin"])
def test_pages_render_per_role(world, who):
    h = file_hazard(world)
    c = _client(world, who)
    for url in ("/hazards/", f"/hazards/{h.pk}/", "/hazards/elevators/", f"/hazards/elevators/{h.elevator_id}/",
                "/hazards/campaigns/", "/hazards/stats/"):
        assert c.get(url).status_code == 200, url
    hb = file_hazard(world, elevator="b1", unit=("use_unit", "b"), user="city_regulator")
    expected = 200 if who in ("city_regulator", "admin") else 404
    assert c.get(f"/hazards/{hb.pk}/").status_code == expected
    assert c.get(f"/hazards/elevators/{hb.elevator_id}/").status_code == expected


def test_list_page_shows_overdue_badge_and_filters(world):
    h = file_hazard(world, title="逾期隐患")
    file_hazard(world, title="未逾期隐患")
    Hazard.objects.filter(pk=h.pk).update(deadline=days(-2))
    c = _client(world, "regulator")
    body = c.get("/hazards/?overdue=1").content.decode()
    assert "逾期隐患" in body and "未逾期隐患" not in body and 'class="badge overdue"' in body
    rows = c.get("/hazards/?q=未逾期", HTTP_HX_REQUEST="true").content.decode()
    assert "未逾期隐患" in rows and "<html" not in rows


def test_responsible_unit_cannot_close_via_page(world):
    from .helpers import submitted

    h = submitted(world)
    r = _client(world, "use_unit").post(f"/hazards/{h.pk}/do/close/", {"version": h.version}, follow=True)
    h.refresh_from_db()
    assert h.state == "submitted" and r.status_code == 200


def test_page_conflict_message(world):
    h = file_hazard(world)
    c = _client(world, "regulator")
    c.post(f"/hazards/{h.pk}/do/edit/", {"version": 1, "deadline": days(9).isoformat()})
    r = c.post(f"/hazards/{h.pk}/do/edit/", {"version": 1, "deadline": days(20).isoformat()}, follow=True)
    h.refresh_from_db()
    assert h.deadline == days(9) and "version" in r.content.decode()


def test_statistics_and_exports(world):
    from .helpers import submitted

    reg = world.users["city_regulator"]
    h = submitted(world)
    services.hazard_close(reg, h, version=h.version)
    late = file_hazard(world, elevator="b1", unit=("use_unit", "b"), user="city_regulator", level="major")
    Hazard.objects.filter(pk=late.pk).update(deadline=days(-1))
    services.hazard_list(reg, late, version=late.version, authority="city")
    rows = selectors.statistics(reg)
    total = rows[-1]
    assert total["filed"] == 2 and total["closed"] == 1 and total["overdue"] == 1 and total["listed_open"] == 1
    assert total["rectification_rate"] == 0.5 and total["on_time_rate"] == 1.0 and total["recurrence_rate"] is None
    by = {(r["area_code"], r["level"]): r for r in rows}
    assert by[("320104", "major")]["overdue"] == 1 and by[("320102", "significant")]["closed"] == 1
    assert selectors.statistics(world.users["regulator"])[-1]["filed"] == 1  # district A only
    c = _client(world, "city_regulator")
    csv_body = c.get("/hazards/stats/?format=csv").content.decode("utf-8-sig")
    assert csv_body.splitlines()[0].count(",") == 12 and len(csv_body.splitlines()) == 4
    x = c.get("/hazards/stats/?format=xlsx")
    from io import BytesIO

    from openpyxl import load_workbook

    ws = load_workbook(BytesIO(x.content)).active
    assert ws.max_row == 4 and ws["C4"].value == 2 and ws["K4"].value == 0.5


def test_api_errors_and_conflict(world):
    import json

    h = file_hazard(world)
    c = _client(world, "regulator")
    r = c.post("/api/hazards/hazards", json.dumps({"elevator_id": world.elevators["a1"].pk, "source": "inspection", "title": "t",
                                                   "level": "general", "responsible_unit_id": world.orgs[("use_unit", "a")].pk,
                                                   "deadline": days(-1).isoformat()}), content_type="application/json")
    assert r.status_code == 422 and "deadline" in r.json()["detail"]
    r = c.post(f"/api/hazards/hazards/{h.pk}/list", json.dumps({"version": 99, "authority": "district"}), content_type="application/json")
    assert r.status_code == 409 and "version" in r.json()["detail"]
    r = c.post(f"/api/hazards/hazards/{h.pk}/list", json.dumps({"version": 1, "authority": "district"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["listed"] is True and r.json()["version"] == 2
    r = _client(world, "use_unit").get("/api/hazards/hazards")
    assert [x["id"] for x in r.json()["items"]] == [h.pk]
    assert _client(world, "nobody").get(f"/api/hazards/hazards/{h.pk}").status_code == 404
