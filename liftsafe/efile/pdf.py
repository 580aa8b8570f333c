"""The elevator file as a PDF dossier (A4 landscape, fpdf2, the platform's CJK font).

One title block (the lift's codes and address, when and for whom it was printed), then one table per section
with the section's export rows (the same rows as its CSV/XLSX). A section without rows says so.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from liftsafe.reports.fonts import cjk_font

MAX_CELL = 300  # characters of one cell in print (the CSV/XLSX export holds the whole text)



def _mc(pdf, *args, **kw):
    """``multi_cell`` that leaves the cursor at the left margin of the next line (fpdf2's default stays right)."""
    kw.setdefault("new_x", "LMARGIN")
    kw.setdefault("new_y", "NEXT")
    return pdf.multi_cell(*args, **kw)

def _cell(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"


class _Dossier(FPDF):
    running = ""

    def header(self):
        if self.page_no() > 1:
            self.set_font("cjk", "", 8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 5, self.running, new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)

    def footer(self):
        self.set_y(-12)
        self.set_font("cjk", "", 8)
        self.cell(0, 6, _("Page %(n)s of %(total)s") % {"n": self.page_no(), "total": "{nb}"}, align="C")


def dossier_pdf(elevator, sections: list[tuple[str, tuple[list, list] | None]], *, viewer: str = "") -> bytes:
    """PDF bytes of the dossier.

    Args:
        sections: ``[(title, (headers, rows) | None)]`` in page order (``None``: a section with no export).
        viewer: the user name printed as "printed for".

    Raises:
        liftsafe.reports.fonts.MissingFontError: no CJK font installed.
    """
    font = cjk_font()
    pdf = _Dossier(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", "", font.path, collection_font_number=font.index)
    pdf.add_font("cjk", "B", font.bold_path or font.path, collection_font_number=font.bold_index if font.bold_path else font.index)
    title = _("Elevator file %(code)s") % {"code": elevator.display_code}
    pdf.running = f"{title} · {elevator.address}"
    pdf.set_title(title)
    pdf.set_creator("liftsafe")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("cjk", "B", 18)
    _mc(pdf, 0, 10, title)
    pdf.set_font("cjk", "", 10)
    now = timezone.localtime()
    _mc(pdf, 0, 6, f"{elevator.address}")
    _mc(pdf, 0, 6, _("Printed %(at)s for %(who)s; each section holds the rows the file shows to this user.")
                   % {"at": now.strftime("%Y-%m-%d %H:%M"), "who": viewer or "—"})
    pdf.ln(2)
    pdf.set_font("cjk", "B", 11)
    pdf.cell(0, 7, _("Contents"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 10)
    for i, (stitle, _t) in enumerate(sections, 1):
        pdf.cell(0, 6, f"{i}. {stitle}", new_x="LMARGIN", new_y="NEXT")
    for i, (stitle, table) in enumerate(sections, 1):
        pdf.ln(4)
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.set_font("cjk", "B", 13)
        pdf.cell(0, 8, f"{i}. {stitle}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", "", 8)
        if table is None:
            _mc(pdf, 0, 5, _("This section has no printable rows; see it on the page."))
            continue
        headers, rows = table
        if not rows:
            _mc(pdf, 0, 5, _("No records."))
            continue
        with pdf.table(headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)), line_height=4.5,
                       text_align="LEFT", first_row_as_headings=True) as t:
            t.row([str(h) for h in headers])
            for r in rows:
                t.row([_cell(v) for v in r])
    return bytes(pdf.output())
