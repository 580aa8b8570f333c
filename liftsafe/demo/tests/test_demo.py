"""The demo generator (liftsafe.demo.services): complete, deterministic, idempotent, scoped accounts."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from liftsafe.demo import services as demo
from liftsafe.core.models import Area, Profile, Role
from liftsafe.registry.models import Building, Elevator, MaintenanceContract, Organisation
from liftsafe.registry.selectors import current_contracts, elevators_for, maintenance_unit_on

BOROUGHS = {"US-NY-NYC-MN": ("Manhattan", 40.78, -73.97), "US-NY-NYC-BK": ("Brooklyn", 40.65, -73.95)}


@pytest.fixture
def nyc(db):
    """A small NYC: 2 boroughs, 160 buildings with 1-3 elevators each, plus the cases the generator must handle."""
    ny = Area.objects.create(code="US-NY", name="纽约州", name_en="New York State", level="province")
    city = Area.objects.create(code="US-NY-NYC", name="纽约市", name_en="New York City", level="city", parent=ny)
    areas = {code: Area.objects.create(code=code, name=n, name_en=n, level="district", parent=city) for code, (n, _a, _o) in BOROUGHS.items()}
    elevators = []
    n = 0
    for b in range(160):
        code = "US-NY-NYC-MN" if b % 3 else "US-NY-NYC-BK"
        _name, lat, lon = BOROUGHS[code]
        building = Building.objects.create(source="nyc-dob", source_key=str(1000000 + b), address=f"{b} BROADWAY", area=areas[code])
        for k in range(1 + b % 3):
            n += 1
            elevators.append(Elevator(
                source="nyc-dob", source_id=f"1P{n:05d}", jurisdiction="US-NY", category="3110", source_type="Passenger Elevator (P)",
                address=f"{b} BROADWAY", area=areas[code], building=building, latitude=lat + (b % 10) * 0.01, longitude=lon + (b // 10 % 5) * 0.01,
                status="in_use"))
    mn = areas["US-NY-NYC-MN"]
    elevators += [
        Elevator(source="nyc-dob", source_id="1E1", jurisdiction="US-NY", category="3310", source_type="Escalator (E)", address="1 MALL ST",
                 area=mn, status="in_use", latitude=40.75, longitude=-73.98),
        Elevator(source="nyc-dob", source_id="2P1", jurisdiction="US-NY", category="3110", source_type="Passenger Elevator (P)",
                 address="9 HOUSING AVE", area=mn, status="in_use", extra={"DV_DEVICE_STATUS_DESCRIPTION": "NYCHA"}),
        Elevator(source="nyc-dob", source_id="3P1", jurisdiction="US-NY", category="3110", source_type="Passenger Elevator (P)",
                 address="7 OLD ST", area=mn, status="scrapped", status_date=dt.date(2014, 5, 1)),
        Elevator(source="nyc-dob", source_id="4P1", jurisdiction="US-NY", category="3110", source_type="Passenger Elevator (P)",
                 address="5 KEPT ST", area=mn, status="in_use", rescue_code="123456"),
    ]
    Elevator.objects.bulk_create(elevators)
    return city


def snapshot():
    rows = Elevator.objects.order_by("source_id").values_list("source_id", "rescue_code", "use_unit__name", "inspection_agency__name",
                                                              "insurer__name", "place_type", "crowded_place")
    contracts = MaintenanceContract.objects.order_by("elevator__source_id", "start_date").values_list(
        "elevator__source_id", "maintenance_unit__name", "start_date", "end_date")
    orgs = Organisation.objects.order_by("kind", "source_key").values_list("kind", "source_key", "name", "grade", "licence_no", "latitude", "longitude")
    return list(rows), list(contracts), list(orgs)


def test_generate_completes_every_elevator(nyc):
    result = demo.generate()
    elevators = list(Elevator.objects.all())
    assert result.elevators_updated == len(elevators) == sum(1 + b % 3 for b in range(160)) + 4

    # every generated organisation and contract is marked
    assert Organisation.objects.exists()
    assert not Organisation.objects.filter(generated=False).exists()
    assert not Organisation.objects.exclude(source="demo").exists()
    assert not MaintenanceContract.objects.filter(generated=False).exists()

    # use unit per building; same building → same use unit and same current maintenance unit
    by_building = defaultdict(set)
    mu_by_building = defaultdict(set)
    for e in elevators:
        assert e.use_unit_id is not None, e.source_id
        assert e.inspection_agency_id is not None
        if e.building_id:
            by_building[e.building_id].add(e.use_unit_id)
            mu_by_building[e.building_id].add(maintenance_unit_on(e).pk)
    assert all(len(s) == 1 for s in by_building.values())
    assert all(len(s) == 1 for s in mu_by_building.values())
    assert len({next(iter(s)) for s in by_building.values()}) == 160
    assert Organisation.objects.get(pk=Elevator.objects.get(source_id="2P1").use_unit_id).name.startswith("NYCHA")

    # rescue codes: 6 digits, unique per jurisdiction, the existing one kept and never reused
    codes = [e.rescue_code for e in elevators]
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert Elevator.objects.get(source_id="4P1").rescue_code == "123456"

    # contracts: one current unit for every elevator in use, none for the scrapped one (but an ended one)
    for e in elevators:
        if e.status == "scrapped":
            assert maintenance_unit_on(e) is None
            old = e.contracts.get()
            assert old.end_date == e.status_date == dt.date(2014, 5, 1) and old.start_date < old.end_date
        else:
            assert current_contracts().filter(elevator=e).count() == 1
    # some elevators have an earlier contract with another unit, ending the day before the current one
    multi = [e for e in elevators if e.contracts.count() == 2]
    assert multi
    for e in multi:
        old, new = e.contracts.order_by("start_date")
        assert old.maintenance_unit_id != new.maintenance_unit_id
        assert old.end_date == new.start_date - dt.timedelta(days=1)
        assert maintenance_unit_on(e, old.start_date) == old.maintenance_unit

    # place types where derivable
    esc = Elevator.objects.get(source_id="1E1")
    assert (esc.place_type, esc.crowded_place) == (14, True)
    nycha = Elevator.objects.get(source_id="2P1")
    assert (nycha.place_type, nycha.crowded_place) == (11, False)
    assert Elevator.objects.get(source_id="1P00001").place_type is None

    # responders: rescue stations per borough with coordinates, one fire brigade
    for code in BOROUGHS:
        stations = Organisation.objects.filter(kind="rescue_station", area__code=code)
        assert stations.count() >= 2
        assert all(s.latitude and s.longitude for s in stations)
    assert Organisation.objects.filter(kind="fire_brigade").count() == 1
    assert Organisation.objects.filter(kind="inspection_agency").count() == 3
    assert Organisation.objects.filter(kind="insurer").count() == 5


def test_maintenance_market_is_skewed(nyc):
    demo.generate()
    mus = Organisation.objects.filter(kind="maintenance_unit")
    assert 20 <= mus.count() <= 60
    assert set(mus.values_list("grade", flat=True)) <= {"A", "B", "C", "D"}
    assert all(re.fullmatch(r"TS3310\d{3}-20\d\d", m.licence_no) for m in mus)
    assert len(set(mus.values_list("licence_no", flat=True))) == mus.count()
    # share of buildings held by the four big city-wide firms
    site_unit = {}
    for c in current_contracts().select_related("elevator"):
        site_unit[c.elevator.building_id or c.elevator_id] = c.maintenance_unit_id
    shares = Counter(site_unit.values())
    big = set(mus.filter(source_key__startswith="mu:big:").values_list("pk", flat=True))
    big_share = sum(n for unit, n in shares.items() if unit in big) / sum(shares.values())
    assert 0.35 < big_share < 0.85
    top = shares.most_common(1)[0][0]
    assert top in big


def test_generate_is_idempotent_and_audited(nyc):
    first = demo.generate()
    assert first.organisations > 0 and first.contracts > 0
    before = snapshot()
    hist = (Elevator.history.count(), Organisation.history.count(), MaintenanceContract.history.count())
    second = demo.generate()
    assert (second.organisations, second.contracts, second.elevators_updated) == (0, 0, 0)
    assert snapshot() == before
    assert (Elevator.history.count(), Organisation.history.count(), MaintenanceContract.history.count()) == hist
    # audit: every elevator carries a change record naming the demo; every generated row a creation record
    e = Elevator.objects.get(source_id="1P00001")
    rec = e.history.latest()
    assert rec.history_type == "~" and rec.history_change_reason == demo.HISTORY_REASON
    assert rec.use_unit_id == e.use_unit_id and rec.rescue_code == e.rescue_code
    assert Organisation.history.filter(history_type="+").count() == Organisation.objects.count()
    assert MaintenanceContract.history.filter(history_type="+").count() == MaintenanceContract.objects.count()


def test_generate_is_deterministic(nyc):
    demo.generate()
    first = snapshot()
    # undo everything the generator did, then run it again
    MaintenanceContract.objects.all().delete()
    Elevator.objects.update(use_unit=None, inspection_agency=None, insurer=None, place_type=None, crowded_place=False)
    Elevator.objects.exclude(source_id="4P1").update(rescue_code="")
    Organisation.objects.all().delete()
    demo.generate()
    rows, contracts, orgs = snapshot()
    assert rows == first[0]
    assert contracts == first[1]
    assert orgs == first[2]


def test_accounts_for_every_role_see_their_scope(nyc, client):
    demo.generate()
    accounts = demo.create_accounts()
    roles = {a.role for a in accounts}
    assert roles == {"admin"} | {str(r) for r in Role}
    again = demo.create_accounts()
    assert [a.username for a in again] == [a.username for a in accounts]
    User = get_user_model()
    assert User.objects.count() == len(accounts)
    assert Profile.objects.count() == len(accounts) - 1  # the superuser has none
    counts = demo.visible_counts(accounts)
    total = Elevator.objects.count()
    assert counts["admin"] == counts["regulator"] == counts["operator"] == total
    assert counts["regulator_mn"] == Elevator.objects.filter(area__code="US-NY-NYC-MN").count() < total
    assert counts["rescue"] == counts["regulator_mn"]
    mu = Profile.objects.get(user__username="maintenance").organisation
    assert counts["maintenance"] == current_contracts().filter(maintenance_unit=mu).count() > 0
    uu = Profile.objects.get(user__username="useunit").organisation
    assert counts["useunit"] == Elevator.objects.filter(use_unit=uu).count() >= 1
    assert 0 < counts["inspector"] < total and 0 < counts["insurer"] < total
    for a in accounts:
        user = User.objects.get(username=a.username)
        assert user.check_password(demo.DEMO_PASSWORD)
        assert client.login(username=a.username, password=demo.DEMO_PASSWORD)
        resp = client.get(reverse("registry:elevator_list"))
        assert resp.status_code == 200, a.username
        client.logout()
    # the use-unit user cannot open an elevator of another use unit (404, like a missing one)
    other = Elevator.objects.exclude(use_unit=uu).first()
    client.login(username="useunit", password=demo.DEMO_PASSWORD)
    assert client.get(reverse("registry:elevator_detail", args=[other.pk])).status_code == 404
    assert elevators_for(User.objects.get(username="useunit")).filter(pk=other.pk).count() == 0


def test_derive_place_type():
    assert demo.derive_place_type("Escalator (E)", "", {}) == (14, True)
    assert demo.derive_place_type("Public Elevator (L)", "", {}) == (10, True)
    assert demo.derive_place_type("Private Elevator (T)", "", {}) == (11, False)
    assert demo.derive_place_type("Passenger Elevator (P)", "HOUSING AUTHORITY", {}) == (11, False)
    assert demo.derive_place_type("Passenger Elevator (P)", "OTIS", {"DV_DEVICE_STATUS_DESCRIPTION": "ACTIVE"}) == (None, False)


def test_generate_requires_the_city(db):
    with pytest.raises(Area.DoesNotExist):
        demo.generate()


def test_load_registry_imports_once_through_the_importer(db, tmp_path):
    """The real importer on the first rows of the real NYC file; a second call skips the import."""
    import gzip

    lines = gzip.open(demo.NYC_DATA_FILE, "rt", encoding="utf-8").read().splitlines()[:41]
    small = tmp_path / "nyc_small.csv.gz"
    with gzip.open(small, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    assert demo.registry_loaded() is False
    assert demo.load_registry(small, progress=False) is True
    assert demo.registry_loaded() is True
    n = Elevator.objects.filter(source="nyc-dob").count()
    assert 30 <= n <= 40
    assert demo.load_registry(small, progress=False) is False
    assert Elevator.objects.filter(source="nyc-dob").count() == n
    # and the generator completes what the importer made
    result = demo.generate()
    assert result.elevators_updated == n
    assert not Elevator.objects.filter(use_unit__isnull=True).exists()
    assert Elevator.objects.get(source_id=lines[1].split(",")[0]).area.parent.code == "US-NY-NYC"


def test_demo_command_without_serving(nyc, capsys):
    from django.core.management import call_command

    from liftsafe.registry.models import ImportRun

    ImportRun.objects.create(mapping="nyc-dob", file_name="x.csv.gz", file_sha256="0" * 64, status="done")
    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert "NYC registry already loaded" in out
    for username in ("admin", "regulator", "regulator_mn", "operator", "maintenance", "useunit", "inspector", "insurer", "rescue"):
        assert re.search(rf"^{username}\s+{demo.DEMO_PASSWORD}\s", out, re.M), username
    assert "elevators completed: 323" in out
    # the MTA units: completed, their tickets replayed (the first time only), every long step announced
    assert "MTA units completed: 638 (use unit, 638 rescue codes, 638 coordinates)" in out
    assert re.search(r"MTA 2023 tickets replayed: 718 tickets read, [1-9]\d* cases opened", out)
    assert "Ontario incident reports as hazard leads …" in out
    mta = Elevator.objects.filter(source="nyc-mta")
    assert mta.count() == 638
    assert not mta.filter(Q(rescue_code="") | Q(use_unit__isnull=True) | Q(latitude__isnull=True)).exists()
    assert current_contracts().filter(elevator__source="nyc-mta").count() == 638
    # level-1 dispatch worked for every replayed case (no level 2/3 for want of a maintainer)
    from liftsafe.emergency.models import EmergencyCase

    replayed = EmergencyCase.objects.filter(elevator__source="nyc-mta").exclude(level=0)
    assert replayed.exists() and not replayed.exclude(level=1).exists()
    # the 2023 report counts the 638 units in the in-house maintainer's fleet
    from liftsafe.emergency.mta_replay import MTA_MAINTAINER
    from liftsafe.reports.selectors import report_data, table

    data = report_data(get_user_model().objects.get(username="regulator"), area_code=None, period="2023", language="en")
    rows = {r[1]: r[2] for r in table(data, "top_maintenance_units")["rows"]}
    assert rows[MTA_MAINTAINER] == 638
    # publicity: the 2023 report of the MTA replay is published (the public sees it) with this year's campaigns
    from liftsafe.reports import public

    assert [(p.period_label, p.area_code) for p in public.published_reports()] == [("2023", demo.NYC_CITY_CODE)]
    assert "publicity: 3 articles and 4 campaigns created" in out

    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert "organisations: 0 created" in out
    # a restart replays nothing and says so (it used to say "replayed (718 rows)")
    assert "MTA 2023 tickets: already replayed, nothing new (718 tickets read" in out
    assert "tickets replayed:" not in out and "718 rows" not in out
    assert "MTA units completed: 0 " in out
    assert "publicity: 0 articles and 0 campaigns created" in out



def test_the_demo_nyc_areas_use_new_york_time(nyc, settings):
    """Issue 16: the demo's NYC areas are in America/New_York (set on New York State, inherited by the city and
    the boroughs); an NYC case's order number carries the New York date."""
    from zoneinfo import ZoneInfo

    from liftsafe.core.zones import area_zone
    from liftsafe.emergency import services

    settings.TIME_ZONE = "Asia/Shanghai"
    demo.generate()
    assert Area.objects.get(code="US-NY").time_zone == "America/New_York"
    for code in ("US-NY-NYC", "US-NY-NYC-MN", "US-NY-NYC-BK"):
        assert area_zone(Area.objects.get(code=code)) == ZoneInfo("America/New_York"), code
    e = Elevator.objects.filter(source="nyc-dob", area__code="US-NY-NYC-MN").first()
    at = dt.datetime(2023, 1, 31, 22, 0, tzinfo=ZoneInfo("America/New_York"))
    case = services.intake_alarm(e, channel="phone_96333", case_type="entrapment", received_at=at).case
    assert case.order_number.startswith("20230131-")


# --- the MTA station units (issue 16: no rescue code, use unit, contract or coordinates before) ---------------

@pytest.fixture
def mta_units(db, tmp_path):
    """The first 60 rows (60 units of January 2023) of the real MTA file, through the real importer, plus one
    NYC DOB elevator of the same jurisdiction already holding a rescue code."""
    import gzip

    from liftsafe.registry.importer import run_import

    lines = gzip.open(demo.MTA_DATA_FILE, "rt", encoding="utf-8-sig").read().splitlines()[:61]
    small = tmp_path / "mta_small.csv.gz"
    with gzip.open(small, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    run = run_import(small, "mta-units")
    assert run.rows_created == 60 and run.rows_rejected == 0
    mn = Area.objects.get(code="US-NY-NYC-MN")
    Elevator.objects.create(source="nyc-dob", source_id="1P99999", jurisdiction="US-NY", category="3110", area=mn,
                            address="1 BROADWAY", status="in_use", rescue_code="654321")
    return Elevator.objects.filter(source="nyc-mta")


def test_complete_mta_gives_every_unit_a_use_unit_contract_rescue_code_and_its_station_coordinates(mta_units):
    from liftsafe.emergency import services as emergency
    from liftsafe.emergency.models import CaseType, Channel
    from liftsafe.emergency.mta_replay import MTA_MAINTAINER

    before = {e.pk: (e.rescue_code, e.use_unit_id, e.latitude, e.longitude) for e in mta_units}
    assert all(v == ("", None, None, None) for v in before.values())  # what the source gives
    assert not MaintenanceContract.objects.exists()

    result = demo.complete_mta()
    assert (result.elevators_updated, result.contracts, result.rescue_codes, result.coordinates) == (60, 60, 60, 60)
    points = demo.read_station_points()
    codes = list(Elevator.objects.filter(jurisdiction="US-NY").exclude(rescue_code="").values_list("rescue_code", flat=True))
    assert len(codes) == len(set(codes)) == 61 and "654321" in codes
    for e in mta_units.select_related("use_unit"):
        assert re.fullmatch(r"\d{6}", e.rescue_code) and e.rescue_code != "654321"
        assert e.use_unit.name == "MTA New York City Transit" and e.use_unit.generated and e.use_unit.source == "demo"
        assert (e.latitude, e.longitude) == points[e.extra["Station MRN"]]
        assert 40.4 < e.latitude < 41.0 and -74.3 < e.longitude < -73.6
        contract = e.contracts.get()
        assert contract.generated and contract.start_date == dt.date(2023, 1, 1) and contract.end_date is None
        assert maintenance_unit_on(e, dt.date(2023, 12, 31)).name == MTA_MAINTAINER == maintenance_unit_on(e).name
        rec = e.history.latest()
        assert rec.history_type == "~" and rec.history_change_reason == demo.MTA_HISTORY_REASON
    # the same station gives the same point; the 60 units stand at several stations
    assert len({(e.latitude, e.longitude) for e in mta_units.all()}) > 10
    assert MaintenanceContract.history.filter(history_type="+").count() == 60

    # level-1 dispatch now finds the in-house maintainer (refused before: no contract)
    unit = mta_units.order_by("source_id").first()
    r = emergency.intake_alarm(unit, channel=Channel.PHONE_96333, case_type=CaseType.ENTRAPMENT,
                               received_at=dt.datetime(2023, 6, 1, 9, 0, tzinfo=dt.timezone.utc))
    case = emergency.dispatch_case(None, r.case, 1)
    assert (case.level, case.responder.name) == (1, MTA_MAINTAINER)

    # idempotent: nothing changes on a second run
    snap = list(Elevator.objects.order_by("pk").values_list("rescue_code", "use_unit_id", "latitude", "longitude"))
    hist = (Elevator.history.count(), MaintenanceContract.history.count(), Organisation.history.count())
    again = demo.complete_mta()
    assert (again.elevators_updated, again.contracts, again.rescue_codes, again.coordinates) == (0, 0, 0, 0)
    assert list(Elevator.objects.order_by("pk").values_list("rescue_code", "use_unit_id", "latitude", "longitude")) == snap
    assert (Elevator.history.count(), MaintenanceContract.history.count(), Organisation.history.count()) == hist


def test_complete_mta_keeps_what_a_unit_has_and_does_not_overlap_a_contract(mta_units):
    from liftsafe.registry.services import contract_create

    unit = mta_units.order_by("source_id").first()
    other_mu = Organisation.objects.create(kind="maintenance_unit", name="Contractor X", area=unit.area)
    contract_create(None, elevator=unit, maintenance_unit=other_mu, start_date=dt.date(2022, 1, 1))
    Elevator.objects.filter(pk=unit.pk).update(rescue_code="000777", latitude=40.7, longitude=-74.0)
    demo.complete_mta()
    unit.refresh_from_db()
    assert (unit.rescue_code, unit.latitude, unit.longitude) == ("000777", 40.7, -74.0)
    assert [c.maintenance_unit for c in unit.contracts.all()] == [other_mu]


def test_describe_replay_says_when_nothing_was_replayed():
    from liftsafe.emergency.mta_replay import ReplayReport

    rep = ReplayReport()
    rep.rows.update({"a.csv.gz": 571, "b.csv.gz": 147})
    rep.outcome.update({"already replayed (idempotent)": 51, "planned work (not an alarm): not replayed": 600,
                        "unit not in the registry: reported": 67})
    assert demo.describe_replay(rep) == "MTA 2023 tickets: already replayed, nothing new (718 tickets read, 51 replayed before)"
    rep = ReplayReport()
    rep.rows.update({"a.csv.gz": 2})
    rep.outcome.update({"case opened: entrapment": 1, "attached to the unit's open case (call_attached)": 1})
    rep.milestones.update({"dispatched (level 1)": 1})
    assert demo.describe_replay(rep) == ("MTA 2023 tickets replayed: 2 tickets read, 1 cases opened (1 dispatched), "
                                         "1 calls attached to an open case, 0 replayed before")


def test_a_long_demo_step_keeps_saying_it_is_running():
    """No silent step: a step announces itself and repeats "… still …" while it runs (Ontario took 115 s silently)."""
    import io
    import time

    from liftsafe.demo.management.commands.demo import Command

    out = io.StringIO()
    cmd = Command(stdout=out)
    cmd.TICK_SECONDS = 0.05
    with cmd.step("importing X"):
        time.sleep(0.32)
    with cmd.step("quick"):
        pass
    lines = out.getvalue().splitlines()
    assert lines[0] == "  importing X …"
    assert 3 <= sum(line.startswith("  … still importing X (") for line in lines) <= 7
    assert lines[-1] == "  quick …"  # a short step prints only its announcement
