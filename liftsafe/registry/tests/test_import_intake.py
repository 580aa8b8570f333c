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
    # a factory number typed as a long number: never stored as "1.2345678901234568e+16" (cn-template rejects the row)
    r6 = dict(good[2], 设备代码="311010123202000013", 救援识别码="900013", 出厂编号=12345678901234567)
    return header, [r1, r2, r3, ok1, ok2, r6]


@pytest.mark.django_db
def test_numeric_identity_cells_are_read_exactly_or_the_row_is_rejected(tmp_path):
    header, rows = _numeric_code_rows()
    f = write_xlsx(tmp_path / "台账.xlsx", header, rows)
    with translation.override("zh-hans"):
        run = run_import(f, "cn-template")
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (6, 2, 4)
    rejected = by_action(run, "rejected")
    assert rejected == {
        "311010123201500001": ("registration_code", "inexact_number"),
        "331010123201800002": ("registration_code", "inexact_number"),
        "3.110101232019e+17": ("equipment_code", "inexact_number"),  # the number as stored, not invented digits
        "311010123202000013": ("factory_number", "inexact_number"),
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
    """A mapping file given by path (--mapping ./sz.toml) declares 6-digit rescue codes (Shenzhen, docs/domain §1.5)."""
    text = CN_TEMPLATE.read_text(encoding="utf-8").replace(
        '[fields.rescue_code]\ncolumn = "救援识别码"\n', '[fields.rescue_code]\ncolumn = "救援识别码"\nwidth = 6\n')
    assert "width = 6" in text
    mapping = tmp_path / "sz.toml"
    mapping.write_text(text, encoding="utf-8")
    header, rows = _numeric_code_rows()
    short_text = dict(rows[4], 设备代码="331010123202000013", 救援识别码="12346")  # typed as text, 5 digits: not 6
    f = write_xlsx(tmp_path / "台账.xlsx", header, rows[3:5] + [short_text])
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


# --- 3./4. government-form layouts: instructions sheet, title rows, two-row headers, header variants ---------

# A 汇总表 as a district office fills it: group cells merged across their sub-headers, single
# headers merged down over both header rows, full-width brackets, a trailing space, a line break.
FORM_GROUPS = [  # (top-row text, [sub-headers] or None for a header merged down)
    ("序号", None), ("注册代码", None), ("设备代码 ", None), ("使用登记证编号", None), ("救援识别码", None),
    ("设备品种代码", None), ("使用单位", ["名称", "统一社会信用代码"]), ("维保单位", ["名称", "许可证编号"]),
    ("所在地行政区划代码", None), ("省", None), ("市", None), ("区县", None), ("安装地址", None), ("场所类型", None),
    ("制造单位", None), ("型号", None), ("出厂编号", None), ("安装日期", None), ("层数", None), ("站数", None),
    ("额定载重量（kg）", None), ("额定速度\n（m/s）", None), ("设备状态", None), ("最近检验日期", None), ("检验结论", None),
    ("下次检验日期", None), ("备注", None),
]
FORM_SOURCE = {"使用单位/名称": "使用单位名称", "使用单位/统一社会信用代码": "使用单位统一社会信用代码",
               "维保单位/名称": "维保单位名称", "维保单位/许可证编号": "维保单位许可证编号"}


def government_form(path: Path, rows: list[dict], *, title_rows: int = 7, instructions: bool = True) -> Path:
    wb = openpyxl.Workbook()
    if instructions:
        ins = wb.active
        ins.title = "填表说明"
        for line in ["填表说明（测试数据）", "1. 设备代码为必填项，请按 TSG 08-2017 填写。", "2. 注册代码请设置为文本格式。",
                     "3. 使用单位、维保单位请填写全称和代码。", "设备代码", "注册代码"]:
            ins.append([line])
        ws = wb.create_sheet("电梯使用登记汇总表")
    else:
        ws = wb.active
        ws.title = "电梯使用登记汇总表"
    columns: list[tuple[str, str | None]] = []  # (source column of the sample, sub-header)
    for top, subs in FORM_GROUPS:
        if subs:
            columns += [(f"{top}/{s}", s) for s in subs]
        else:
            columns.append((top, None))
    width = len(columns)
    ws.cell(row=1, column=1, value="测试数据市电梯使用登记信息汇总表")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for i in range(2, title_rows + 1):
        ws.cell(row=i, column=1, value=["填报单位：测试数据市市场监督管理局", "填报日期：2026年11月30日", "单位：台",
                                        "（本表数据为测试数据）", "审核人：", "联系电话：", "备注：无"][(i - 2) % 7])
    top_row, sub_row = title_rows + 1, title_rows + 2
    col = 1
    for top, subs in FORM_GROUPS:
        ws.cell(row=top_row, column=col, value=top)
        if subs:
            ws.merge_cells(start_row=top_row, start_column=col, end_row=top_row, end_column=col + len(subs) - 1)
            for k, s in enumerate(subs):
                ws.cell(row=sub_row, column=col + k, value=s)
            col += len(subs)
        else:
            ws.merge_cells(start_row=top_row, start_column=col, end_row=sub_row, end_column=col)
            col += 1
    for n, r in enumerate(rows, start=1):
        values = []
        for name, _sub in columns:
            if name == "序号":
                values.append(n)
                continue
            if name == "备注":
                values.append("测试数据")
                continue
            key = FORM_SOURCE.get(name, re.sub(r"\s+", "", name).replace("（", "(").replace("）", ")"))
            v = r.get(key, "")
            values.append(v if v != "" else None)
        ws.append(values)
    wb.save(path)
    return path


@pytest.mark.django_db
def test_government_form_with_instructions_sheet_title_rows_and_two_row_header(tmp_path):
    _h, rows = sample_rows()
    f = government_form(tmp_path / "汇总表.xlsx", rows[:3])
    run = run_import(f, "cn-template")
    # the sub-header row is a header, not a rejected data row; the grouped columns are read
    assert (run.rows_total, run.rows_created, run.rows_rejected) == (3, 3, 0)
    s = run.summary
    assert (s["sheet"], s["header_row"], s["header_rows"]) == ("电梯使用登记汇总表", 9, 2)
    e1 = Elevator.objects.get(source_id="311010123201500001")
    assert e1.use_unit.name == "测试数据-使用单位甲" and e1.use_unit.credit_code == "91320102TEST00001A"
    assert e1.contracts.get().maintenance_unit.licence_no == "TS-TEST-0001"
    assert str(e1.rated_load_kg) == "1000.0" and str(e1.rated_speed_mps) == "1.750"  # （kg） and a line break in the header
    assert e1.registration_code == "31103201022015080001" and e1.address == "测试数据 玄武区示例路1号"
    # not silent: the extra column and the optional columns the form lacks are in the summary and the report
    assert s["unrecognised_columns"] == ["备注"]
    assert s["missing_optional_columns"] == ["是否公众聚集场所", "经度", "纬度"]
    notes = {(r["column"], r["reason"]) for r in report_rows(run.report_csv) if r["action"] == "note"}
    assert {r["action_label"] for r in report_rows(run.report_csv) if r["action"] == "note"} == {"提示"}
    assert notes == {("备注", "unrecognised_column"), ("是否公众聚集场所", "missing_optional_column"),
                     ("经度", "missing_optional_column"), ("纬度", "missing_optional_column")}


@pytest.mark.django_db
def test_header_variants_in_a_csv_with_many_title_rows(tmp_path):
    """Full-width brackets, trailing spaces, a required-mark, 8 title rows above the header: nothing silently lost."""
    header, rows = sample_rows()
    variant = {"额定载重量(kg)": "额定载重量（kg）", "额定速度(m/s)": "额定速度（ｍ／ｓ） ", "安装地址": " 安装地址  ",
               "设备代码": "*设备代码", "层数": "层 数"}
    f = tmp_path / "登记.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        for i in range(8):
            w.writerow([f"测试数据 标题行 {i + 1}"] + [""] * 3)
        w.writerow([variant.get(c, c) for c in header])
        for r in rows[:3]:
            w.writerow([r[c] for c in header])
    run = run_import(f, "cn-template")
    assert (run.rows_created, run.rows_rejected, run.summary["header_row"]) == (3, 0, 9)
    assert run.summary["unrecognised_columns"] == [] and run.summary["missing_optional_columns"] == []
    e1 = Elevator.objects.get(source_id="311010123201500001")
    assert (str(e1.rated_load_kg), str(e1.rated_speed_mps), e1.floors) == ("1000.0", "1.750", 18)


@pytest.mark.django_db
def test_no_header_found_names_what_was_searched(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["请按模板填写（测试数据）"])
    ws = wb.create_sheet("数据")
    ws.append(["测试数据汇总表"])
    ws.append(["编号", "注册代码", "安装地址", "型号"])  # the key column 设备代码 is missing
    ws.append(["1", "31103201022015080001", "测试数据 地址", "X"])
    f = tmp_path / "无设备代码.xlsx"
    wb.save(f)
    with translation.override("en"):
        with pytest.raises(ImportFileError) as exc:
            run_import(f, "cn-template")
    msg = str(exc.value)
    assert "no header row with the column “设备代码”" in msg and "first 30 rows of every sheet (“说明”, “数据”)" in msg
    assert "the closest is sheet “数据”, row 2 with 3 of the mapping's columns" in msg
    with translation.override("zh-hans"):
        with pytest.raises(ImportFileError, match="设备代码"):
            run_import(f, "cn-template")
    assert not ImportRun.objects.exists()


# --- 5. encodings ------------------------------------------------------------------------------------


def sample_text(rows: int = 3, delimiter: str = ",") -> str:
    header, data = sample_rows()
    lines = [delimiter.join(header)] + [delimiter.join(r[c] for c in header) for r in data[:rows]]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.django_db
def test_gbk_csv_from_excel_on_chinese_windows_is_detected(tmp_path, capsys):
    f = tmp_path / "登记表.csv"
    f.write_bytes(sample_text().encode("gb18030"))  # "CSV (逗号分隔)" as Excel saves it: GBK, no byte-order mark
    with translation.override("zh-hans"):
        call_command("import", str(f), mapping="cn-template", no_progress=True)
    out = capsys.readouterr().out
    run = ImportRun.objects.get()
    assert (run.rows_created, run.rows_rejected) == (3, 0)
    assert (run.summary["encoding"], run.summary["encoding_detected"]) == ("GB18030", True)
    assert "GB18030" in out
    assert Elevator.objects.get(source_id="311010123201500001").use_unit.name == "测试数据-使用单位甲"


@pytest.mark.django_db
@pytest.mark.parametrize("name,data,encoding", [
    ("bom.csv", b"\xef\xbb\xbf" + sample_text().encode("utf-8"), "UTF-8"),
    ("plain.csv", sample_text().encode("utf-8"), "UTF-8"),
    ("unicode.txt", sample_text(delimiter="\t").encode("utf-16"), "UTF-16"),  # Excel "Unicode 文本": UTF-16 + BOM, tabs
])
def test_encodings_detected(tmp_path, name, data, encoding):
    f = tmp_path / name
    f.write_bytes(data)
    run = run_import(f, "cn-template")
    assert (run.rows_created, run.rows_rejected, run.summary["encoding"]) == (3, 0, encoding)


@pytest.mark.django_db
def test_encoding_option(tmp_path):
    f = tmp_path / "登记表.csv"
    f.write_bytes(sample_text().encode("gb18030"))
    with translation.override("en"):
        with pytest.raises(ImportFileError, match=r"not valid UTF-8 \(the declared encoding\) at byte \d+, line 1"):
            run_import(f, "cn-template", encoding="utf-8")
        with pytest.raises(ImportFileError, match="unknown encoding klingon"):
            run_import(f, "cn-template", encoding="klingon")
    run = run_import(f, "cn-template", encoding="gb18030")
    assert (run.rows_created, run.summary["encoding"], run.summary["encoding_detected"]) == (3, "GB18030", False)


@pytest.mark.django_db
def test_undecodable_file_names_the_encodings_tried(tmp_path):
    f = tmp_path / "坏.csv"
    f.write_bytes(sample_text(1).encode("utf-8") + b"\xff\xfe\xff,x\r\n")
    with translation.override("en"):
        with pytest.raises(ImportFileError, match=r"not valid UTF-8 \(byte \d+, line 3\) nor GB18030 \(byte \d+, line \d+\)"):
            run_import(f, "cn-template")
    with translation.override("zh-hans"):
        with pytest.raises(ImportFileError, match="UTF-8.*GB18030"):
            run_import(f, "cn-template")
    assert not Elevator.objects.exists()


# --- 6. a mapping given as a file path -----------------------------------------------------------------


@pytest.mark.django_db
def test_mapping_by_path_and_unknown_name(tmp_path, monkeypatch):
    from django.core.management.base import CommandError

    from liftsafe.registry.importer import MappingError, load_mapping

    f = tmp_path / "登记.csv"
    f.write_text(sample_text(), encoding="utf-8")
    (tmp_path / "my-source.toml").write_text(CN_TEMPLATE.read_text(encoding="utf-8").replace('name = "cn-template"', 'name = "my-city"'),
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    call_command("import", str(f), mapping="./my-source.toml", no_progress=True)
    run = ImportRun.objects.get()
    assert run.mapping == "my-source" and run.rows_created == 3
    assert set(Elevator.objects.values_list("source", flat=True)) == {"my-city"}
    with translation.override("en"):
        with pytest.raises(CommandError) as exc:
            call_command("import", str(f), mapping="my-sauce", no_progress=True)
        msg = str(exc.value)
        assert "unknown mapping 'my-sauce'" in msg and "cn-template, mta-units, nyc-dob" in msg and "./my-source.toml" in msg
        with pytest.raises(MappingError, match="mapping file ./nowhere.toml does not exist"):
            load_mapping("./nowhere.toml")
    (tmp_path / "bad.toml").write_text('[source]\nname = "x"\nkey = "设备代码"\n[area]\ncolumn = "区"\n[fields.nonsense]\ncolumn = "a"\n',
                                       encoding="utf-8")
    with pytest.raises(MappingError, match=r"\[fields.nonsense\] is not an Elevator field"):
        load_mapping(str(tmp_path / "bad.toml"))


# --- 8. messages in the user's language, with the field's label, no regex; stable codes alongside ---------


@pytest.mark.django_db
def test_report_in_the_ui_language_with_labels_and_stable_codes(tmp_path):
    header, rows = sample_rows()
    rows[1]["救援识别码"] = "12"  # too short: the message must not show the rule's regex
    f = tmp_path / "登记.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows)
    with translation.override("zh-hans"):
        run = run_import(f, "cn-template")
    first = next(csv.reader(run.report_csv.splitlines()))
    assert first == ["行号", "设备编号", "列", "字段", "值", "处理", "原因", "原因代码", "字段代码", "处理代码"]
    lines = {r["source_id"]: r for r in report_rows(run.report_csv) if r["action"] == "rejected"}
    rescue = lines["331010123201800002"]
    assert (rescue["field_label"], rescue["action_label"], rescue["reason"], rescue["field"]) == ("救援识别码", "整行拒收", "layout", "rescue_code")
    assert rescue["message"] == "救援识别码应为 5-6 位数字，实际为 '12'"
    area = lines["311010123201500008"]
    assert (area["field_label"], area["reason"]) == ("区域", "not_gbt2260") and "不是 GB/T 2260 行政区划代码" in area["message"]
    assert lines["311010123201500004"]["field_label"] == "注册代码"
    assert not re.search(r"\\d|\^|\$'|\[0-9", run.report_csv)  # no regex shown anywhere
    # the histogram keys stay machine-readable in any language
    assert run.summary["rejected_reasons"]["救援识别码: layout"] == 1
    with translation.override("en"):
        again = run_import(f, "cn-template", dry_run=True)
    assert next(csv.reader(again.report_csv.splitlines()))[:4] == ["row", "device id", "column", "field"]
    en = {r["source_id"]: r for r in report_rows(again.report_csv) if r["action"] == "rejected"}
    assert en["331010123201800002"]["message"] == "rescue code must be 5-6 digits, got '12'"


# --- 7. units in words -----------------------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from liftsafe.registry.importer.mapping import FieldSpec, ValueProblem, t_length_ft_in, t_quantity  # noqa: E402


def q(value: str, unit: str, default_unit: str | None = None) -> Decimal:
    return t_quantity(value, FieldSpec(name="x", column="x", transform="quantity", unit=unit, default_unit=default_unit))


@pytest.mark.parametrize("value,unit,default,expected", [
    ("22 feet 3 inches", "m", None, "6.7818"),
    ("22 ft 3 in", "m", None, "6.7818"),
    ("22'3\"", "m", None, "6.7818"),
    ("22' 3", "m", None, "6.7818"),
    ("22 FEET", "m", None, "6.7056"),
    ("40 inches", "m", None, "1.016"),
    ("6.8 m", "m", None, "6.8"),
    ("6800mm", "m", None, "6.8"),
    ("60", "m", "ft", "18.288"),
    ("3500LBS", "kg", None, "1587.573295"),
    ("1000 kg", "kg", None, "1000"),
    ("2000", "kg", "lb", "907.18474"),
    ("350FPM", "m/s", None, "1.778"),
    ("350 ft/min", "m/s", None, "1.778"),
    ("1.75m/s", "m/s", None, "1.75"),
    ("90 m/min", "m/s", None, "1.5"),
])
def test_quantities_with_units(value, unit, default, expected):
    assert q(value, unit, default).quantize(Decimal("0.000001")) == Decimal(expected).quantize(Decimal("0.000001"))


@pytest.mark.parametrize("value,unit,default,code", [
    ("3,500 LBS", "kg", None, "ambiguous_number"),   # thousands or decimal separator?
    ("2,25", "m/s", "fpm", "ambiguous_number"),
    ("22 3", "m", "ft", "ambiguous_unit"),            # two bare numbers
    ("6 m 20 cm", "m", None, "ambiguous_unit"),       # only feet + inches combine
    ("22 ft 13 in", "m", None, "not_length"),
    ("95UP", "m/s", "fpm", "unknown_unit"),
    ("350FPM", "m", None, "wrong_unit"),              # a speed typed into the travel column
    ("3500", "kg", None, "missing_unit"),             # no default unit declared: not guessed
    ("feet", "m", None, "not_quantity"),
])
def test_ambiguous_quantities_are_refused_with_a_reason(value, unit, default, code):
    with pytest.raises(ValueProblem) as exc:
        q(value, unit, default)
    assert exc.value.code == code


def test_length_ft_in_accepts_unit_words():
    spec = None
    assert t_length_ft_in("22 feet 3 inches", spec) == Decimal("22.25")
    assert t_length_ft_in("22 FT 3 IN", spec) == Decimal("22.25") and t_length_ft_in("1 foot", spec) == 1
    assert t_length_ft_in("30 inches", spec) == Decimal("2.5")
    with pytest.raises(ValueProblem):
        t_length_ft_in('22"', spec)  # inches or a typo for feet? not guessed (NYC)


STATE_MAPPING = '''
[source]
name = "md-test"
key = "Device ID"
null_tokens = [""]
[[areas]]
code = "US-MD-TEST"
name = "测试数据州"
name_en = "Test State"
level = "province"
[area]
column = "County"
map = { "Test County" = "US-MD-TEST" }
[fields.category]
value = "3110"
[fields.address]
column = "Address"
[fields.travel_height_m]
column = "Travel"
transform = "quantity"
unit = "m"
default_unit = "ft"
on_error = "drop"
[fields.rated_load_kg]
column = "Capacity"
transform = "quantity"
unit = "kg"
default_unit = "lb"
on_error = "drop"
[fields.rated_speed_mps]
column = "Speed"
transform = "quantity"
unit = "m/s"
default_unit = "fpm"
on_error = "drop"
'''


@pytest.mark.django_db
def test_state_registry_with_units_in_words(tmp_path):
    """Another US state's registry writes lengths in words and values with unit suffixes."""
    mapping = tmp_path / "md-test.toml"
    mapping.write_text(STATE_MAPPING, encoding="utf-8")
    f = tmp_path / "state.csv"
    rows = [("D1", "22 feet 3 inches", "3500LBS", "350FPM"), ("D2", "48 ft", "2500 lbs", "200 fpm"),
            ("D3", "60", "3000", "100"), ("D4", "12 feet 14 inches", "3,500", "95UP"), ("D5", "1.75 m/s", "1000 kg", "1.75m/s")]
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Device ID", "County", "Address", "Travel", "Capacity", "Speed"])
        for r in rows:
            w.writerow([r[0], "Test County", "1 TEST ST", *r[1:]])
    run = run_import(f, str(mapping))
    assert (run.rows_created, run.rows_rejected) == (5, 0)
    e = {x.source_id: x for x in Elevator.objects.filter(source="md-test")}
    assert (str(e["D1"].travel_height_m), str(e["D1"].rated_load_kg), str(e["D1"].rated_speed_mps)) == ("6.78", "1587.6", "1.778")
    assert (str(e["D2"].travel_height_m), str(e["D2"].rated_load_kg), str(e["D2"].rated_speed_mps)) == ("14.63", "1134.0", "1.016")
    assert (str(e["D3"].travel_height_m), str(e["D3"].rated_load_kg), str(e["D3"].rated_speed_mps)) == ("18.29", "1360.8", "0.508")
    assert (e["D4"].travel_height_m, e["D4"].rated_load_kg, e["D4"].rated_speed_mps) == (None, None, None)
    assert e["D5"].travel_height_m is None and str(e["D5"].rated_load_kg) == "1000.0" and str(e["D5"].rated_speed_mps) == "1.750"
    assert run.summary["dropped_reasons"] == {"Travel: not_length": 1, "Travel: wrong_unit": 1, "Capacity: ambiguous_number": 1,
                                              "Speed: unknown_unit": 1}


@pytest.mark.django_db
def test_organisation_keys_and_names_longer_than_their_columns(tmp_path):
    """A credit code longer than 18 characters crashed PostgreSQL (value too long); a 250-character
    name was cut silently. Both are now dropped with a reason; the row and the rest are kept."""
    header, rows = sample_rows()
    rows[0]["使用单位统一社会信用代码"] = "91320102TEST00001A-0001"
    rows[1]["使用单位名称"] = "测试数据" * 60
    f = tmp_path / "登记.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows[:3])
    run = run_import(f, "cn-template")
    assert (run.rows_created, run.rows_rejected) == (3, 0)
    assert by_action(run, "dropped") == {"311010123201500001": ("use_unit", "too_long"), "331010123201800002": ("use_unit", "too_long")}
    e1 = Elevator.objects.get(source_id="311010123201500001")
    assert e1.use_unit.name == "测试数据-使用单位甲" and e1.use_unit.credit_code == ""
    e2 = Elevator.objects.get(source_id="331010123201800002")
    assert e2.use_unit.credit_code == "91320115TEST00002B"  # found by its code; the over-long name is not stored
    again = run_import(f, "cn-template")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
