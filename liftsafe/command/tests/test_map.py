"""The map API and page: clustering numbers on a known grid, filters, scope, no-tiles mode, bad input."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from liftsafe.command import domain, selectors
from liftsafe.inspection.models import Validity
from liftsafe.registry.models import Elevator
from liftsafe.testing import make_elevator

from .conftest import login

ZOOM = 10
CELL = domain.cell_deg(ZOOM)  # 0.087890625°
API = "/api/command/map"


def centre(gy: int, gx: int, dy: float = 0.0, dx: float = 0.0) -> tuple[float, float]:
    return (gy + 0.5 + dy) * CELL, (gx + 0.5 + dx) * CELL


def grid_world(cw):
    """District A's lifts on a known grid: 3 in cell (364, 1351), 2 in (364, 1352), 1 alone in (365, 1351);
    the world's own a1/a2 are moved into the first cell. B's lifts (31.5 N) are outside every box used."""
    a1, a2 = cw.elevators["a1"], cw.elevators["a2"]
    spots = {"a1": centre(364, 1351, -0.2, -0.2), "a2": centre(364, 1351, 0.2, 0.2)}
    for name, (lat, lon) in spots.items():
        Elevator.objects.filter(pk=cw.elevators[name].pk).update(latitude=lat, longitude=lon)
    extra = {}
    for sid, (lat, lon), crowded in (("G1", centre(364, 1351), True), ("G2", centre(364, 1352, -0.3), False),
                                     ("G3", centre(364, 1352, 0.3), True), ("G4", centre(365, 1351), False)):
        extra[sid] = make_elevator(sid, cw.district_a, latitude=lat, longitude=lon, crowded_place=crowded)
    return a1, a2, extra


BOX = dict(south=31.9, west=118.6, north=32.3, east=119.0)


def get(client, **params):
    q = {**BOX, "zoom": ZOOM, **params}
    return client.get(API, q)


@pytest.mark.django_db
def test_clusters_on_a_known_grid(client, cw):
    grid_world(cw)
    data = get(login(client, cw.users["regulator"])).json()
    assert data["mode"] == "clusters" and data["cell"] == pytest.approx(CELL)
    cells = {(round(c["lat"] / CELL - 0.5), round(c["lon"] / CELL - 0.5)): c for c in data["clusters"]}
    assert {k: c["n"] for k, c in cells.items()} == {(364, 1351): 3, (364, 1352): 2, (365, 1351): 1}
    assert data["total"] == 6
    # positioned at the mean of its lifts: the first cell's three are symmetric around its centre
    assert (cells[(364, 1351)]["lat"], cells[(364, 1351)]["lon"]) == pytest.approx(centre(364, 1351), abs=1e-6)
    assert cells[(364, 1351)]["crowded"] == 1 and cells[(364, 1352)]["crowded"] == 1
    assert cells[(364, 1351)]["colours"] == {"unknown": 3}  # not scored yet: every lift reads unknown
    # all of them in use and never visited: overdue by maintenance.selectors.overdue_lifts
    assert [c["overdue"] for c in data["clusters"]] == [c["n"] for c in data["clusters"]]
    single = cells[(365, 1351)]
    assert single["id"] == Elevator.objects.get(source_id="G4").pk and cells[(364, 1351)]["id"] is None
    # a coarser zoom merges them into fewer cells, never loses a lift
    coarse = get(client, zoom=6).json()
    assert coarse["total"] == 6 and len(coarse["clusters"]) < 3


@pytest.mark.django_db
def test_points_at_street_zoom_link_to_the_elevator_file(client, cw):
    a1, _a2, extra = grid_world(cw)
    lat, lon = centre(364, 1351)
    data = get(login(client, cw.users["operator"]), zoom=domain.POINTS_FROM_ZOOM,
               south=lat - 0.03, north=lat + 0.03, west=lon - 0.03, east=lon + 0.03).json()
    assert data["mode"] == "points" and data["total"] == 3
    by_id = {p["id"]: p for p in data["points"]}
    assert by_id[a1.pk]["url"] == a1.get_absolute_url() == f"/registry/elevators/{a1.pk}/"
    assert by_id[a1.pk]["code"] == a1.registration_code and "overdue" in by_id[a1.pk]["flags"]
    assert "crowded" in by_id[extra["G1"].pk]["flags"] and "crowded" not in by_id[a1.pk]["flags"]
    assert client.get(by_id[a1.pk]["url"]).status_code == 200


@pytest.mark.django_db
def test_filters(client, cw):
    a1, a2, extra = grid_world(cw)
    login(client, cw.users["regulator"])
    assert get(client, crowded=1).json()["total"] == 2
    Validity.objects.create(elevator=a1, policy="t7001_2023", state="expired", valid_until=dt.date(2024, 1, 1))
    Validity.objects.create(elevator=a2, policy="t7001_2023", state="valid", valid_until=dt.date(2099, 1, 1))
    assert get(client, expired=1).json()["total"] == 1
    from liftsafe.hazards import services as hz

    hz.hazard_file(cw.users["admin"], elevator=extra["G2"], source="inspection", title="HZ", level="general",
                   responsible_unit=cw.orgs[("use_unit", "a")])
    assert get(client, hazard=1).json()["total"] == 1
    # a stopped lift is not overdue (maintenance's definition covers lifts in use)
    Elevator.objects.filter(pk=extra["G3"].pk).update(status="stopped")
    assert get(client, overdue=1).json()["total"] == 5
    # the map's query form is maintenance's overdue_lifts, lift for lift (with a recent and an old visit)
    from liftsafe.maintenance.models import Visit
    from liftsafe.maintenance.selectors import overdue_lifts, overdue_q

    mu = cw.orgs[("maintenance_unit", "a")]
    now = timezone.now()
    for e, days in ((a1, 2), (a2, 40)):
        Visit.objects.create(elevator=e, maintenance_unit=mu, tier="half_monthly", state="checked_out",
                             checked_in_at=now - dt.timedelta(days=days, hours=1), checked_out_at=now - dt.timedelta(days=days))
    user = cw.users["regulator"]
    lifts = set(overdue_lifts(user).values_list("pk", flat=True))
    assert lifts == set(Elevator.objects.filter(pk__in=overdue_lifts(user).values("pk")).filter(overdue_q()).values_list("pk", flat=True))
    assert set(selectors.map_lifts(user, selectors.MapFilters(overdue=True)).values_list("pk", flat=True)) == lifts
    assert a1.pk not in lifts and a2.pk in lifts
    assert get(client, overdue=1).json()["total"] == 4
    assert get(client, overdue=1, crowded=1).json()["total"] == 1  # filters combine with AND
    assert get(client, area=cw.district_a.code).json()["total"] == 6
    # once the risk module has scored them, the map counts and filters by the computed colours
    from liftsafe.risk.compute import recompute
    from liftsafe.risk.models import RiskScore

    recompute(trigger="test")
    mine = set(Elevator.objects.filter(area=cw.district_a).values_list("pk", flat=True))
    by_colour: dict = {}
    for pk, colour in RiskScore.objects.filter(elevator_id__in=mine).values_list("elevator_id", "colour"):
        by_colour[colour] = by_colour.get(colour, 0) + 1
    for colour, n in by_colour.items():
        assert get(client, colour=colour).json()["total"] == n
    assert get(client, colour="unknown").json()["total"] == 6 - sum(by_colour.values())
    clusters = get(client).json()["clusters"]
    summed: dict = {}
    for c in clusters:
        for colour, n in c["colours"].items():
            summed[colour] = summed.get(colour, 0) + n
    assert {k: v for k, v in summed.items() if k != "unknown"} == by_colour


@pytest.mark.django_db
def test_scope_regulator_of_a_sees_no_lift_of_b(client, cw):
    grid_world(cw)
    everywhere = dict(south=30, west=117, north=34, east=120)
    a_only = get(login(client, cw.users["regulator"]), **everywhere).json()
    assert a_only["total"] == 6
    b_ids = set(Elevator.objects.filter(area=cw.district_b).values_list("pk", flat=True))
    street = get(client, zoom=domain.POINTS_FROM_ZOOM, south=31.4, north=31.6, west=118.2, east=118.4).json()
    assert street["total"] == 0 and not b_ids & {p["id"] for p in street["points"]}
    # B's area code is refused exactly like an unknown one
    r = get(client, area=cw.district_b.code)
    assert r.status_code == 422 and "area" in r.json()["errors"]
    client.logout()
    city = get(login(client, cw.users["city_regulator"]), **everywhere).json()
    assert city["total"] == 8
    areas = client.get("/api/command/map/areas").json()
    assert {a["code"] for a in areas} == {cw.district_a.code, cw.district_b.code}
    client.logout()
    assert {a["code"] for a in get(login(client, cw.users["regulator"])) and client.get("/api/command/map/areas").json()} \
        == {cw.district_a.code}


@pytest.mark.django_db
@pytest.mark.parametrize("role,status", [("use_unit", 403), ("maintenance_unit", 403), ("insurer", 403), ("nobody", 403),
                                         ("operator", 200), ("admin", 200)])
def test_map_roles(client, cw, role, status):
    assert get(login(client, cw.users[role])).status_code == status
    assert client.get("/command/map/").status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("params,field", [
    ({"zoom": 21}, "zoom"), ({"zoom": -1}, "zoom"), ({"south": 95}, "south"), ({"south": 33, "north": 32}, "north"),
    ({"west": 119.5, "east": 119.0}, "east"), ({"colour": "purple"}, "colour"), ({"overdue": "maybe"}, "overdue"),
    ({"south": "nan"}, "south"), ({"zoom": "x"}, "zoom")])
def test_bad_input_names_the_field(client, cw, params, field):
    r = get(login(client, cw.users["regulator"]), **params)
    assert r.status_code == 422, r.content
    body = r.json()
    assert any(field in k for k in body.get("errors", {})) or field in str(body), body


@pytest.mark.django_db
def test_page_without_tiles_serves_leaflet_locally(client, cw):
    r = login(client, cw.users["regulator"]).get("/command/map/?crowded=1&colour=unknown")
    html = r.content.decode()
    assert r.status_code == 200 and 'data-tiles=""' in html and "no-tiles" in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
    assert "http://" not in html.split("<main>")[1] and "https://" not in html.split("<main>")[1]  # no CDN, no tile server
    assert 'name="crowded" value="1" checked' in html
    js = client.get("/static/vendor/leaflet/leaflet.js")
    assert js.status_code == 200
    assert b"Leaflet" in b"".join(js.streaming_content if js.streaming else [js.content])[:2000]
    bad = client.get("/command/map/?colour=purple")
    assert bad.status_code == 200 and "purple" in bad.content.decode()  # the bad value is named in the message


@pytest.mark.django_db
@override_settings(LIFTSAFE_MAP_TILES="https://tiles.example.gov.cn/{z}/{x}/{y}.png", LIFTSAFE_MAP_TILES_CRS="gcj02")
def test_tiles_configured_in_gcj02_shift_points_and_accept_a_gcj02_box(client, cw):
    from liftsafe.command import geo

    a1, _a2, _extra = grid_world(cw)
    html = login(client, cw.users["regulator"]).get("/command/map/").content.decode()
    assert 'data-tiles="https://tiles.example.gov.cn/{z}/{x}/{y}.png"' in html and "no-tiles" not in html
    lat, lon = Elevator.objects.filter(pk=a1.pk).values_list("latitude", "longitude").get()
    glat, glon = geo.wgs84_to_gcj02(lat, lon)
    d = 0.002
    data = get(client, zoom=domain.POINTS_FROM_ZOOM, south=glat - d, north=glat + d, west=glon - d, east=glon + d).json()
    p = {p["id"]: p for p in data["points"]}[a1.pk]
    assert (p["lat"], p["lon"]) == pytest.approx((glat, glon), abs=1e-6)


@pytest.mark.django_db
@override_settings(LIFTSAFE_MAP_TILES_CRS="mercator")
def test_a_misconfigured_datum_is_named():
    with pytest.raises(ValueError, match="LIFTSAFE_MAP_TILES_CRS"):
        selectors.map_settings()


def test_cell_size():
    assert domain.cell_deg(0) == 90.0 and domain.cell_deg(10) == pytest.approx(90 / 1024)
    with pytest.raises(ValueError):
        domain.cell_deg(21)
    assert timezone.now()  # aware clock in use
