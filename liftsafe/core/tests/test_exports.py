"""Spreadsheet formula injection (issue 18 item 7): one export helper, every CSV/XLSX download inert."""
import csv
import io
import json
import zipfile

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from liftsafe.core import exports

PAYLOAD = '=HYPERLINK("http://x","y")'


def _session(user):
    c = Client()
    c.force_login(user)
    return c


def _body(resp) -> bytes:
    assert resp.status_code == 200, resp.content
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


@pytest.mark.parametrize("value", ["=1+1", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1+1",
                                   "\u3000=1", "\n =1", PAYLOAD])
def test_formula_like_values_are_neutralised(value):
    assert exports.is_formula_like(value)
    assert exports.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["", "plain", "12", "-12.5", "+86", "1e5", "3%", "a=b", "中文 =x", None, 5, -3.2])
def test_ordinary_values_are_unchanged(value):
    want = "" if value is None else value
    assert exports.csv_cell(value) == want


def test_xlsx_helper_stores_formulas_as_text_in_both_sheet_kinds():
    for write_only in (True, False):
        wb = Workbook(write_only=write_only)
        ws = wb.create_sheet("s") if write_only else wb.active
        exports.xlsx_append(ws, [PAYLOAD, "-1+2", "ok", 3])
        buf = io.BytesIO()
        wb.save(buf)
        xml = "".join(zipfile.ZipFile(io.BytesIO(buf.getvalue())).read(n).decode() for n in
                      zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist() if n.startswith("xl/worksheets/"))
        assert "<f>" not in xml and "<f " not in xml, write_only
        sheet = load_workbook(io.BytesIO(buf.getvalue())).worksheets[0]
        cell = sheet["A1"]
        assert cell.value == PAYLOAD and cell.data_type == "s" and cell.quotePrefix, write_only
        assert sheet["B1"].quotePrefix and sheet["D1"].value == 3


def test_address_set_by_one_role_is_inert_in_another_roles_csv_and_xlsx(world):
    """Regression: a regulator sets ``=HYPERLINK(...)`` as an address through the API; the use unit's download is inert."""
    e = world.elevators["a1"]
    regulator = _session(world.users["regulator"])
    r = regulator.patch(f"/api/registry/elevators/{e.pk}", data=json.dumps({"address": PAYLOAD, "reason": "test"}),
                        content_type="application/json")
    assert r.status_code == 200, r.content
    reader = _session(world.users["use_unit"])
    for url in ("/api/registry/elevators/export.csv", "/registry/elevators/export.csv"):
        text = _body(reader.get(url, {"header": "keys", "q": "a1"})).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        rec = dict(zip(rows[0], rows[1]))
        assert rec["address"] == "'" + PAYLOAD
    for url in ("/api/registry/elevators/export.xlsx", "/registry/elevators/export.xlsx"):
        data = _body(reader.get(url, {"header": "keys", "q": "a1"}))
        z = zipfile.ZipFile(io.BytesIO(data))
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "HYPERLINK" in (sheet_xml + z.read("xl/sharedStrings.xml").decode()
                                                          if "xl/sharedStrings.xml" in z.namelist() else sheet_xml)
        ws = load_workbook(io.BytesIO(data)).active
        header = [c.value for c in ws[1]]
        cell = ws.cell(row=2, column=header.index("address") + 1)
        assert cell.value == PAYLOAD and cell.data_type == "s" and cell.quotePrefix


def test_hazard_statistics_exports_go_through_the_helper(world):
    """The hazards statistics CSV/XLSX use the shared helper: an area named like a formula comes out inert."""
    from liftsafe.core.models import Area
    from liftsafe.hazards.tests.helpers import file_hazard

    h = file_hazard(world)
    Area.objects.filter(pk=h.area_id).update(name="=1+1")
    c = _session(world.users["admin"])
    rows = list(csv.reader(io.StringIO(_body(c.get("/hazards/stats/", {"format": "csv"})).decode("utf-8-sig"))))
    assert "'=1+1" in [r[0] for r in rows]
    ws = load_workbook(io.BytesIO(_body(c.get("/hazards/stats/", {"format": "xlsx"})))).active
    cells = [row[0] for row in ws.iter_rows(min_row=2) if row[0].value == "=1+1"]
    assert cells and all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
    assert ws["K2"].number_format == "0.0%"


def test_import_report_csv_is_neutralised():
    buf = io.StringIO()
    exports.SafeCsvWriter(buf).writerow(["1", "@cmd", "ok"])
    assert buf.getvalue().strip() == "1,'@cmd,ok"
