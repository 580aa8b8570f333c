"""Exports: CSV (streamed) and XLSX of the search result, same filters and scope as the search."""
import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from liftsafe.testing import make_elevator
from liftsafe.registry import selectors
from liftsafe.registry.models import Elevator


def session(user):
    c = Client()
    c.force_login(user)
    return c


def csv_rows(resp):
    assert resp.status_code == 200, resp.content
    text = b"".join(resp.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(resp):
    assert resp.status_code == 200, resp.content
    data = b"".join(resp.streaming_content)
    ws = load_workbook(io.BytesIO(data), read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    width = len(rows[0])
    return [r + [None] * (width - len(r)) for r in rows]  # empty trailing cells are not written


def column(rows, key):
    i = rows[0].index(key)
    return {r[i] for r in rows[1:]}


@pytest.mark.parametrize("who,expected", [
    ("admin", {"A1", "A2", "B1", "B2"}), ("city_regulator", {"A1", "A2", "B1", "B2"}), ("regulator", {"A1", "A2"}),
    ("maintenance_unit", {"A1", "A2"}), ("use_unit", {"A1", "A2"}), ("insurer", {"A1", "A2"}), ("nobody", set()),
])
def test_csv_and_xlsx_hold_exactly_the_scope(world, who, expected):
    c = session(world.users[who])
    rows = csv_rows(c.get("/api/registry/elevators/export.csv", {"header": "keys"}))
    assert column(rows, "source_id") == expected
    rows = xlsx_rows(c.get("/api/registry/elevators/export.xlsx", {"header": "keys"}))
    assert column(rows, "source_id") == expected
    page = csv_rows(c.get("/registry/elevators/export.csv", {"header": "keys"}))
    assert column(page, "source_id") == expected


def test_export_applies_the_same_filters_as_search(world):
    admin = world.users["admin"]
    c = session(admin)
    for params in ({"area": "320104"}, {"q": "a2 test"}, {"q": world.elevators["b2"].rescue_code},
                   {"use_unit": world.orgs[("use_unit", "a")].pk}, {"maintenance_unit": world.orgs[("maintenance_unit", "a")].pk}):
        want = set(selectors.elevator_search(admin, **params).values_list("source_id", flat=True))
        got = column(csv_rows(c.get("/registry/elevators/export.csv", {**params, "header": "keys"})), "source_id")
        assert got == want, params
        got = column(xlsx_rows(c.get("/api/registry/elevators/export.xlsx", {**params, "header": "keys"})), "source_id")
        assert got == want, params


def test_export_content(world):
    a1 = world.elevators["a1"]
    rows = csv_rows(session(world.users["regulator"]).get("/api/registry/elevators/export.csv", {"header": "keys", "q": "a1"}))
    assert len(rows) == 2
    rec = dict(zip(rows[0], rows[1]))
    assert rec["registration_code"] == a1.registration_code
    assert rec["area_code"] == "320102" and rec["use_unit"] == "use_unit A" and rec["maintenance_unit"] == "maintenance_unit A"
    assert rec["status"] == "in_use" and rec["urban"] == "1"


def test_human_headers_and_labels_follow_the_language(world):
    from django.conf import settings
    from django.utils import translation

    from liftsafe.registry import exports

    c = session(world.users["regulator"])
    zh = xlsx_rows(c.get("/api/registry/elevators/export.xlsx", {"q": "a1"}))  # platform default: zh-Hans
    with translation.override("zh-hans"):
        assert zh[0] == exports.header_row(True)
        rec = dict(zip(zh[0], zh[1]))
        assert rec[str(Elevator._meta.get_field("status").verbose_name)] == str(Elevator.Status.IN_USE.label)
        assert rec[str(Elevator._meta.get_field("urban").verbose_name)] == "是"
    assert zh[0][0] == "ID" and "rated_load_kg" not in zh[0] and len(zh) == 2
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = xlsx_rows(c.get("/api/registry/elevators/export.xlsx", {"q": "a1"}))
    rec = dict(zip(en[0], en[1]))
    assert rec["rated load (kg)"] is None and rec["status"] == "In use" and rec["urban (30-minute arrival limit)"] == "yes"
    assert zh[0] != en[0]  # the Chinese catalogue translates the headers


def test_page_download_needs_login_and_reports_bad_filters(world):
    r = Client().get("/registry/elevators/export.csv")
    assert r.status_code == 302 and "/login/" in r["Location"]
    r = session(world.users["admin"]).get("/registry/elevators/export.xlsx", {"place_type": "x"})
    assert r.status_code == 400 and "place_type" in r.content.decode()
    r = session(world.users["admin"]).get("/registry/elevators/export.csv", {"status": "nope"})
    assert r.status_code == 400 and "status" in r.content.decode()
    r = session(world.users["admin"]).get("/api/registry/elevators/export.csv", {"header": "weird"})
    assert r.status_code == 422 and "header" in r.json()["errors"]
    assert Client().get("/api/registry/elevators/export.csv").status_code == 401


def test_xlsx_cap_is_a_clear_error(world, settings):
    settings.LIFTSAFE_EXPORT_XLSX_MAX_ROWS = 3
    c = session(world.users["admin"])
    r = c.get("/api/registry/elevators/export.xlsx")
    assert r.status_code == 422
    assert "4" in r.json()["detail"] and "CSV" in r.json()["detail"]
    assert c.get("/registry/elevators/export.xlsx").status_code == 400
    assert len(xlsx_rows(c.get("/api/registry/elevators/export.xlsx", {"area": "320102"}))) == 3  # 2 rows fit
    assert len(csv_rows(c.get("/api/registry/elevators/export.csv"))) == 5  # CSV is not capped


def test_export_streams_across_chunks(world):
    from liftsafe.registry import exports

    n = exports.CHUNK + 123
    Elevator.objects.bulk_create([
        Elevator(source="bulk", source_id=f"X{i:05d}", jurisdiction="320000", category="3110", area=world.district_a,
                 address=f"{i} Bulk Road", search_address=f"{i} BULK ROAD")
        for i in range(n)
    ])
    make_elevator("Z1", world.district_b, source="bulk")
    rows = csv_rows(session(world.users["regulator"]).get("/api/registry/elevators/export.csv", {"source": "bulk", "header": "keys"}))
    assert len(rows) == n + 1
    assert "Z1" not in column(rows, "source_id")
    assert [r[rows[0].index("source_id")] for r in rows[1:4]] == ["X00000", "X00001", "X00002"]
