"""Renderers on a realistic hand-built ReportData (and on the selectors' own output): HTML holds the numbers,
XLSX opens with numeric cells, the PDF opens in pdfium with the expected pages and extractable Chinese text,
charts are deterministic SVG/PNG with CJK glyphs."""
from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest

from liftsafe.conftest import require_module
from django.utils import translation

from liftsafe.core import formatting
from liftsafe.reports import charts, fonts, render
from liftsafe.reports.tests.sample_report import sample_data

pdfium = require_module("pypdfium2", "pypdfium2 is not installed (pip install -e .[dev])")


def pdf_text(pdf: bytes) -> tuple[int, list[str]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            texts.append(tp.get_text_range())
            tp.close()
            page.close()
        return len(texts), texts
    finally:
        doc.close()


# --------------------------------------------------------------------------- fonts
def test_cjk_font_found_and_covers_chinese():
    font = fonts.cjk_font()
    fam, ok = fonts._family_and_coverage(font.path, font.index)
    assert ok and fam == font.family
    assert "CJK" in font.family or "WenQuanYi" in font.family


def test_missing_font_names_the_debian_package(monkeypatch, tmp_path):
    fonts.cjk_font.cache_clear()
    try:
        monkeypatch.setattr(fonts, "CANDIDATES", ((str(tmp_path / "none.ttc"), 0, None, 0, "x"),))
        monkeypatch.setattr(fonts, "_from_fc_match", lambda: None)
        monkeypatch.delenv("LIFTSAFE_CJK_FONT", raising=False)
        with pytest.raises(fonts.MissingFontError, match="fonts-noto-cjk"):
            fonts.cjk_font()
    finally:
        fonts.cjk_font.cache_clear()


def test_env_font_without_cjk_is_refused(monkeypatch):
    fonts.cjk_font.cache_clear()
    try:
        monkeypatch.setenv("LIFTSAFE_CJK_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        with pytest.raises(fonts.MissingFontError, match="no Chinese glyphs"):
            fonts.cjk_font()
    finally:
        fonts.cjk_font.cache_clear()


# --------------------------------------------------------------------------- formatting
def test_number_and_change_formatting():
    with translation.override("en"):
        assert render.fmt_number is formatting.fmt_number  # moved to core (tests: core/tests/test_formatting.py)
        assert render.change(312, 287, "count") == {"arrow": "↑", "text": "+8.7%", "direction": "up"}
        assert render.change(2.5, 2.98, "%")["text"] == "−0.48 pp"
        assert render.change(5, 0, "count")["text"] == "+5"
        assert render.change(5, 5, "count")["arrow"] == "→"
        assert render.change(None, 5, "count")["arrow"] == ""
        assert render.period_name({"kind": "quarter", "label": "2023-Q2", "start": "2023-04-01"}) == "Q2 2023"
    with translation.override("zh-hans"):
        assert render.period_name({"kind": "month", "label": "2023-05", "start": "2023-05-01"}) == "2023年5月"
        assert render.period_name({"kind": "year", "label": "2023", "start": "2023-01-01"}) == "2023年度"
        assert render.change(2.5, 2.3, "%")["text"] == "+0.2 个百分点"


# --------------------------------------------------------------------------- charts
@pytest.mark.parametrize("kind", ["bar", "line", "pie", "barh"])
def test_charts_are_deterministic_svg_and_png(kind):
    chart = {"key": "k", "title": "故障", "kind": kind, "x": ["门系统", "曳引系统", "外部原因"],
             "series": [{"name": "故障", "values": [5, None, 2]}], "unit": "count"}
    with translation.override("zh-hans"):
        svg1 = charts._chart_svg_cached.__wrapped__(charts.json.dumps(chart, sort_keys=True, ensure_ascii=False) + "|zh-hans")
        svg2 = charts._chart_svg_cached.__wrapped__(charts.json.dumps(chart, sort_keys=True, ensure_ascii=False) + "|zh-hans")
        png = charts.chart_png(chart)
    assert svg1 == svg2 and svg1.startswith("<svg")
    assert "<dc:date>" not in svg1 and "Date" not in svg1
    assert "门系统" in svg1  # matplotlib keeps the text as a comment next to its glyph paths
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == charts.chart_png(chart)
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size == (int(charts.WIDTH_IN * charts.PNG_DPI), int(charts.HEIGHT_IN * charts.PNG_DPI))


def test_chart_glyphs_are_cjk_not_tofu():
    """The SVG glyph ids name the CJK font for the Chinese labels (DejaVu has no CJK glyphs: that would be tofu)."""
    chart = {"key": "k", "title": "t", "kind": "barh", "x": ["门系统"], "series": [{"name": "故障", "values": [3]}], "unit": "count"}
    svg = charts.chart_svg(chart)
    cjk_ids = re.findall(r'id="([^"]+)"', svg)
    family = fonts.cjk_font().family.replace(" ", "")
    assert any(family.split("CJK")[0] in i for i in cjk_ids), cjk_ids[:10]
    assert not any(i.startswith("DejaVuSans-95e8") for i in cjk_ids)  # 门 U+95E8 not drawn from DejaVu


def test_empty_chart_says_no_data():
    chart = {"key": "k", "title": "t", "kind": "pie", "x": [], "series": [], "unit": "count"}
    with translation.override("en"):
        svg = charts.chart_svg(chart)
    assert "No data in this period" in svg


# --------------------------------------------------------------------------- HTML
def test_html_is_standalone_and_holds_the_numbers():
    data = sample_data()
    html = render.render_html(data, status="draft")
    assert html.startswith("<!doctype html>") and '<html lang="zh-Hans">' in html
    assert "<link" not in html and "<script" not in html and "src=" not in html  # nothing external
    assert html.count("<svg") == 4  # every chart inline
    for text in ("玄武区", "2023年5月", "12,480", "故障率", "2.5%", "↑ +8.7%", "↓ −12.1%", "−0.48 个百分点", "草稿",
                 "南京第60物业管理有限公司", "附录：指标口径", "CPASE M001-2015", "在用电梯数量按报告生成时的登记状态统计。"):
        assert text in html, text
    assert "Elevator" not in html  # the renderer's own words are translated too


def test_html_english():
    data = sample_data(language="en")
    html = render.render_html(data, status="published")
    assert '<html lang="en">' in html and "May 2023" in html and "Published" in html and "Appendix: definitions" in html


def test_html_escapes_labels():
    data = sample_data()
    data["sections"][0]["tables"][0]["rows"][0][0] = "<script>alert(1)</script>"
    html = render.render_html(data)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


# --------------------------------------------------------------------------- XLSX
def test_xlsx_sheets_and_numeric_cells():
    from openpyxl import load_workbook

    data = sample_data()
    wb = load_workbook(io.BytesIO(render.render_xlsx(data, status="draft")))
    names = wb.sheetnames
    assert names[-1] == "指标口径"
    assert "按电梯品种统计" in names and "使用单位故障率排名" in names
    ws = wb.worksheets[0]  # the summary
    rows = {r[1]: r for r in ws.iter_rows(min_row=8, values_only=True)}
    assert rows["在用电梯数量"][3] == 12480 and isinstance(rows["在用电梯数量"][3], int)
    assert rows["故障率"][3] == 2.5 and rows["故障率"][4] == 2.3 and rows["故障率"][6] == 2.98
    assert rows["故障率"][8] == 312 and rows["故障率"][9] == 12480
    assert rows["困人次数"][5] == "→ 无变化"
    cat = wb["按电梯品种统计"]
    assert [c.value for c in cat[3]] == ["曳引驱动乘客电梯", 10211, 280, 176, 2.74]
    assert cat.cell(6, 5).value is None  # a missing rate stays an empty cell, not "—"
    top = wb["使用单位故障率排名"]
    assert top.max_row == 2 + 60
    defs = wb["指标口径"]
    assert defs.cell(2, 1).value == "故障率" and "100%" in defs.cell(2, 2).value
    chart_sheets = [n for n in names if n.startswith("图表")]
    assert len(chart_sheets) == 4
    month = wb[next(n for n in chart_sheets if "各月" in n)]
    assert month.cell(3, 1).value == "2022-06" and month.cell(3, 2).value == 301 and month.cell(3, 3).value == 180


def test_xlsx_and_pdf_are_reproducible():
    """Same data, same bytes, also across a clock tick (ZIP entry times and document dates come from the data)."""
    import time

    data = sample_data()
    x1, p1 = render.render_xlsx(data), render.render_pdf(data)
    time.sleep(2.1)  # ZIP times have a 2-second resolution
    assert render.render_xlsx(data) == x1
    assert render.render_pdf(data) == p1


# --------------------------------------------------------------------------- PDF
def test_pdf_pages_text_and_png(tmp_path):
    data = sample_data()
    pdf = render.render_pdf(data, status="draft")
    assert pdf[:5] == b"%PDF-"
    n, texts = pdf_text(pdf)
    # title page + 4 sections (the 60-row ranking spills onto a second page) + appendix
    assert n == 7, n
    assert "玄武区" in texts[0] and "电梯故障分析报告" in texts[0] and "2023年5月" in texts[0] and "草稿" in texts[0]
    assert "故障率" in texts[1] and "12,480" in texts[1] and "↑ +8.7%" in texts[1]
    assert all(f"第 {i} 页，共 7 页" in t for i, t in enumerate(texts, start=1))
    ranking = [i for i, t in enumerate(texts) if "南京第1物业管理有限公司" in t][0]
    assert "南京第60物业管理有限公司" in texts[ranking + 1]
    assert "使用单位" in texts[ranking + 1] and "在用电梯" in texts[ranking + 1]  # heading row repeated
    assert "附录：指标口径" in texts[-1] and "故障次数 ÷ 在用电梯数量 × 100%" in texts[-1]
    # every page renders to a PNG
    doc = pdfium.PdfDocument(pdf)
    for i in range(len(doc)):
        img = doc[i].render(scale=1).to_pil()
        assert abs(img.size[0] - 595) <= 1 and abs(img.size[1] - 842) <= 1  # A4 at 72 dpi
        img.save(tmp_path / f"p{i + 1}.png")
    doc.close()
    # the first page is not blank: dark pixels where the title is
    from PIL import Image

    px = Image.open(tmp_path / "p1.png").convert("L")
    assert px.getextrema()[0] < 80


def test_pdf_embeds_cjk_font_subset():
    pdf = render.render_pdf(sample_data())
    assert b"/FontFile" in pdf  # embedded (FontFile2 TrueType / FontFile3 CFF)
    assert len(pdf) < 2_000_000  # subset, not the whole 20 MB collection


def test_pdf_published_has_no_draft_mark():
    n, texts = pdf_text(render.render_pdf(sample_data(), status="published"))
    assert "已发布" in texts[0] and "草稿" not in "".join(texts)


def test_pdf_english():
    n, texts = pdf_text(render.render_pdf(sample_data(language="en")))
    assert "Elevator fault analysis report" in texts[0] and "Page 1 of" in texts[0]


def test_empty_report_renders_honestly():
    data = sample_data()
    data["empty"] = True
    for s in data["sections"]:
        s["tables"] = [dict(t, rows=[]) for t in s["tables"]]
        s["charts"] = [dict(c, series=[{"name": "x", "values": [0] * len(c["x"])}]) for c in s["charts"]]
        s["indicators"] = [dict(i, value=None, previous=None, last_year=None) for i in s["indicators"]]
    html = render.render_html(data)
    assert "本期没有受理案件" in html or "没有" in html
    n, texts = pdf_text(render.render_pdf(data))
    assert n >= 5 and "本期无数据" in "".join(texts)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render.render_xlsx(data)))
    assert wb.worksheets[0].cell(8, 4).value is None


# --------------------------------------------------------------------------- on the selectors' own output
@pytest.mark.django_db
def test_renderers_walk_the_selectors_report(world):
    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.reports import selectors

    sh = ZoneInfo("Asia/Shanghai")
    for day, kind in ((3, "entrapment"), (9, "entrapment"), (17, "fault_report")):
        EmergencyCase.objects.create(elevator=world.elevators["a1"], area_id=world.elevators["a1"].area_id, order_number=f"R{day:08d}", channel="phone_96333",
                                     case_type=kind, state="completed", received_at=dt.datetime(2023, 5, day, 9, tzinfo=sh))
    data = selectors.report_data(world.users["regulator"], area_code="320102", period="2023-05", language="zh-hans")
    html = render.render_html(data)
    assert "玄武区" in html and "故障率" in html and html.count("<svg") == sum(len(s["charts"]) for s in data["sections"])
    n, texts = pdf_text(render.render_pdf(data))
    assert n == 2 + len(data["sections"]) or n > len(data["sections"])
    assert "困人" in "".join(texts)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render.render_xlsx(data)))
    summary = {r[1]: r for r in wb.worksheets[0].iter_rows(min_row=8, values_only=True)}
    entrapments = selectors.indicator(data, "entrapments")
    assert summary[entrapments["label"]][3] == entrapments["value"] == 2
