"""Renderings of a report's :class:`~liftsafe.reports.schema.ReportData`: HTML, PDF (A4) and XLSX.

Public API (called by the pages and by ``reports.api``)::

    render_html(data, *, status=None) -> str     # standalone printable HTML, inline CSS and inline SVG charts
    render_pdf(data, *, status=None) -> bytes    # A4 PDF (fpdf2) embedding the Debian CJK font
    render_xlsx(data, *, status=None) -> bytes   # openpyxl workbook: summary, one sheet per table, definitions

``status`` is the report's state (``"draft"`` | ``"published"``; None for a
live dashboard snapshot); a draft is marked as such on every rendering.

Every renderer walks the data generically: sections → indicators, charts,
tables, notes; then the definitions appendix. A new indicator, table or chart
in the selectors needs no change here. The labels in the data are already
translated; the few words the renderers add ("Previous period", "Page 1 of 3")
are translated into ``data["language"]``.

Units (schema ``Indicator.unit``): ``"%"`` values are percentages already
(12.5 = 12.5 %; changes are shown in percentage points), ``"count"`` integers,
``"min"`` minutes, ``"per 10k"`` per 10,000 elevators; any other unit string is
printed as it is. Missing numbers (``None``) show as "—".

Errors: :class:`liftsafe.reports.fonts.MissingFontError` (PDF, charts) when no
CJK font is installed; its message names the Debian package.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from liftsafe.core import exports
from liftsafe.core.formatting import DASH, fmt_number  # noqa: F401 - re-exported: reports.render.fmt_number

from .charts import chart_png, chart_svg, unit_label
from .fonts import cjk_font

logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2 subsets the font through fontTools, which logs at INFO


# --------------------------------------------------------------------------- formatting (shared by all renderers)
# fmt_number lives in liftsafe.core.formatting (pages use it too); imported here for the renderers and existing callers


def fmt_cell(value) -> str:
    """A table cell as text (numbers via :func:`fmt_number`, None → "—")."""
    if value is None:
        return DASH
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_number(value)
    return str(value)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def change(value, reference, unit: str) -> dict:
    """The change from ``reference`` to ``value``.

    Returns:
        ``{"arrow": "↑" | "↓" | "→" | "", "text": str, "direction": "up" | "down" | "same" | ""}``;
        for ``"%"`` indicators the difference in percentage points, otherwise the
        relative change in % (the absolute difference when ``reference`` is 0).
        Empty when either number is missing.
    """
    if value is None or reference is None:
        return {"arrow": "", "text": "", "direction": ""}
    diff = value - reference
    if abs(diff) < 1e-9:
        return {"arrow": "→", "text": _("no change"), "direction": "same"}
    arrow, direction = ("↑", "up") if diff > 0 else ("↓", "down")
    sign = "+" if diff > 0 else "−"
    if unit == "%":
        text = _("%(sign)s%(n)s pp") % {"sign": sign, "n": fmt_number(abs(diff))}
    elif reference:
        text = f"{sign}{fmt_number(abs(round(diff * 100.0 / reference, 1)))}%"
    else:
        text = f"{sign}{fmt_number(abs(diff))}"
    return {"arrow": arrow, "text": text, "direction": direction}


def value_with_unit(value, unit: str) -> str:
    """``fmt_number`` plus the unit's label (``12.5 分钟``, ``3.2 每万台``; ``%`` is attached, counts bare)."""
    text = fmt_number(value, unit)
    label = unit_label(unit)
    return text if value is None or unit == "%" or not label else f"{text} {label}"


def period_name(period: dict) -> str:
    """The period in words: 2023年5月 / May 2023, 2023年第2季度 / Q2 2023, 2023年度 / 2023."""
    kind, label = period.get("kind"), str(period.get("label", ""))
    start = dt.date.fromisoformat(period["start"]) if period.get("start") else None
    if kind == "month" and start:
        return _("%(month_name)s %(year)s") % {"year": start.year, "month": start.month, "month_name": _month_name(start.month)}
    if kind == "quarter" and start:
        return _("Q%(q)s %(year)s") % {"year": start.year, "q": (start.month - 1) // 3 + 1}
    if kind == "year" and start:
        return _("Year %(year)s") % {"year": start.year}
    return label


def _month_name(m: int) -> str:
    names = [_("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"), _("August"),
             _("September"), _("October"), _("November"), _("December")]
    return names[m - 1]


def period_range(period: dict) -> str:
    """Inclusive local dates of the period: ``2023-05-01 – 2023-05-31``."""
    try:
        start = dt.date.fromisoformat(period["start"])
        last = dt.date.fromisoformat(period["end"]) - dt.timedelta(days=1)
    except (KeyError, TypeError, ValueError):
        return ""
    return f"{start.isoformat()} – {last.isoformat()}"


def generated_text(data: dict) -> str:
    """``generated_at`` as ``YYYY-MM-DD HH:MM (UTC+0800)`` in the report's time zone (``time_zone``, the report
    area's; the platform's for a report without one), or the raw text."""
    from liftsafe.core.zones import get_zone

    from .periods import local_tz

    raw = data.get("generated_at") or ""
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if when.tzinfo is not None:
        when = when.astimezone(get_zone(data["time_zone"]) if data.get("time_zone") else local_tz())
    return when.strftime("%Y-%m-%d %H:%M (UTC%z)")


def status_text(status: str | None) -> str:
    return {"draft": _("Draft"), "published": _("Published")}.get(status or "", "")


def report_title(data: dict) -> str:
    """Document title: ``<area> <period> elevator safety and fault-analysis report``."""
    return _("%(area)s · %(period)s · Elevator fault analysis report") % {
        "area": (data.get("area") or {}).get("name") or "", "period": period_name(data.get("period") or {})}


def _language(data: dict) -> str:
    return data.get("language") or "zh-hans"


# --------------------------------------------------------------------------- HTML
def report_context(data: dict, *, status: str | None = None, charts: bool = True) -> dict:
    """Template context for ``reports/_report_body.html`` (the dashboard and the standalone document share it).

    Call inside ``translation.override(data["language"])``. Charts become inline SVG
    strings (marked safe: matplotlib output, text drawn as paths, comments escaped).
    """
    compare = data.get("compare") or {}
    sections = []
    for s in data.get("sections") or []:
        indicators = []
        for ind in s.get("indicators") or []:
            unit = ind.get("unit") or ""
            indicators.append({
                **ind,
                "display": value_with_unit(ind.get("value"), unit),
                "previous_display": fmt_number(ind.get("previous"), unit),
                "last_year_display": fmt_number(ind.get("last_year"), unit),
                "vs_previous": change(ind.get("value"), ind.get("previous"), unit),
                "vs_last_year": change(ind.get("value"), ind.get("last_year"), unit),
                "fraction": (f"{fmt_number(ind.get('numerator'))} / {fmt_number(ind.get('denominator'))}"
                             if ind.get("denominator") not in (None, 0) and unit in ("%", "per 10k") else ""),
            })
        tables = []
        for t in s.get("tables") or []:
            rows = t.get("rows") or []
            numeric = [j > 0 and any(j < len(r) and _is_num(r[j]) for r in rows) for j in range(len(t.get("columns") or []))]
            tables.append({**t, "numeric": numeric,
                           "rows_display": [[{"text": fmt_cell(c), "num": numeric[j] if j < len(numeric) else _is_num(c)}
                                             for j, c in enumerate(row)] for row in rows]})
        chart_list = [{**c, "svg": mark_safe(chart_svg(c)) if charts else ""} for c in s.get("charts") or []]
        sections.append({**s, "indicators": indicators, "tables": tables, "charts": chart_list})
    return {
        "data": data,
        "title": report_title(data),
        "period_name": period_name(data.get("period") or {}),
        "period_range": period_range(data.get("period") or {}),
        "previous_label": (compare.get("previous") or {}).get("label", ""),
        "last_year_label": (compare.get("last_year") or {}).get("label", ""),
        "generated": generated_text(data),
        "status": status or "",
        "status_text": status_text(status),
        "sections": sections,
        "definitions": data.get("definitions") or [],
        "html_lang": "zh-Hans" if _language(data) == "zh-hans" else _language(data),
    }


def render_html(data: dict, *, status: str | None = None) -> str:
    """A standalone, printable HTML document of the report (inline CSS, inline SVG charts, no external files).

    Args:
        data: a ReportData dict (schema.py).
        status: ``"draft"`` | ``"published"`` | None (marked in the header).

    Returns:
        The document as a string (UTF-8 when encoded).

    Raises:
        MissingFontError: no CJK font for the charts.
    """
    with translation.override(_language(data)):
        return render_to_string("reports/document.html", report_context(data, status=status))


# --------------------------------------------------------------------------- PDF
def _pdf_class():
    from fpdf import FPDF

    class ReportPDF(FPDF):
        """A4 portrait, CJK font, running header (after the title page) and "page n of N" footer."""

        running_title = ""
        draft_mark = ""
        footer_text = ""

        def header(self):
            if self.page_no() == 1:
                return
            self.set_font("cjk", size=8)
            self.set_text_color(93, 104, 119)
            self.cell(0, 5, self.running_title, new_x="LMARGIN", new_y="TOP")
            if self.draft_mark:
                self.set_text_color(164, 22, 26)
                self.cell(0, 5, self.draft_mark, align="R", new_x="LMARGIN", new_y="NEXT")
            else:
                self.ln(5)
            self.set_draw_color(197, 204, 214)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(3)
            self.set_text_color(27, 35, 48)

        def footer(self):
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.set_text_color(93, 104, 119)
            self.cell(0, 6, self.footer_text % {"n": self.page_no(), "total": "{nb}"}, align="C")
            self.set_text_color(27, 35, 48)

    return ReportPDF


def _pdf_heading(pdf, text: str, size: float = 14):
    pdf.set_font("cjk", "B", size)
    pdf.set_text_color(12, 45, 82)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(27, 35, 48)
    pdf.ln(1.5)


def _pdf_table(pdf, columns: list[str], rows: list[list[str]], *, widths=None, numeric=None, font_size: float = 8.5):
    """A table through fpdf2's table API: breaks across pages and repeats the heading row on every page."""
    from fpdf.fonts import FontFace

    n = len(columns)
    if widths is None:
        widths = [2.2] + [1] * (n - 1) if n > 2 else [1] * n
    numeric = numeric or [False] * n
    pdf.set_font("cjk", size=font_size)
    pdf.set_draw_color(197, 204, 214)
    pdf.set_line_width(0.2)
    heading = FontFace(emphasis="BOLD", color=(27, 35, 48), fill_color=(232, 237, 243))
    with pdf.table(col_widths=widths, text_align=["RIGHT" if x else "LEFT" for x in numeric], line_height=font_size * 0.5,
                   headings_style=heading, repeat_headings=1, borders_layout="HORIZONTAL_LINES",
                   cell_fill_color=(247, 249, 251), cell_fill_mode="ROWS", padding=(1, 1.2)) as table:
        head = table.row()
        for c in columns:
            head.cell(str(c))
        for r in rows:
            row = table.row()
            for i in range(n):
                row.cell(r[i] if i < len(r) else "")
    pdf.ln(3)


def _pdf_indicators(pdf, indicators: list[dict], prev_label: str, ly_label: str):
    cols = [_("Indicator"), _("This period"), f"{_('Previous period')}\n{prev_label}", _("Change vs previous"),
            f"{_('Same period last year')}\n{ly_label}", _("Change vs last year")]
    rows = []
    for ind in indicators:
        unit = ind.get("unit") or ""
        vp, vl = change(ind.get("value"), ind.get("previous"), unit), change(ind.get("value"), ind.get("last_year"), unit)
        label = ind.get("label", "")
        if unit not in ("", "%", "count") and unit_label(unit):
            label = f"{label} ({unit_label(unit)})"
        rows.append([label, fmt_number(ind.get("value"), unit), fmt_number(ind.get("previous"), unit),
                     f"{vp['arrow']} {vp['text']}".strip(), fmt_number(ind.get("last_year"), unit),
                     f"{vl['arrow']} {vl['text']}".strip()])
    _pdf_table(pdf, cols, rows, widths=[2.7, 1.3, 1.3, 1.45, 1.3, 1.45], numeric=[False, True, True, True, True, True], font_size=8.5)


def render_pdf(data: dict, *, status: str | None = None) -> bytes:
    """The report as an A4 PDF: title page, per section headline indicators (with previous-period and
    same-period-last-year comparisons and arrows), charts (PNG), tables (split across pages with the
    heading row repeated), notes; then the definitions appendix. Page numbers in the footer; a draft is
    marked on the title page and in every page header. The CJK font is embedded (subset).

    Args / Raises: as :func:`render_html`.

    Returns:
        PDF bytes. Deterministic for the same data (creation date = ``generated_at``).
    """
    font = cjk_font()
    with translation.override(_language(data)):
        ctx = report_context(data, status=status, charts=False)
        pdf = _pdf_class()(orientation="P", unit="mm", format="A4")
        pdf.set_margins(16, 16, 16)
        pdf.set_auto_page_break(True, margin=18)
        pdf.add_font("cjk", "", font.path, collection_font_number=font.index)
        pdf.add_font("cjk", "B", font.bold_path or font.path, collection_font_number=font.bold_index if font.bold_path else font.index)
        pdf.set_title(ctx["title"])
        pdf.set_author("liftsafe")
        pdf.set_creator("liftsafe")
        pdf.set_lang("zh-CN" if _language(data) == "zh-hans" else _language(data))
        try:
            pdf.set_creation_date(dt.datetime.fromisoformat(data.get("generated_at")))
        except (TypeError, ValueError):
            pass
        pdf.running_title = ctx["title"]
        pdf.draft_mark = ctx["status_text"] if status == "draft" else ""
        pdf.footer_text = _("Page %(n)s of %(total)s")
        pdf.alias_nb_pages()

        # title page
        pdf.add_page()
        pdf.ln(45)
        pdf.set_font("cjk", "B", 22)
        pdf.set_text_color(12, 45, 82)
        pdf.multi_cell(0, 12, (data.get("area") or {}).get("name", ""), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 12, _("Elevator fault analysis report"), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", "", 16)
        pdf.multi_cell(0, 10, ctx["period_name"], align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(18)
        pdf.set_text_color(27, 35, 48)
        pdf.set_font("cjk", "", 11)
        meta = [(_("Area"), f"{(data.get('area') or {}).get('name', '')} {(data.get('area') or {}).get('code', '')}".strip()),
                (_("Period"), f"{ctx['period_name']} ({ctx['period_range']})"),
                (_("Compared with"), _("previous period %(p)s; same period last year %(l)s") % {
                    "p": ctx["previous_label"], "l": ctx["last_year_label"]}),
                (_("Generated at"), ctx["generated"])]
        if status:
            meta.append((_("Status"), ctx["status_text"]))
        for k, v in meta:
            pdf.set_x(40)
            pdf.set_font("cjk", "B", 11)
            pdf.cell(32, 8, k)
            pdf.set_font("cjk", "", 11)
            pdf.multi_cell(pdf.w - 40 - 32 - pdf.r_margin, 8, v, new_x="LMARGIN", new_y="NEXT")
        if status == "draft":
            pdf.ln(10)
            pdf.set_font("cjk", "B", 14)
            pdf.set_text_color(164, 22, 26)
            pdf.multi_cell(0, 8, _("DRAFT: not published"), align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(27, 35, 48)
        if data.get("empty"):
            pdf.ln(8)
            pdf.set_font("cjk", "", 11)
            pdf.multi_cell(0, 7, _("No cases and no hazards were recorded in this period."), align="C",
                           new_x="LMARGIN", new_y="NEXT")

        # sections
        for i, s in enumerate(ctx["sections"], start=1):
            pdf.add_page()
            heading = f"{i}. {s.get('title', '')}"
            pdf.start_section(heading)
            _pdf_heading(pdf, heading, 15)
            if s["indicators"]:
                _pdf_indicators(pdf, s["indicators"], ctx["previous_label"], ctx["last_year_label"])
            for c in s["charts"]:
                img_w = min(165.0, pdf.w - pdf.l_margin - pdf.r_margin)
                img_h = img_w * 3.3 / 7.2
                if pdf.get_y() + img_h + 10 > pdf.h - pdf.b_margin:
                    pdf.add_page()
                pdf.set_font("cjk", "B", 10)
                pdf.cell(0, 7, c.get("title", ""), new_x="LMARGIN", new_y="NEXT")
                pdf.image(io.BytesIO(chart_png(c)), x=(pdf.w - img_w) / 2, w=img_w)
                pdf.ln(3)
            for t in s["tables"]:
                # keep a table that fits on one page together (title, heading and rows); a longer one splits
                # across pages with its heading row repeated
                need = 14 + 6.3 * (len(t["rows_display"]) + 1)
                room, page_room = pdf.h - pdf.b_margin - pdf.get_y(), pdf.h - pdf.b_margin - pdf.t_margin - 12
                if (need > room and need <= page_room) or room < 30:
                    pdf.add_page()
                pdf.set_font("cjk", "B", 10)
                pdf.multi_cell(0, 7, t.get("title", ""), new_x="LMARGIN", new_y="NEXT")
                rows = [[c["text"] for c in r] for r in t["rows_display"]]
                if rows:
                    _pdf_table(pdf, t["columns"], rows, numeric=t["numeric"])
                else:
                    pdf.set_font("cjk", "", 9)
                    pdf.cell(0, 6, _("No data in this period"), new_x="LMARGIN", new_y="NEXT")
                    pdf.ln(2)
            for note in s.get("notes") or []:
                pdf.set_font("cjk", "", 8.5)
                pdf.set_text_color(93, 104, 119)
                pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
                pdf.set_text_color(27, 35, 48)

        # appendix
        pdf.add_page()
        title = _("Appendix: definitions")
        pdf.start_section(title)
        _pdf_heading(pdf, title, 15)
        _pdf_table(pdf, [_("Indicator"), _("Definition / formula"), _("Source")],
                   [[d.get("label", ""), d.get("formula", ""), d.get("source", "")] for d in ctx["definitions"]],
                   widths=[1.3, 3.2, 1.6], font_size=8)
        return bytes(pdf.output())


# --------------------------------------------------------------------------- XLSX
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", str(_xlsx_clean(title))).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:26]} {n}"
        n += 1
    used.add(name.lower())
    return name


def _xlsx_clean(value):
    """A cell value safe for openpyxl (:func:`liftsafe.core.exports.xlsx_clean`)."""
    return exports.xlsx_clean(value)


def _xlsx_append(sheet, values) -> None:
    """Append one row through the shared export helper: a formula-like string (``= + - @``, tab, CR, also
    after leading spaces; e.g. an address ``=HYPERLINK(...)``) is stored as text, never as a formula."""
    exports.xlsx_append(sheet, values)


def render_xlsx(data: dict, *, status: str | None = None) -> bytes:
    """The report as an XLSX workbook (openpyxl).

    Sheets: a summary (title, area, period, generation time, status; then one row
    per indicator: section, indicator, unit, value, previous period, change,
    same period last year, change, numerator, denominator), one sheet per table
    (its columns and rows), one sheet of chart data per chart, and a definitions
    sheet. Numbers are written as numbers (percentages as numbers in %, e.g. 12.5),
    missing ones as empty cells. Deterministic document properties (created =
    ``generated_at``).

    Returns:
        XLSX bytes.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E8EDF3")
    with translation.override(_language(data)):
        ctx = report_context(data, status=status, charts=False)
        wb = Workbook()
        ws = wb.active
        used: set[str] = set()
        ws.title = _sheet_name(_("Summary"), used)
        _xlsx_append(ws, [ctx["title"]])
        ws["A1"].font = Font(bold=True, size=14)
        _xlsx_append(ws, [_("Area"), (data.get("area") or {}).get("name", ""), (data.get("area") or {}).get("code", "")])
        _xlsx_append(ws, [_("Period"), (data.get("period") or {}).get("label", ""), ctx["period_range"]])
        _xlsx_append(ws, [_("Generated at"), data.get("generated_at", "")])
        _xlsx_append(ws, [_("Status"), ctx["status_text"] or DASH])
        if (data.get("period") or {}).get("partial"):
            pd = data["period"]
            _xlsx_append(ws, [_("Partial period"), _("%(n)s of %(d)s days elapsed; comparisons over the same first days")
                              % {"n": pd.get("elapsed_days"), "d": pd.get("days")}])
        _xlsx_append(ws, [])
        header = [_("Section"), _("Indicator"), _("Unit"), _("This period"),
                  _("Previous period (%(label)s)") % {"label": ctx["previous_label"]}, _("Change vs previous"),
                  _("Same period last year (%(label)s)") % {"label": ctx["last_year_label"]}, _("Change vs last year"),
                  _("Numerator"), _("Denominator")]
        _xlsx_append(ws, header)
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font, cell.fill = bold, head_fill
        for s in ctx["sections"]:
            for ind in s["indicators"]:
                unit = ind.get("unit") or ""
                vp, vl = ind["vs_previous"], ind["vs_last_year"]
                _xlsx_append(ws, [s.get("title", ""), ind.get("label", ""), unit_label(unit) or unit, ind.get("value"),
                           ind.get("previous"), f"{vp['arrow']} {vp['text']}".strip() or None, ind.get("last_year"),
                           f"{vl['arrow']} {vl['text']}".strip() or None, ind.get("numerator"), ind.get("denominator")])
        for col, width in zip("ABCDEFGHIJ", (26, 34, 12, 13, 15, 16, 15, 16, 12, 12)):
            ws.column_dimensions[col].width = width
        ws.freeze_panes = f"C{header_row + 1}"  # below the header row (one lower for a partial period)

        for s in ctx["sections"]:
            for t in s["tables"]:
                sh = wb.create_sheet(_sheet_name(t.get("title") or t.get("key") or "table", used))
                _xlsx_append(sh, [t.get("title", "")])
                sh["A1"].font = Font(bold=True, size=12)
                _xlsx_append(sh, list(t.get("columns") or []))
                for cell in sh[2]:
                    cell.font, cell.fill = bold, head_fill
                for row in t.get("rows") or []:
                    _xlsx_append(sh, [c if c is None or isinstance(c, (int, float, str)) else str(c) for c in row])
                sh.freeze_panes = "B3"
                for j in range(1, len(t.get("columns") or []) + 1):
                    sh.column_dimensions[get_column_letter(j)].width = 30 if j == 1 else 14
            for c in s["charts"]:
                sh = wb.create_sheet(_sheet_name(_("Chart %(title)s") % {"title": c.get("title") or c.get("key")}, used))
                _xlsx_append(sh, [c.get("title", ""), unit_label(c.get("unit") or "") or c.get("unit") or ""])
                sh["A1"].font = Font(bold=True, size=12)
                _xlsx_append(sh, [""] + [x.get("name", "") for x in c.get("series") or []])
                for cell in sh[2]:
                    cell.font, cell.fill = bold, head_fill
                for i, x in enumerate(c.get("x") or []):
                    cells = [x]
                    for x_s in c.get("series") or []:
                        vals = x_s.get("values") or []
                        cells.append(vals[i] if i < len(vals) else None)
                    _xlsx_append(sh, cells)
                sh.column_dimensions["A"].width = 28

        sh = wb.create_sheet(_sheet_name(_("Definitions"), used))
        _xlsx_append(sh, [_("Indicator"), _("Definition / formula"), _("Source")])
        for cell in sh[1]:
            cell.font, cell.fill = bold, head_fill
        for d in ctx["definitions"]:
            _xlsx_append(sh, [d.get("label", ""), d.get("formula", ""), d.get("source", "")])
        for col, width in zip("ABC", (28, 80, 50)):
            sh.column_dimensions[col].width = width
        for row in sh.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

        try:
            created = dt.datetime.fromisoformat(data.get("generated_at")).astimezone(dt.timezone.utc).replace(tzinfo=None)
            wb.properties.created = wb.properties.modified = created
        except (TypeError, ValueError):
            pass
        wb.properties.title = ctx["title"]
        wb.properties.creator = "liftsafe"
        buf = io.BytesIO()
        wb.save(buf)
        return _fixed_zip_times(buf.getvalue())


def _fixed_zip_times(xlsx: bytes) -> bytes:
    """The same workbook with every ZIP entry dated 1980-01-01 (zipfile stamps the wall clock otherwise) and the
    document's "modified" time equal to its "created" time (``generated_at``), so the same data gives the same bytes."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the save time: use "created"
                created = re.search(rb"<dcterms:created[^>]*>([^<]*)<", content)
                if created:
                    content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", lambda m: m.group(1) + created.group(1) + m.group(2),
                                     content)
            dst.writestr(fixed, content)
    return out.getvalue()
