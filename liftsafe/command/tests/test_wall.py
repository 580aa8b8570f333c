"""The wall screen's live document: KPIs equal the reports module's, cases by state/late, alarms, offline devices,
correlated incidents, stations; scoped like everything else; roles."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from liftsafe.command import selectors
from liftsafe.emergency import services as em
from liftsafe.monitoring import services as mon
from liftsafe.reports import selectors as reports

from .conftest import login


def entrapment(world, name, *, minutes_ago=5, dispatch=True, respond_after=None, arrive_after=None):
    """An entrapment on ``name`` received ``minutes_ago``; dispatched a minute later, responded/arrived after the
    given seconds from the dispatch."""
    now = timezone.now()
    rc = now - dt.timedelta(minutes=minutes_ago)
    case = em.intake_alarm(world.elevators[name], channel="phone_96333", case_type="entrapment", received_at=rc,
                           caller_phone="13900001111", trapped_count=1).case
    if dispatch:
        at = rc + dt.timedelta(seconds=30)
        em.dispatch_case(world.users["admin"], case, 1, at=at)
        if respond_after is not None:
            em.record_milestone(world.users["admin"], case, "responded", at + dt.timedelta(seconds=respond_after))
        if arrive_after is not None:
            em.record_milestone(world.users["admin"], case, "arrived", at + dt.timedelta(seconds=arrive_after))
    case.refresh_from_db()
    return case


@pytest.mark.django_db
def test_kpis_equal_the_reports_module_for_the_same_data(cw):
    entrapment(cw, "a1", minutes_ago=50, respond_after=60, arrive_after=20 * 60)     # on time
    entrapment(cw, "a2", minutes_ago=45, respond_after=300, arrive_after=40 * 60)    # late response and arrival
    entrapment(cw, "b1", minutes_ago=40, respond_after=60)                           # district B: not the regulator's
    user = cw.users["regulator"]
    now = timezone.now()
    wall = selectors.kpis(user, now)
    month = {k["key"]: k for k in wall["month"]}
    dash = reports.dashboard(user, area_code=None, now=now)
    for key in selectors.WALL_KPIS:
        ind = reports.indicator(dash, key)
        assert (month[key]["value"], month[key]["num"], month[key]["den"]) == (ind["value"], ind["numerator"], ind["denominator"]), key
    assert month["entrapments"]["value"] == 2
    assert month["response_kpi_rate"]["value"] == 50.0 and month["arrival_kpi_rate"]["value"] == 50.0
    assert month["entrapments_per_10k"]["value"] == reports.pct(2, 2, scale=10000.0)
    day = {k["key"]: k for k in wall["day"]}
    if timezone.localtime(now - dt.timedelta(minutes=50)).date() == timezone.localdate(now):  # not across midnight
        assert day["entrapments"]["value"] == 2 and day["cases"]["value"] == 2
    assert wall["limits"]["response_s"] == 180 and wall["limits"]["arrival_urban_s"] == 1800
    city = {k["key"]: k for k in selectors.kpis(cw.users["city_regulator"], now)["month"]}
    assert city["entrapments"]["value"] == 3


@pytest.mark.django_db
def test_wall_document_is_scoped_and_complete(client, cw):
    late = entrapment(cw, "a1", minutes_ago=40)              # dispatched, no response for > 3 min: late
    fresh = entrapment(cw, "a2", minutes_ago=0, dispatch=False)  # just received: not late yet
    other = entrapment(cw, "b1", minutes_ago=5)
    with transaction.atomic():
        dev = mon.bind_device(cw.elevators["a1"], "DEV-A1", vendor="t")
        mon.bind_device(cw.elevators["b1"], "DEV-B1", vendor="t")
        mon.raise_alarm(cw.elevators["a1"], "door_fault", device=dev, code="T", detail="x")
    r = login(client, cw.users["regulator"]).get("/api/command/wall")
    assert r.status_code == 200
    data = r.json()
    cases = {c["id"]: c for c in data["cases"]}
    assert set(cases) == {late.pk, fresh.pk} and other.pk not in cases
    assert cases[late.pk]["late"] is True and cases[fresh.pk]["late"] is False
    assert cases[late.pk]["entrapment"] and cases[late.pk]["url"] == f"/emergency/cases/{late.pk}/"
    assert data["counts"]["open_total"] == 2 and data["counts"]["late"] == 1
    assert [a["code"] for a in data["alarms"]] == [cw.elevators["a1"].display_code]
    assert data["offline"] == {"count": 1, "monitored": 1, "devices": [{"device": "DEV-A1", "code": cw.elevators["a1"].display_code,
                                                                      "last_seen": None}]}
    assert [s["name"] for s in data["stations"]] == ["rescue_station A"]
    assert "13900001111" not in r.content.decode()  # no caller phone on the wall
    client.logout()
    city = login(client, cw.users["city_regulator"]).get("/api/command/wall").json()
    assert {c["id"] for c in city["cases"]} == {late.pk, fresh.pk, other.pk}


@pytest.mark.django_db
def test_a_power_cut_is_one_incident(client, cw):
    with transaction.atomic():
        for name in ("a1", "a2"):
            mon.raise_alarm(cw.elevators[name], "power_loss", code="T", detail="cut")
    data = login(client, cw.users["operator"]).get("/api/command/wall").json()
    assert len(data["incidents"]) == 1 and data["incidents"][0]["alarms"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role,status", [("operator", 200), ("regulator", 200), ("admin", 200), ("maintenance_unit", 403),
                                         ("use_unit", 403), ("rescue_station", 403), ("insurer", 403), ("nobody", 403)])
def test_wall_roles(client, cw, role, status):
    login(client, cw.users[role])
    assert client.get("/api/command/wall").status_code == status
    page = client.get("/command/wall/")
    assert page.status_code == status
    if status == 200:
        html = page.content.decode()
        assert 'data-poll-ms="5000"' in html and "/static/command/wall.js" in html and "<script>" not in html


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, cw):
    assert client.get("/command/wall/").status_code == 302
    assert client.get("/api/command/wall").status_code == 401


@pytest.mark.django_db
def test_live_headline_refuses_an_unknown_span(cw):
    with pytest.raises(ValueError, match="span"):
        reports.live_headline(cw.users["regulator"], span="week")
