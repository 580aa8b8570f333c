"""The cn-template mapping (synthetic test data) and the blank-template command."""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from liftsafe.core.models import Area
from liftsafe.registry.importer import report_rows, run_import
from liftsafe.registry.models import Elevator, LifecycleEvent, MaintenanceContract, Organisation

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "cn_template_sample.csv"


def rejected(run) -> dict[str, tuple[str, str]]:
    return {r["source_id"]: (r["field"], r["reason"]) for r in report_rows(run.report_csv) if r["action"] == "rejected"}


def check_sample_result(run):
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (8, 3, 5)
    assert rejected(run) == {
        "311010123201500004": ("registration_code", "layout"),
        "311010123201500005": ("category", "invalid_choice"),
        "311010123201500006": ("installation_date", "future"),
        "311010123201500007": ("rated_load_kg", "positive"),
        "311010123201500008": ("area", "not_gbt2260"),
    }
    e1 = Elevator.objects.get(source="cn-template", source_id="311010123201500001")
    assert (e1.registration_code, e1.equipment_code, e1.use_certificate_no, e1.rescue_code) == (
        "31103201022015080001", "311010123201500001", "梯11苏A00001(15)", "900001")
    assert (e1.category, e1.place_type, e1.crowded_place, e1.status) == ("3110", 11, False, "in_use")
    assert (e1.rated_load_kg, e1.rated_speed_mps, e1.floors, e1.stops) == (Decimal("1000.0"), Decimal("1.750"), 18, 18)
    assert e1.last_inspection_conclusion == "pass" and e1.next_inspection_due == dt.date(2027, 5, 9)
    assert e1.use_unit.credit_code == "91320102TEST00001A" and e1.manufacturer.name == "测试数据-制造厂"
    assert e1.area.code == "320102" and e1.area.parent.code == "320100" and e1.area.parent.parent.code == "320000"
    assert e1.area.name == "玄武区" and e1.area.parent.name == "南京市" and e1.jurisdiction == "320000" and e1.urban
    e2 = Elevator.objects.get(source_id="331010123201800002")
    assert (e2.category, e2.place_type, e2.crowded_place, e2.installation_date) == ("3310", 6, True, dt.date(2018, 3, 15))
    e3 = Elevator.objects.get(source_id="311010123201900003")
    assert e3.area.code == "320281" and not e3.urban and not e3.area.urban  # county-level city: 60-min limit
    assert (e3.place_type, e3.crowded_place, e3.status) == (3, False, "stopped")  # 是否公众聚集场所 "否" wins over 医院
    assert e3.contracts.count() == 0
    today = timezone.localdate()
    unit = Organisation.objects.get(kind="maintenance_unit", licence_no="TS-TEST-0001")
    assert set(MaintenanceContract.objects.values_list("elevator__source_id", "maintenance_unit", "start_date", "end_date")) == {
        ("311010123201500001", unit.pk, today, None), ("331010123201800002", unit.pk, today, None)}
    assert LifecycleEvent.objects.filter(elevator=e1, kind="installed", occurred_on=dt.date(2015, 6, 1)).exists()
    assert LifecycleEvent.objects.filter(elevator=e1, kind="inspected", occurred_on=dt.date(2026, 5, 10)).exists()
    assert not Elevator.objects.filter(source_id__in=["311010123201500004", "311010123201500006"]).exists()


@pytest.mark.django_db
def test_cn_template_csv_sample():
    run = run_import(SAMPLE, "cn-template")
    check_sample_result(run)
    # re-import: nothing changes, no second contract
    again = run_import(SAMPLE, "cn-template")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    assert MaintenanceContract.objects.count() == 2 and MaintenanceContract.history.count() == 2


@pytest.mark.django_db
def test_cn_template_maintenance_unit_change_closes_the_old_contract(tmp_path):
    run_import(SAMPLE, "cn-template")
    today = timezone.localdate()
    c = MaintenanceContract.objects.get(elevator__source_id="311010123201500001")
    c.start_date = dt.date(2025, 1, 1)
    c.save()
    text = SAMPLE.read_text(encoding="utf-8").replace("测试数据-维保公司甲,TS-TEST-0001,320102", "测试数据-维保公司乙,TS-TEST-0002,320102", 1)
    f = tmp_path / "changed.csv"
    f.write_text(text, encoding="utf-8")
    run = run_import(f, "cn-template")
    assert run.summary["contracts_created"] == 1 and run.summary["contracts_closed"] == 1
    cs = list(MaintenanceContract.objects.filter(elevator__source_id="311010123201500001").order_by("start_date"))
    assert [(x.maintenance_unit.licence_no, x.start_date, x.end_date) for x in cs] == [
        ("TS-TEST-0001", dt.date(2025, 1, 1), today - dt.timedelta(days=1)), ("TS-TEST-0002", today, None)]
    assert cs[0].history.first().history_type == "~"


@pytest.mark.django_db
def test_blank_template_filled_as_xlsx(tmp_path):
    out = tmp_path / "template.xlsx"
    call_command("import_template", str(out))
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws.max_row == 2 and ws.cell(row=1, column=1).value.startswith("说明")
    header = [c.value for c in ws[2]]
    assert header[:2] == ["注册代码", "设备代码"] and "额定载重量(kg)" in header and "纬度" in header
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == header
    for r in rows[1:]:
        ws.append([v or None for v in r])
    wb.save(out)
    run = run_import(out, "cn-template")
    check_sample_result(run)
    assert Area.objects.filter(code="320281", name="江阴市", parent__code="320200", parent__name="无锡市").exists()
