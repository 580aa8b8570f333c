"""Real-world intake (issue 16): spreadsheets as offices save them, built here from the failing inputs.

Every file is generated in the test: XLSX with openpyxl (numeric cells, merged group headers,
instruction sheets, title rows), CSV as Excel on Chinese Windows writes it (GB18030), NYC-style
CSVs with long building keys and lengths in words. All names say 测试数据 (synthetic data).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import translation

from liftsafe.registry.importer import ImportFileError, report_rows, run_import
from liftsafe.registry.importer.engine import fit_key
from liftsafe.registry.models import Building, Elevator, ImportRun

from .test_import_nyc import nyc_csv

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = FIXTURES / "cn_template_sample.csv"
CN_TEMPLATE = Path(__file__).resolve().parents[1] / "mappings" / "cn-template.toml"


def sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def by_action(run, action: str) -> dict[str, tuple[str, str]]:
    return {r["source_id"]: (r["field"], r["reason"]) for r in report_rows(run.report_csv) if r["action"] == action}


def write_xlsx(path: Path, header: list[str], rows: list[dict], *, above: list[list] = ()) -> Path:
    """One sheet: the rows of ``above`` (titles), the header, then the rows; values are written as given
    (a Python int/float becomes a NUMERIC cell, as when a code is typed into Excel)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "电梯台账"
    for r in above:
        ws.append(list(r))
    ws.append(header)
    for r in rows:
        ws.append([r.get(c) if r.get(c) != "" else None for c in header])
    wb.save(path)
    return path


# --- 1. identity codes typed into Excel as numbers -------------------------------------------------


def _numeric_code_rows():
    header, rows = sample_rows()
    good = rows[:3]
    r1, r2, r3 = (dict(x) for x in good)
    r1["注册代码"] = float("31103201022015080001")  # what Excel keeps of a typed 20-digit code: a double
    r2["注册代码"] = 31103201152018030002  # a 20-digit integer cell (openpyxl writes all digits; Excel never could)
    r3["设备代码"] = 311010123201900003  # the key itself typed as a number (18 digits)
    ok1 = dict(good[0], 注册代码="", 设备代码="311010123202000011", 救援识别码=12345, 层数=18.0, 站数=18,
               **{"额定载重量(kg)": 1000, "额定速度(m/s)": 1.75})  # rescue code "012345" typed as a number
    ok2 = dict(good[1], 设备代码="331010123202000012", 救援识别码=900012.0)  # an integer-valued float cell
    return header, [r1, r2, r3, ok1, ok2]


@pytest.mark.django_db
def test_numeric_identity_cells_are_read_exactly_or_the_row_is_rejected(tmp_path):
    header, rows = _numeric_code_rows()
    f = write_xlsx(tmp_path / "台账.xlsx", header, rows)
    with translation.override("zh-hans"):
        run = run_import(f, "cn-template")
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (5, 2, 3)
    rejected = by_action(run, "rejected")
    assert rejected == {
        "311010123201500001": ("registration_code", "inexact_number"),
        "331010123201800002": ("registration_code", "inexact_number"),
        "3.110101232019e+17": ("source_id", "inexact_number"),  # the number as stored, not invented digits
    }
    lines = {r["source_id"]: r for r in report_rows(run.report_csv)}
    msg = lines["311010123201500001"]["message"]
    assert "注册代码" in msg and "3.110320102201508e+19" in msg and lines["311010123201500001"]["field_label"] == "注册代码"
    # never invented digits: neither in the database nor in the report
    invented = str(int(float("31103201022015080001")))
    assert invented not in run.report_csv and not Elevator.objects.filter(registration_code=invented).exists()
    assert not Elevator.objects.filter(source_id__in=["311010123201500001", "331010123201800002"]).exists()
    e = Elevator.objects.get(source_id="311010123202000011")
    assert (e.rescue_code, e.floors, e.stops, str(e.rated_load_kg), str(e.rated_speed_mps)) == ("12345", 18, 18, "1000.0", "1.750")
    assert Elevator.objects.get(source_id="331010123202000012").rescue_code == "900012"
    # a rescue code read from a number cell without a declared width: kept, and the report says a zero may be lost
    assert by_action(run, "note")["311010123202000011"] == ("rescue_code", "numeric_cell")
    assert run.summary["notes"] == {"救援识别码: numeric_cell": 2}


@pytest.mark.django_db
def test_fixed_width_rescue_code_gets_its_leading_zeros_back_and_says_so(tmp_path, capsys):
    """A mapping file given by path (--mapping ./sz.toml) declares 6-digit rescue codes (Shenzhen, FACTS §1.5)."""
    text = CN_TEMPLATE.read_text(encoding="utf-8").replace(
        '[fields.rescue_code]\ncolumn = "救援识别码"\n', '[fields.rescue_code]\ncolumn = "救援识别码"\nwidth = 6\n')
    assert "width = 6" in text
    mapping = tmp_path / "sz.toml"
    mapping.write_text(text, encoding="utf-8")
    header, rows = _numeric_code_rows()
    short_text = dict(rows[4], 设备代码="331010123202000013", 救援识别码="12346")  # typed as text, 5 digits: not 6
    f = write_xlsx(tmp_path / "台账.xlsx", header, rows[3:] + [short_text])
    out = tmp_path / "report.csv"
    with translation.override("zh-hans"):
        call_command("import", str(f), mapping=str(mapping), report=str(out), no_progress=True)
    stdout = capsys.readouterr().out
    e = Elevator.objects.get(source_id="311010123202000011")
    assert e.rescue_code == "012345" and e.source == "cn-template"
    assert ImportRun.objects.get().mapping == "sz"
    report = report_rows(out.read_text(encoding="utf-8-sig"))
    corrected = [r for r in report if r["action"] == "corrected"]
    assert [(r["source_id"], r["reason"], r["value"]) for r in corrected] == [("311010123202000011", "zero_padded", "12345")]
    assert "012345" in corrected[0]["message"] and "6" in corrected[0]["message"]
    assert by_action_rows(report, "rejected") == {"331010123202000013": ("rescue_code", "wrong_width")}
    assert "zero_padded" in stdout


def by_action_rows(report, action):
    return {r["source_id"]: (r["field"], r["reason"]) for r in report if r["action"] == action}


@pytest.mark.django_db
def test_csv_code_in_scientific_notation_is_rejected(tmp_path):
    """Excel saves a long number column to CSV as it displays it: 3.11032E+19."""
    header, rows = sample_rows()
    rows[0]["注册代码"] = "3.11032E+19"
    f = tmp_path / "导出.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows[:3])
    with translation.override("en"):
        run = run_import(f, "cn-template")
    assert by_action(run, "rejected") == {"311010123201500001": ("registration_code", "scientific_notation")}
    [line] = [r for r in report_rows(run.report_csv) if r["action"] == "rejected"]
    assert line["field_label"] == "registration code (注册代码)" and "scientific notation" in line["message"]
    assert run.rows_created == 2


# --- 2. building keys longer than the column -------------------------------------------------------


@pytest.mark.django_db
def test_thousands_of_long_building_keys_in_one_batch(tmp_path, settings):
    settings.LIFTSAFE_RULES = {"import_batch_rows": 5000}
    n = 3000
    prefix = "BIN-" + "测试数据长建筑编号" * 8  # 76 characters before the distinguishing part
    rows = [{"DV_DEVICE_NUMBER": f"1P{i}", "BIN": f"{prefix}-{i // 2:05d}"} for i in range(n)]  # 2 elevators per building
    f = nyc_csv(tmp_path / "long.csv", rows)
    dry = run_import(f, "nyc-dob", dry_run=True)
    assert (dry.rows_created, dry.rows_rejected) == (n, 0) and not Building.objects.exists() and not Elevator.objects.exists()
    run = run_import(f, "nyc-dob")
    assert (run.rows_created, run.rows_rejected, run.summary["buildings_created"]) == (n, 0, n // 2)
    assert run.summary["building_keys_hashed"] == n
    assert not Elevator.objects.filter(building__isnull=True).exists()
    assert all(len(k) <= 64 for k in Building.objects.values_list("source_key", flat=True))
    e = Elevator.objects.get(source_id="1P2999")
    assert e.building.source_key == fit_key(f"{prefix}-01499", 64) and e.building.elevators.count() == 2
    # re-import: same keys found, nothing changes
    again = run_import(f, "nyc-dob")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.summary["buildings_created"]) == (0, 0, n, 0)
    assert Building.objects.count() == n // 2


def test_fit_key_is_deterministic_and_distinct():
    a, b = "K" * 100 + "1", "K" * 100 + "2"
    assert fit_key("short", 64) == "short"
    assert len(fit_key(a, 64)) == 64 and fit_key(a, 64) == fit_key(a, 64) and fit_key(a, 64) != fit_key(b, 64)
