"""Demo data: the real NYC DOB registry plus the organisations it lacks, and one account per role.

The NYC file (76,088 devices, 2015) names no use units, maintenance units,
rescue stations, inspection agencies or insurers. :func:`generate` adds them
deterministically (seeded) so that every role has something real to look at:

- one **use unit** per building (NYC BIN), or per address when a device has no BIN;
- ~40 **maintenance units** with skewed market shares per borough: four big
  city-wide, OEM-like firms holding roughly 55-60 % of the buildings and many
  small local firms sharing the rest (Zipf-like); licence numbers and credit
  grades A-D (docs/domain §9: A/B/C/D, most units B);
- **maintenance contracts**: one current contract per building's elevators;
  about one building in five changed unit, so its elevators also carry an
  earlier, ended contract with another unit (the history a regulator traces);
  dismantled elevators keep only an ended contract;
- **rescue stations** (level-2 responders, docs/domain §3.2) per borough, placed at
  the densest clusters of elevators, and one **fire brigade** (level 3);
- three **inspection agencies** (by borough) and five **insurers**;
- a unique 6-digit **rescue code** per elevator within its jurisdiction
  (docs/domain §1.5: Shenzhen uses 6 digits);
- **place type** and the crowded-place flag where the source lets us derive
  them (see :func:`derive_place_type`).

Everything generated has ``generated=True`` and ``source="demo"``. Every step
only fills what is missing, so running it twice changes nothing. It writes in
bulk (a few dozen statements per 1,000 rows) to stay fast on SQLite.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django.db.models import Count, Q

from liftsafe.core.models import Area, Profile, Role
from liftsafe.core.messages import encode
from liftsafe.registry.models import Building, Elevator, MaintenanceContract, Organisation, normalize_address
from liftsafe.demo import messages as msg

SEED = 96333
SOURCE = "demo"
NYC_SOURCE = "nyc-dob"
NYC_CITY_CODE = "US-NY-NYC"
NYC_TIME_ZONE = "America/New_York"  # the NYC areas' local time (Area.time_zone, inherited by the boroughs)
#: The password of every demo account (documented in README.md). Never use the demo on a public host.
DEMO_PASSWORD = "liftsafe-demo"
NYC_DATA_FILE = Path(__file__).resolve().parent.parent / "registry" / "data" / "nyc_dob_elevator_devices_2015.csv.gz"
MTA_DATA_FILE = NYC_DATA_FILE.with_name("nyc_mta_2023_opendata.csv.gz")
MTA_SOURCE = "nyc-mta"
#: MTA's Subway Stations table (GTFS stop coordinates per Station ID = the units' Station MRN); data/SOURCE.md
MTA_STATIONS_FILE = Path(__file__).resolve().parent / "data" / "mta_subway_stations.csv.gz"
MTA_USE_UNIT_KEY = "uu:mta:nyct"
MTA_USE_UNIT = ("MTA New York City Transit", "2 Broadway, New York, NY")
MTA_CONTRACT_NO = "MTA in-house (E&E)"
#: history reason of a completed MTA unit (history_change_reason holds at most 100 characters)
MTA_HISTORY_REASON = encode(msg.MTA_COMPLETED)

Log = Callable[[str], None]

# --- organisation catalogue (fictional names; NYC "555-01xx" numbers are reserved for fiction) ---
BIG_FIRMS = [  # (name, grade, base share of buildings)
    ("Hudson Elevator Corporation", "A", 0.21),
    ("Empire Vertical Transportation Co.", "A", 0.16),
    ("Atlantic Lift Systems Inc.", "B", 0.12),
    ("Gotham Elevator Service Corp.", "A", 0.08),
]
NEIGHBOURHOODS = {
    "Manhattan": ["Bowery", "Chelsea", "Harlem", "Tribeca", "Murray Hill", "Inwood", "Yorkville", "Gramercy",
                  "Kips Bay", "Hell's Kitchen", "SoHo", "Washington Heights"],
    "Brooklyn": ["Flatbush", "Bay Ridge", "Bushwick", "Canarsie", "Park Slope", "Sunset Park", "Williamsburg", "Red Hook"],
    "Queens": ["Astoria", "Flushing", "Jamaica", "Long Island City", "Forest Hills", "Ridgewood", "Bayside"],
    "Bronx": ["Fordham", "Mott Haven", "Riverdale", "Pelham", "Morrisania"],
    "Staten Island": ["St. George", "Tottenville", "New Dorp"],
}
FIRM_SUFFIXES = ["Elevator Co.", "Elevator Service Inc.", "Lift & Hoist LLC", "Elevator Maintenance Corp.", "Vertical Services LLC"]
INSPECTION_AGENCIES = [  # (name, boroughs it inspects)
    ("Five Boroughs Elevator Inspection Agency", {"Manhattan", "Bronx"}),
    ("Metropolitan Lift Testing & Inspection Co.", {"Brooklyn", "Staten Island"}),
    ("Empire State Conveyance Inspections LLC", {"Queens"}),
]
INSURERS = [("Harbor Liability Insurance Co.", 0.30), ("Keystone Casualty Mutual", 0.22), ("Union Square Assurance", 0.18),
            ("Greater New York Elevator Insurers", 0.12), ("Liberty Bridge Insurance", 0.08)]  # 10 % uninsured
USE_UNIT_SUFFIXES = ["Owners Corp.", "Condominium", "Realty LLC", "Housing Co.", "Management LLC", "Associates"]
FIRE_BRIGADE = ("New York City Fire Department (FDNY)", 40.6936, -73.9866, "911")  # 9 MetroTech Center
GRADE_WEIGHTS = {"A": 0.18, "B": 0.50, "C": 0.25, "D": 0.07}  # docs/domain §9 (Anshan 2025: A 10, B 30, C 14, D 2 of 56)
HISTORY_REASON = encode(msg.GENERATED)


@dataclass
class Result:
    """Counts of what one :func:`generate` run created or filled (all zero on a second run)."""

    organisations: int = 0
    contracts: int = 0
    elevators_updated: int = 0
    seconds: float = 0.0


def _rng(*parts) -> random.Random:
    return random.Random(":".join(str(p) for p in (SEED, *parts)))


def _phone(n: int) -> str:
    return f"(212) 555-01{n % 100:02d}"


def derive_place_type(source_type: str, manufacturer_raw: str, extra: dict, status_description: str = "") -> tuple[int | None, bool]:
    """Place type (docs/domain §2 code) and crowded-place flag, where the NYC record lets us tell.

    - a Housing Authority device (status NYCHA or manufacturer "HOUSING AUTHORITY"),
      a private elevator (T) or a private residence → 11 住宅 (residential), not crowded;
    - an escalator (E) → 14 公众聚集场所 (NYC escalators stand in stores, stations,
      public buildings), crowded;
    - a public elevator (L) → 10 其它公众聚集场所, crowded;
    - anything else: unknown (None, not crowded).
    """
    text = " ".join([source_type or "", manufacturer_raw or "", status_description or "",
                     " ".join(str(v) for v in (extra or {}).values() if isinstance(v, str))]).upper()
    if "NYCHA" in text or "HOUSING AUTHORITY" in text or "PRIVATE ELEVATOR" in text or "PRIVATE RESIDENCE" in text:
        return 11, False
    if "ESCALATOR" in text:
        return 14, True
    if "PUBLIC ELEVATOR" in text:
        return 10, True
    return None, False


def _boroughs(city: Area) -> tuple[dict[int, Area], dict[int, Area]]:
    """(area id → borough area) for every area below ``city``; and borough id → borough."""
    boroughs = {a.pk: a for a in Area.objects.filter(parent=city)}
    by_path = {b.path: b for b in boroughs.values()}
    area_to_borough: dict[int, Area] = {}
    for a in Area.objects.filter(path__startswith=city.path).only("pk", "path"):
        rest = a.path[len(city.path):]
        if rest:
            first = city.path + rest.split("/", 1)[0] + "/"
            area_to_borough[a.pk] = by_path.get(first)
    return area_to_borough, boroughs


def _borough_name(b: Area | None) -> str:
    return (b.name_en or b.name) if b else "New York City"


def _ensure_orgs(specs: list[dict], log: Log) -> dict[str, Organisation]:
    """Create the organisations of ``specs`` that do not exist yet (matched on kind + source_key); return key → org."""
    kinds = {s["kind"] for s in specs}

    def load() -> dict[str, Organisation]:
        return {o.source_key: o for o in Organisation.objects.filter(source=SOURCE, kind__in=kinds).only("pk", "kind", "source_key", "name")}

    existing = load()
    new = [Organisation(source=SOURCE, generated=True, **s) for s in specs if s["source_key"] not in existing]
    if new:
        _insert(Organisation, new)
        _history_of_new(Organisation, "generated")
        existing = load()
    _ensure_orgs.created += len(new)  # type: ignore[attr-defined]
    return existing



def _insert(model, objs: list, batch: int = 5000) -> None:
    """INSERT ``objs`` (unsaved instances of ``model``) with ``executemany``: the same rows as
    ``bulk_create``, without its per-row SQL building, which dominates at 100,000 rows on SQLite."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({cols}) VALUES ({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cur:
        for i in range(0, len(objs), batch):
            cur.executemany(sql, [tuple(f.get_db_prep_save(f.pre_save(o, True), connection) for f in fields) for o in objs[i:i + batch]])


def _now():
    """The current time as the database backend stores it (raw SQL bypasses the field's adaptation)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _history_columns(model) -> list[str]:
    """Columns a historical record copies from ``model``'s table (everything but the history_* ones)."""
    hist = model.history.model
    return [f.column for f in hist._meta.concrete_fields if not f.name.startswith("history_")]


def _history_of_new(model, where: str) -> int:
    """Write a "+" (created) audit record for every row of ``model`` matching ``where`` that has none yet.

    Set-based (INSERT … SELECT) so that tens of thousands of generated rows get
    their history in one statement; same records django-simple-history writes.
    """
    hist = model.history.model
    cols = ", ".join(connection.ops.quote_name(c) for c in _history_columns(model))
    table, htable = model._meta.db_table, hist._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {htable} ({cols}, history_date, history_change_reason, history_type, history_user_id) "
            f"SELECT {cols}, %s, %s, '+', NULL FROM {table} t WHERE {where} "
            f"AND NOT EXISTS (SELECT 1 FROM {htable} h WHERE h.id = t.id)",
            [_now(), HISTORY_REASON])
        return cur.rowcount


_FILL_COLUMNS = [("use_unit_id", "bigint"), ("inspection_agency_id", "bigint"), ("insurer_id", "bigint"),
                 ("rescue_code", "varchar(12)"), ("place_type", "smallint"), ("crowded_place", "boolean"),
                 ("latitude", "double precision"), ("longitude", "double precision")]


def _fill_elevators(changes: dict[int, dict], reason: str = HISTORY_REASON) -> None:
    """Set the generated fields of many elevators at once and record a "~" audit record for each.

    ``changes`` maps elevator pk → {column: value} (columns of ``_FILL_COLUMNS``);
    a value only fills, an absent column keeps the elevator's own value. Uses a
    temporary table and one ``UPDATE … FROM`` (SQLite ≥ 3.33 and PostgreSQL).
    """
    if not changes:
        return
    names = [c for c, _t in _FILL_COLUMNS]
    table, htable = Elevator._meta.db_table, Elevator.history.model._meta.db_table
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS demo_fill")
        cur.execute("CREATE TEMPORARY TABLE demo_fill (id bigint PRIMARY KEY, "
                    + ", ".join(f"{c} {t} NULL" for c, t in _FILL_COLUMNS) + ")")
        rows = [(pk, *(ch.get(c) for c in names)) for pk, ch in sorted(changes.items())]
        for i in range(0, len(rows), 5000):
            cur.executemany(f"INSERT INTO demo_fill (id, {', '.join(names)}) VALUES ({', '.join(['%s'] * (len(names) + 1))})",
                            rows[i:i + 5000])
        sets = ", ".join(f"{c} = COALESCE(f.{c}, e.{c})" if c != "rescue_code" else
                         "rescue_code = COALESCE(f.rescue_code, e.rescue_code)" for c in names)
        cur.execute(f"UPDATE {table} AS e SET {sets}, updated_at = %s FROM demo_fill AS f WHERE e.id = f.id", [_now()])
        cols = ", ".join(connection.ops.quote_name(c) for c in _history_columns(Elevator))
        cur.execute(f"INSERT INTO {htable} ({cols}, history_date, history_change_reason, history_type, history_user_id) "
                    f"SELECT {cols}, %s, %s, '~', NULL FROM {table} WHERE id IN (SELECT id FROM demo_fill)",
                    [_now(), reason])
        cur.execute("DROP TABLE demo_fill")


def generate(city_code: str = NYC_CITY_CODE, elevator_source: str = NYC_SOURCE, log: Log = lambda m: None) -> Result:
    """Generate the missing organisations, contracts, rescue codes and place types for ``elevator_source``.

    Args:
        city_code: the area code of the city whose children are the boroughs.
        elevator_source: the ``Elevator.source`` to complete (``"nyc-dob"``).
        log: called with one line per step (progress for the command line).

    Returns:
        :class:`Result` with what was created (zeros when everything was already there).

    Raises:
        Area.DoesNotExist: if ``city_code`` is not an area (the registry was not imported).
    """
    started = time.monotonic()
    cpu0 = time.process_time()

    def log_step(msg: str) -> None:
        log(f"{msg} [{time.monotonic() - started:.1f} s, CPU {time.process_time() - cpu0:.1f} s]")

    _ensure_orgs.created = 0  # type: ignore[attr-defined]
    result = Result()
    city = Area.objects.get(code=city_code)
    for root in Area.objects.filter(code=city.jurisdiction_code, code__startswith="US-NY").exclude(time_zone=NYC_TIME_ZONE):
        root.time_zone = NYC_TIME_ZONE  # New York's local time for its statistics, periods and order numbers
        root.save()
    area_to_borough, boroughs = _boroughs(city)
    borough_by_name = {_borough_name(b): b for b in boroughs.values()}

    rows = list(Elevator.objects.filter(source=elevator_source).order_by("source_id").values_list(
        "pk", "source_id", "area_id", "building_id", "address", "latitude", "longitude", "status", "status_date",
        "source_type", "manufacturer_name_raw", "extra", "place_type", "use_unit_id", "inspection_agency_id",
        "insurer_id", "rescue_code", "jurisdiction", "installation_date"))
    log_step(f"{len(rows)} {elevator_source} elevators in {city.name_en or city.name}")
    if not rows:
        return result

    # --- where things are: per borough elevator counts and coordinates ----------------------
    counts = Counter(_borough_name(area_to_borough.get(r[2])) for r in rows)

    with transaction.atomic():
        # --- maintenance units -----------------------------------------------------------
        specs = []
        for i, (name, grade, _share) in enumerate(BIG_FIRMS, 1):
            specs.append(dict(kind=Organisation.Kind.MAINTENANCE_UNIT, source_key=f"mu:big:{i}", name=name, grade=grade,
                              licence_no=f"TS3310{i:03d}-2028", area=city, phone=_phone(i), address="New York, NY"))
        seq = len(BIG_FIRMS)
        for bname, hoods in NEIGHBOURHOODS.items():
            b = borough_by_name.get(bname)
            if b is None:
                continue
            for j, hood in enumerate(hoods):
                seq += 1
                r = _rng("mu", bname, j)
                grade = r.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()))[0]
                specs.append(dict(kind=Organisation.Kind.MAINTENANCE_UNIT, source_key=f"mu:{bname}:{j}",
                                  name=f"{hood} {FIRM_SUFFIXES[j % len(FIRM_SUFFIXES)]}", grade=grade,
                                  licence_no=f"TS3310{seq:03d}-{2026 + seq % 3}", area=b, phone=_phone(seq),
                                  address=f"{hood}, {bname}, NY"))
        mus = _ensure_orgs(specs, log)
        big = [mus[f"mu:big:{i}"] for i in range(1, len(BIG_FIRMS) + 1)]
        market: dict[str, tuple[list[Organisation], list[float]]] = {}
        for bname in list(NEIGHBOURHOODS) + ["New York City"]:
            r = _rng("market", bname)
            units = list(big)
            weights = [share * r.uniform(0.75, 1.25) for _n, _g, share in BIG_FIRMS]
            locals_ = [mus[k] for k in sorted(mus) if k.startswith(f"mu:{bname}:")]
            rest = max(0.0, 1.0 - sum(weights))
            zipf = [1 / (rank ** 1.2) for rank in range(1, len(locals_) + 1)]
            units += locals_
            weights += [rest * z / sum(zipf) for z in zipf] if locals_ else []
            market[bname] = (units, weights)

        # --- rescue stations at the densest clusters, a fire brigade --------------------------
        specs = []
        cells: dict[str, Counter] = defaultdict(Counter)
        sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for r_ in rows:
            if r_[5] is None or r_[6] is None:
                continue
            bname = _borough_name(area_to_borough.get(r_[2]))
            cell = (round(r_[5] / 0.015), round(r_[6] / 0.02))
            cells[bname][cell] += 1
            s = sums[(bname, cell)]
            s[0] += r_[5]; s[1] += r_[6]; s[2] += 1
        for bname, b in sorted(borough_by_name.items()):
            wanted = max(2, math.ceil(counts.get(bname, 0) / 5000) + 1)
            chosen: list[tuple] = []
            for cell, _n in sorted(cells[bname].items(), key=lambda kv: (-kv[1], kv[0])):
                if all(abs(cell[0] - c[0]) + abs(cell[1] - c[1]) >= 3 for c in chosen):
                    chosen.append(cell)
                if len(chosen) == wanted:
                    break
            for k, cell in enumerate(chosen, 1):
                lat, lon, n = sums[(bname, cell)]
                specs.append(dict(kind=Organisation.Kind.RESCUE_STATION, source_key=f"rs:{bname}:{k}",
                                  name=f"{bname} Rescue Station {k}", area=b, latitude=round(lat / n, 5),
                                  longitude=round(lon / n, 5), phone=_phone(60 + len(specs)), address=f"{bname}, NY"))
        name, lat, lon, phone = FIRE_BRIGADE
        specs.append(dict(kind=Organisation.Kind.FIRE_BRIGADE, source_key="fb:nyc", name=name, area=city,
                          latitude=lat, longitude=lon, phone=phone, address="9 MetroTech Center, Brooklyn, NY"))
        _ensure_orgs(specs, log)

        # --- inspection agencies and insurers ----------------------------------------------
        specs = [dict(kind=Organisation.Kind.INSPECTION_AGENCY, source_key=f"ia:{i}", name=n, area=city, phone=_phone(80 + i),
                      licence_no=f"TS7310{i:03d}-2027", address="New York, NY")
                 for i, (n, _b) in enumerate(INSPECTION_AGENCIES, 1)]
        agencies = _ensure_orgs(specs, log)
        agency_of = {bname: agencies[f"ia:{i}"] for i, (_n, bs) in enumerate(INSPECTION_AGENCIES, 1) for bname in bs}
        specs = [dict(kind=Organisation.Kind.INSURER, source_key=f"in:{i}", name=n, area=city, phone=_phone(90 + i), address="New York, NY")
                 for i, (n, _w) in enumerate(INSURERS, 1)]
        insurers_map = _ensure_orgs(specs, log)
        insurers = [insurers_map[f"in:{i}"] for i in range(1, len(INSURERS) + 1)]
        insurer_weights = [w for _n, w in INSURERS] + [1 - sum(w for _n, w in INSURERS)]

        # --- use units: one per building (or per address without a building) ------------------
        building_keys = dict(Building.objects.filter(pk__in={r_[3] for r_ in rows if r_[3]}).values_list("pk", "source_key"))
        site_of: dict[int, str] = {}
        first_of_site: dict[str, tuple] = {}
        for r_ in rows:
            site = f"uu:bin:{building_keys[r_[3]]}" if r_[3] else f"uu:addr:{normalize_address(r_[4]) or r_[1]}"
            site_of[r_[0]] = site
            first_of_site.setdefault(site, r_)
        specs = []
        for site, r_ in first_of_site.items():
            nycha = "NYCHA" in str(r_[11]).upper() or "HOUSING AUTHORITY" in (r_[10] or "").upper()
            addr = " ".join((r_[4] or "").split()).title()
            suffix = USE_UNIT_SUFFIXES[_rng("uu", site).randrange(len(USE_UNIT_SUFFIXES))]
            specs.append(dict(kind=Organisation.Kind.USE_UNIT, source_key=site,
                              name=(f"NYCHA · {addr}" if nycha else f"{addr} {suffix}")[:200] if addr else f"Building {site[7:]} {suffix}",
                              area_id=r_[2], address=addr[:255], latitude=r_[5], longitude=r_[6]))
        use_units = _ensure_orgs(specs, log)
        result.organisations = _ensure_orgs.created  # type: ignore[attr-defined]
        log_step(f"organisations: {result.organisations} created "
            f"({Organisation.objects.filter(generated=True).count()} generated in total)")

        # --- contracts: per site, one current unit; some with an earlier unit --------------------
        has_contract = set(MaintenanceContract.objects.filter(elevator__source=elevator_source).values_list("elevator_id", flat=True).distinct())
        contracts: list[MaintenanceContract] = []
        plan: dict[str, tuple] = {}
        for r_ in rows:
            pk, source_id, area_id = r_[0], r_[1], r_[2]
            if pk in has_contract:
                continue
            site = site_of[pk]
            if site not in plan:
                rs = _rng("contract", site)
                units, weights = market[_borough_name(area_to_borough.get(area_id))]
                current = rs.choices(units, weights=weights)[0]
                start = dt.date(2016, 1, 1) + dt.timedelta(days=rs.randrange(0, 3800))  # 2016-01 .. 2026-05
                earlier = None
                if rs.random() < 0.2:
                    prev_unit = rs.choices([u for u in units if u != current], weights=[w for u, w in zip(units, weights) if u != current])[0]
                    prev_start = start - dt.timedelta(days=rs.randrange(365, 3 * 365))
                    earlier = (prev_unit, prev_start)
                plan[site] = (current, start, earlier)
            current, start, earlier = plan[site]
            year = start.year
            if r_[7] == Elevator.Status.SCRAPPED:  # maintained until it was dismantled, by the site's unit
                end = r_[8] or dt.date(2015, 10, 1)
                begin = end - dt.timedelta(days=_rng("scrapped", pk).randrange(365, 8 * 365))
                contracts.append(MaintenanceContract(elevator_id=pk, maintenance_unit=current, start_date=begin, end_date=end,
                                                     contract_no=f"MC-{current.pk}-{begin.year}-{pk:06d}", generated=True))
                continue
            if earlier:
                unit, prev_start = earlier
                contracts.append(MaintenanceContract(elevator_id=pk, maintenance_unit=unit, start_date=prev_start,
                                                     end_date=start - dt.timedelta(days=1), contract_no=f"MC-{unit.pk}-{prev_start.year}-{pk:06d}",
                                                     generated=True))
            contracts.append(MaintenanceContract(elevator_id=pk, maintenance_unit=current, start_date=start, end_date=None,
                                                 contract_no=f"MC-{current.pk}-{year}-{pk:06d}", generated=True))
        if contracts:
            _insert(MaintenanceContract, contracts)
            _history_of_new(MaintenanceContract, "generated")
        result.contracts = len(contracts)
        log_step(f"maintenance contracts: {len(contracts)} created")

        # --- elevators: use unit, agency, insurer, rescue code, place type ----------------------
        used_codes: dict[str, set[str]] = defaultdict(set)
        for j, code in Elevator.objects.exclude(rescue_code="").values_list("jurisdiction", "rescue_code"):
            used_codes[j].add(code)
        need_code = Counter(r_[17] for r_ in rows if not r_[16])
        pools = {j: iter(_rng("rescue", j).sample(range(100000, 1000000), min(900000, n + len(used_codes[j]))))
                 for j, n in need_code.items()}
        changes: dict[int, dict] = {}
        for r_ in rows:
            pk = r_[0]
            ch: dict = {}
            if r_[13] is None:
                ch["use_unit_id"] = use_units[site_of[pk]].pk
            bname = _borough_name(area_to_borough.get(r_[2]))
            if r_[14] is None:
                agency = agency_of.get(bname) or agencies["ia:1"]
                ch["inspection_agency_id"] = agency.pk
            if r_[15] is None:
                ri = _rng("insurer", site_of[pk])
                pick = ri.choices(insurers + [None], weights=insurer_weights)[0]
                if pick is not None:
                    ch["insurer_id"] = pick.pk
            if not r_[16]:
                for code in pools[r_[17]]:
                    code = str(code)
                    if code not in used_codes[r_[17]]:
                        used_codes[r_[17]].add(code)
                        ch["rescue_code"] = code
                        break
            if r_[12] is None:
                status_desc = ""
                place, crowded = derive_place_type(r_[9], r_[10], r_[11], status_desc)
                if place is not None:
                    ch["place_type"] = place
                    ch["crowded_place"] = crowded
            if ch:
                changes[pk] = ch
        _fill_elevators(changes)
        ids = changes
        result.elevators_updated = len(ids)
        log_step(f"elevators completed: {len(ids)} (use unit, inspection agency, insurer, rescue code, place type)")
    result.seconds = time.monotonic() - started
    return result


# --- the MTA station units ----------------------------------------------------------------------

@dataclass
class MtaResult:
    """What one :func:`complete_mta` run filled (all zero on a second run)."""

    elevators_updated: int = 0
    contracts: int = 0
    coordinates: int = 0
    rescue_codes: int = 0
    seconds: float = 0.0


def read_station_points(path: Path = MTA_STATIONS_FILE) -> dict[str, tuple[float, float]]:
    """MTA Station ID → (latitude, longitude) of its GTFS stop (the first row of a Station ID wins).

    Raises:
        FileNotFoundError: the stations file is missing.
    """
    text = gzip.decompress(Path(path).read_bytes()).decode("utf-8-sig")
    points: dict[str, tuple[float, float]] = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        sid = (row.get("Station ID") or "").strip()
        try:
            lat, lon = float(row["GTFS Latitude"]), float(row["GTFS Longitude"])
        except (KeyError, TypeError, ValueError):
            continue
        if sid and sid not in points:
            points[sid] = (lat, lon)
    return points


def complete_mta(source: str = MTA_SOURCE, log: Log = lambda m: None) -> MtaResult:
    """Complete the MTA station units the way :func:`generate` completes the NYC registry, so that level-1
    dispatch and the reports work for them. Only fills what is missing; a second run changes nothing.

    - **maintenance contract**: MTA maintains its own units (its outage tickets are work orders of its
      Elevator & Escalator department), so every unit without any contract gets an open-ended contract with
      that department from 2023-01-01 (the 2023 data's first day), ``generated=True``; a unit with no contract
      cannot overlap one, so they are written in bulk like :func:`generate`'s; the department is the same
      organisation :func:`liftsafe.emergency.mta_replay.ensure_in_house_maintainer` uses;
    - **use unit**: MTA New York City Transit, the operator of every station (one organisation,
      ``generated=True``, ``source="demo"``);
    - **rescue code**: a unique 6-digit code within the jurisdiction (docs/domain §1.5), never one already used;
    - **coordinates**: those of the unit's station (its ``Station MRN`` in MTA's Subway Stations table, real
      data, see ``liftsafe/demo/data/SOURCE.md``); a unit whose station is not in the table keeps none.

    Every changed elevator gets a "~" history record naming the demo (:data:`MTA_HISTORY_REASON`).

    Returns:
        :class:`MtaResult` with the counts (zeros when nothing was missing).
    """
    from liftsafe.emergency.mta_replay import MAINTAINER_SINCE, MTA_MAINTAINER

    started = time.monotonic()
    result = MtaResult()
    elevators = list(Elevator.objects.filter(source=source).select_related("area").order_by("source_id"))
    if not elevators:
        return result
    points = read_station_points()
    city = elevators[0].area
    while city.parent_id and city.level != "city":
        city = city.parent
    with transaction.atomic():
        _ensure_orgs.created = 0  # type: ignore[attr-defined]
        name, address = MTA_USE_UNIT
        use_unit = _ensure_orgs([dict(kind=Organisation.Kind.USE_UNIT, source_key=MTA_USE_UNIT_KEY, name=name,
                                      area=city, address=address)], log)[MTA_USE_UNIT_KEY]
        maintainer, _ = Organisation.objects.get_or_create(
            kind=Organisation.Kind.MAINTENANCE_UNIT, source="nyc-mta", source_key="E&E",
            defaults={"name": MTA_MAINTAINER, "area": city, "address": "2 Broadway, New York, NY"})
        has_contract = set(MaintenanceContract.objects.filter(elevator__in=elevators).values_list("elevator_id", flat=True))
        # units without any contract cannot overlap one: written in bulk like generate()'s contracts
        contracts = [MaintenanceContract(elevator_id=e.pk, maintenance_unit=maintainer, start_date=MAINTAINER_SINCE,
                                         end_date=None, contract_no=MTA_CONTRACT_NO, generated=True)
                     for e in elevators if e.pk not in has_contract]
        if contracts:
            _insert(MaintenanceContract, contracts)
            _history_of_new(MaintenanceContract, "generated")
        result.contracts = len(contracts)
        log(f"MTA units: {result.contracts} in-house maintenance contracts created [{time.monotonic() - started:.1f} s]")

        by_jurisdiction: dict[str, list[Elevator]] = defaultdict(list)
        for e in elevators:
            if not e.rescue_code:
                by_jurisdiction[e.jurisdiction].append(e)
        changes: dict[int, dict] = defaultdict(dict)
        for j, todo in sorted(by_jurisdiction.items()):
            used = set(Elevator.objects.filter(jurisdiction=j).exclude(rescue_code="").values_list("rescue_code", flat=True))
            pool = (str(c) for c in _rng("rescue", "mta", j).sample(range(100000, 1000000), min(900000, len(todo) + len(used))))
            for e, code in zip(todo, (c for c in pool if c not in used)):
                changes[e.pk]["rescue_code"] = code
                result.rescue_codes += 1
        for e in elevators:
            if e.use_unit_id is None:
                changes[e.pk]["use_unit_id"] = use_unit.pk
            point = points.get(str((e.extra or {}).get("Station MRN", "")).strip())
            if (e.latitude is None or e.longitude is None) and point:
                changes[e.pk]["latitude"], changes[e.pk]["longitude"] = point
                result.coordinates += 1
        _fill_elevators(dict(changes), reason=MTA_HISTORY_REASON)
        result.elevators_updated = len(changes)
    result.seconds = time.monotonic() - started
    log(f"MTA units completed: {result.elevators_updated} (use unit, {result.rescue_codes} rescue codes, "
        f"{result.coordinates} coordinates) [{result.seconds:.1f} s]")
    return result


def describe_replay(rep) -> str:
    """One line saying what a :func:`liftsafe.emergency.mta_replay.replay` run did: cases opened and calls
    attached, or, when every ticket had been replayed before (a restart), that nothing new was replayed."""
    tickets = sum(rep.rows.values())
    opened = sum(n for k, n in rep.outcome.items() if k.startswith("case opened"))
    attached = rep.outcome.get("attached to the unit's open case (call_attached)", 0)
    again = rep.outcome.get("already replayed (idempotent)", 0)
    if not opened and not attached:
        return (f"MTA 2023 tickets: already replayed, nothing new ({tickets} tickets read, {again} replayed before)"
                if again else f"MTA 2023 tickets: none replayed ({tickets} tickets read, no unit of them in the registry)")
    dispatched = sum(n for k, n in rep.milestones.items() if k.startswith("dispatched"))
    return (f"MTA 2023 tickets replayed: {tickets} tickets read, {opened} cases opened ({dispatched} dispatched), "
            f"{attached} calls attached to an open case, {again} replayed before")


# --- accounts ---------------------------------------------------------------------------------

@dataclass
class Account:
    """A demo login: ``username``, its role and a one-line description of what it sees."""

    username: str
    role: str
    organisation: str
    area: str
    sees: str


def _biggest(kind: str, city: Area) -> Organisation | None:
    """The generated organisation of ``kind`` with the most current elevators (deterministic tie-break on pk)."""
    qs = Organisation.objects.filter(kind=kind, source=SOURCE).exclude(source_key=MTA_USE_UNIT_KEY)  # a building's unit
    if kind == Organisation.Kind.MAINTENANCE_UNIT:
        from liftsafe.registry.selectors import current_contracts

        top = current_contracts().filter(maintenance_unit__in=qs).values("maintenance_unit").annotate(n=Count("id")).order_by("-n", "maintenance_unit")[:1]
        return qs.filter(pk=top[0]["maintenance_unit"]).first() if top else qs.first()
    rel = {Organisation.Kind.USE_UNIT: "used_elevators", Organisation.Kind.INSPECTION_AGENCY: "inspected_elevators",
           Organisation.Kind.INSURER: "insured_elevators"}.get(kind)
    if rel:
        return qs.annotate(n=Count(rel)).order_by("-n", "pk").first()
    return qs.order_by("pk").first()


def create_accounts(city_code: str = NYC_CITY_CODE, borough: str = "Manhattan") -> list[Account]:
    """Create (or reset) one demo user per role with :data:`DEMO_PASSWORD`; return them for printing.

    Users: ``admin`` (superuser), ``regulator`` (the city), ``regulator_mn``
    (one borough), ``operator`` (96333 call centre, the city), ``maintenance``
    (the biggest maintenance unit), ``useunit`` (the use unit with the most
    elevators), ``inspector``, ``insurer``, ``rescue`` (a rescue station in the
    borough). Idempotent: a second run resets passwords and profiles only.
    """
    User = get_user_model()
    city = Area.objects.get(code=city_code)
    boro = Area.objects.filter(parent=city).filter(Q(name_en__iexact=borough) | Q(name__iexact=borough)).first() or city
    mu = _biggest(Organisation.Kind.MAINTENANCE_UNIT, city)
    uu = _biggest(Organisation.Kind.USE_UNIT, city)
    ia = _biggest(Organisation.Kind.INSPECTION_AGENCY, city)
    ins = _biggest(Organisation.Kind.INSURER, city)
    rs = Organisation.objects.filter(kind=Organisation.Kind.RESCUE_STATION, source=SOURCE, area=boro).order_by("pk").first() \
        or Organisation.objects.filter(kind=Organisation.Kind.RESCUE_STATION, source=SOURCE).order_by("pk").first()
    plan = [
        ("admin", None, None, None, "everything; the admin site at /admin/"),
        ("regulator", Role.REGULATOR, None, city, "every elevator of the city"),
        ("regulator_mn", Role.REGULATOR, None, boro, f"the elevators of {boro.name_en or boro.name} only"),
        ("operator", Role.OPERATOR, None, city, "the 96333 call centre: every elevator of the city"),
        ("maintenance", Role.MAINTENANCE_UNIT, mu, None, "the elevators it holds a current contract for"),
        ("useunit", Role.USE_UNIT, uu, None, "its own elevators (one building)"),
        ("inspector", Role.INSPECTION_AGENCY, ia, None, "the elevators it inspects"),
        ("insurer", Role.INSURER, ins, None, "the elevators it insures"),
        ("rescue", Role.RESCUE_STATION, rs, None, "the elevators in its borough (it may be dispatched there)"),
    ]
    out = []
    with transaction.atomic():
        for username, role, org, area, sees in plan:
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.liftsafe.invalid"})
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.is_superuser = user.is_staff = role is None
            user.save()
            if role is None:
                Profile.objects.filter(user=user).delete()
                out.append(Account(username, "admin", "", "", sees))
                continue
            if role in (Role.MAINTENANCE_UNIT, Role.USE_UNIT, Role.INSPECTION_AGENCY, Role.INSURER, Role.RESCUE_STATION) and org is None:
                continue  # nothing generated to belong to
            Profile.objects.update_or_create(user=user, defaults={"role": role, "organisation": org, "area": area})
            out.append(Account(username, str(role), org.name if org else "", (area.name_en or area.name) if area else "", sees))
    from liftsafe.exchange.demo import ensure_demo_destinations  # issue 6: two destinations on the app's loopback receiver

    ensure_demo_destinations(city_code, borough)
    return out


def visible_counts(accounts: list[Account]) -> dict[str, int]:
    """username → number of elevators that user sees (through the same selector as the pages)."""
    from liftsafe.registry.selectors import elevators_for

    User = get_user_model()
    return {a.username: elevators_for(User.objects.get(username=a.username)).count() for a in accounts}


# --- the whole setup ---------------------------------------------------------------------------

def registry_loaded(source: str = NYC_SOURCE) -> bool:
    """True when a completed (not dry-run) import of ``source`` exists and left elevators."""
    from liftsafe.registry.models import ImportRun

    return (ImportRun.objects.filter(mapping=source, status=ImportRun.Status.DONE, dry_run=False).exists()
            and Elevator.objects.filter(source=source).exists())


def load_registry(path: Path = NYC_DATA_FILE, progress: bool = True, log: Log = lambda m: None) -> bool:
    """Import the NYC registry unless a completed import is there already; True if it imported now.

    Raises:
        FileNotFoundError: if the data file is missing.
    """
    if registry_loaded():
        log("NYC registry already loaded")
        return False
    if not Path(path).exists():
        raise FileNotFoundError(f"NYC registry file not found: {path}")
    from liftsafe.registry.importer import run_import

    run_import(path, NYC_SOURCE, progress=progress)
    return True



def load_inspections(path: Path = NYC_DATA_FILE, log: Log = lambda m: None):
    """Import the NYC file's last periodic inspections as inspection records (mapping ``nyc-dob`` of
    :mod:`liftsafe.inspection.importer`) so the demo's lifts show real validity. Idempotent (no duplicate
    records; a second run only recomputes). Returns the :class:`~liftsafe.inspection.importer.ImportResult`."""
    from liftsafe.inspection.importer import import_records

    res = import_records(path, "nyc-dob")
    log(f"NYC inspections: {res.created} records created, {res.existing} already there, "
        f"not imported (unknown disposition): {dict(res.unknown)}; validity {res.validity}")
    return res
