"""Elevator identification for the call-taker: codes first, typo-tolerant ranked addresses, scoped.

Addresses are real rows of the NYC DOB registry (the repository's copy, liftsafe/registry/data/).
"""
import csv
import gzip
import time
from functools import lru_cache
from pathlib import Path

import pytest

from liftsafe.emergency.lookup import address_score, canonical_tokens, identify
from liftsafe.registry.models import Elevator, normalize_address

NYC = Path(__file__).resolve().parents[2] / "registry" / "data" / "nyc_dob_elevator_devices_2015.csv.gz"


def nyc_rows(limit=None, pred=None):
    with gzip.open(NYC, "rt", newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if limit is not None and i >= limit:
                return
            if pred is None or pred(row):
                yield row


def load_nyc(area, rows):
    objs = []
    for r in rows:
        address = f"{r['HOUSE_NUMBER']} {r['STREET_NAME']}".strip()
        objs.append(Elevator(source="nyc-test", source_id=r["DV_DEVICE_NUMBER"], jurisdiction=area.jurisdiction_code,
                             category="3110", area=area, address=address, search_address=normalize_address(address),
                             status="in_use" if r["Device Status"] == "A" else "stopped"))
    Elevator.objects.bulk_create(objs, batch_size=2000, ignore_conflicts=True)
    return len(objs)


@lru_cache(maxsize=1)
def sample_rows() -> tuple:
    """About 2,000 real NYC devices: the 68th-street blocks, Madison Avenue, Broadway, plus the file's first rows."""
    streets = ("68", "168", "MADISON", "BROADWAY")
    seen, unique = set(), []
    for i, r in enumerate(nyc_rows()):
        if (i < 500 or any(s in r["STREET_NAME"] for s in streets)) and r["DV_DEVICE_NUMBER"] not in seen:
            seen.add(r["DV_DEVICE_NUMBER"])
            unique.append(r)
    return tuple(unique)


@pytest.fixture
def nyc(world):
    """The :func:`sample_rows` devices in district A."""
    load_nyc(world.district_a, sample_rows())
    return world


def test_canonical_tokens():
    assert canonical_tokens("521 EAST   68TH Street") == ["521", "E", "68", "ST"]
    assert canonical_tokens("250 Madison Avenue") == ["250", "MADISON", "AVE"]


def test_address_score_orders_typos():
    real = "521 EAST   68 STREET"
    assert address_score("521 E 68 ST", real) == 100
    assert address_score("521 east 68", real) == 100
    assert address_score("512 EAST 68", real) > address_score("512 EAST 68", "521 EAST 168 STREET")
    assert address_score("521 E 68 ST", "521 W 34 ST") < 70


def test_exact_rescue_code(world):
    res = identify(world.users["operator"], "100001")
    assert res.status == "found" and res.unique == world.elevators["a1"]
    assert res.matches[0].field == "rescue_code" and res.matches[0].exact


@pytest.mark.parametrize("field", ["registration_code", "source_id"])
def test_exact_other_codes(world, field):
    a2 = world.elevators["a2"]
    res = identify(world.users["operator"], getattr(a2, field).lower())
    assert res.unique == a2 and res.matches[0].field == field


def test_certificate_full_width_brackets(world):
    a1 = world.elevators["a1"]
    Elevator.objects.filter(pk=a1.pk).update(use_certificate_no="梯11苏A00001(20)")
    res = identify(world.users["operator"], "梯11苏A00001（20）")
    assert res.unique == a1 and res.matches[0].field == "use_certificate_no"


def test_code_out_of_scope_is_unknown(world):
    # 100003 is B1's rescue code: the district-A operator must not find it
    res = identify(world.users["operator"], "100003")
    assert res.status == "not_found" or all(m.elevator.area_id == world.district_a.pk for m in res.matches)
    assert world.elevators["b1"] not in [m.elevator for m in res.matches]
    assert identify(world.users["city_regulator"], "100003").unique == world.elevators["b1"]


def test_unknown_code_clear_message(world):
    res = identify(world.users["operator"], "987654")
    assert res.status == "not_found" and res.matches == []
    assert "987654" in res.message


def test_near_code_suggested_not_exact(world):
    res = identify(world.users["operator"], "100010")  # A1 is 100001: one transposition
    assert res.status == "ambiguous"
    assert world.elevators["a1"] in [m.elevator for m in res.matches]
    assert not any(m.exact for m in res.matches)


def test_empty(world):
    assert identify(world.users["operator"], "   ").status == "empty"


def test_nobody_finds_nothing(world):
    assert identify(world.users["nobody"], "100001").status == "not_found"


@pytest.mark.parametrize("query", ["521 EAST 68 STREET", "521 E 68 ST", "521 east 68th st", "512 EAST 68", "521 EAST 68"])
def test_real_nyc_address_typos(nyc, query):
    res = identify(nyc.users["operator"], query)
    assert res.matches, res.message
    top = res.matches[0].elevator
    assert normalize_address(top.address) == "521 EAST 68 STREET", [m.elevator.address for m in res.matches[:5]]
    # one building with many devices: the operator must choose the car
    assert res.status == "ambiguous" and len({m.elevator.pk for m in res.matches}) > 1
    assert res.groups[0][0] == top.address


def test_nyc_ambiguous_address_lists_several_buildings(nyc):
    res = identify(nyc.users["operator"], "EAST 68 STREET")
    addresses = {normalize_address(m.elevator.address) for m in res.matches}
    assert len(addresses) > 1 and res.status == "ambiguous"
    assert all("68" in a for a in addresses)


def test_nyc_unknown_address(nyc):
    res = identify(nyc.users["operator"], "99999 ZZYZX PLAZA")
    assert res.status == "not_found" and "ZZYZX" in res.message


def test_nyc_address_out_of_scope(nyc):
    res = identify(nyc.users[("maintenance_unit")], "521 EAST 68 STREET")
    assert all(m.elevator.address != "521 EAST   68 STREET" for m in res.matches)


def test_lookup_fast(nyc):
    user = nyc.users["operator"]
    t0 = time.perf_counter()
    for q in ("512 EAST 68", "521 E 68 ST", "MADISON AVE", "100001"):
        identify(user, q)
    assert (time.perf_counter() - t0) / 4 < 0.5


def test_address_with_many_devices_ranks_passenger_lifts_first(world):
    """NYC-style building: dumbwaiters (1D…) and a freight lift sort before the passenger cars by device
    number; the call-taker must see the passenger lifts (3110/3210) first."""
    from liftsafe.testing import make_elevator

    addr = "521 EAST 68 STREET"
    kinds = [("1D1", "3430"), ("1D2", "3430"), ("1F1", "3120"), ("1P1", "3110"), ("1S1", "3310"), ("1H1", "3210")]
    for sid, cat in kinds:
        make_elevator(sid, world.district_a, category=cat, address=addr, search_address=normalize_address(addr))
    res = identify(world.users["operator"], "521 E 68 ST")
    got = [(m.elevator.source_id, m.elevator.category) for m in res.matches if m.elevator.address == addr]
    assert len(got) == 6
    assert {c for _s, c in got[:2]} == {"3110", "3210"}
    assert all(c not in ("3110", "3210") for _s, c in got[2:])
