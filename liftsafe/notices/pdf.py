"""The printable form of an official document (PDF, A4, fpdf2 with the platform's CJK font).

The form is the legal Chinese text of the document (an administrative document is issued in Chinese whatever
the reader's interface language): the authority's name, the document's title and number, the addressee, the
lift, the facts found, the requirements and deadline, the legal basis, the date, and a place for the seal.
Sources: 特种设备安全法 Art. 61 (seal, stop use) and Art. 62 (written safety supervision instruction); GB/T 9704-2012
§7.2.4 (document number); docs/domain §7.
"""
from __future__ import annotations

from fpdf import FPDF

from liftsafe.reports.fonts import cjk_font

from .models import Document, Kind

TITLES = {Kind.STOP_USE: "特种设备停止使用通知书", Kind.RECTIFICATION: "特种设备安全整改通知书",
          Kind.INSTRUCTION: "特种设备安全监察指令书"}
STANDARD = {
    Kind.STOP_USE: "依据《中华人民共和国特种设备安全法》第六十一条、第六十二条，责令你单位自收到本通知书之日起立即停止使用上述电梯，"
                   "在隐患消除并经本机关核查同意前不得恢复使用。",
    Kind.RECTIFICATION: "依据《中华人民共和国特种设备安全法》第六十二条，责令你单位对上述问题进行整改，并于整改期限届满前"
                        "将整改情况书面报告本机关。",
    Kind.INSTRUCTION: "依据《中华人民共和国特种设备安全法》第六十二条，现对你单位下达安全监察指令，请按下列要求执行，"
                      "并于期限届满前书面报告执行情况。",
}



def _mc(pdf, *args, **kw):
    """``multi_cell`` that leaves the cursor at the left margin of the next line (fpdf2's default stays right)."""
    kw.setdefault("new_x", "LMARGIN")
    kw.setdefault("new_y", "NEXT")
    return pdf.multi_cell(*args, **kw)

def _date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def document_pdf(doc: Document) -> bytes:
    """The document as PDF bytes (deterministic for the same document). Raises ``MissingFontError`` (no CJK font)."""
    font = cjk_font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font("cjk", "", font.path, collection_font_number=font.index)
    pdf.add_font("cjk", "B", font.bold_path or font.path, collection_font_number=font.bold_index if font.bold_path else font.index)
    pdf.set_title(f"{TITLES[doc.kind]} {doc.number}")
    pdf.set_author(doc.authority_name)
    pdf.set_creator("liftsafe")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(doc.issued_at)
    pdf.add_page()
    w = pdf.epw
    pdf.set_font("cjk", "B", 20)
    _mc(pdf, w, 11, doc.authority_name, align="C")
    pdf.set_font("cjk", "B", 18)
    _mc(pdf, w, 11, TITLES[doc.kind], align="C")
    pdf.set_font("cjk", "", 12)
    _mc(pdf, w, 8, doc.number, align="C")
    pdf.ln(2)
    pdf.set_draw_color(180, 0, 0)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + w, pdf.get_y())
    pdf.ln(5)
    e = doc.elevator
    pdf.set_font("cjk", "B", 13)
    _mc(pdf, w, 8, f"{doc.addressee.name if doc.addressee else '（使用单位未登记）'}：")
    pdf.set_font("cjk", "", 12)
    lift = [f"设备注册代码：{e.registration_code or '—'}", f"96333 救援识别码：{e.rescue_code or '—'}",
            f"使用登记证编号：{e.use_certificate_no or '—'}", f"设备地点：{e.address or '—'}"]
    _mc(pdf, w, 7, "经查，你单位使用的下列电梯：")
    for line in lift:
        pdf.set_x(pdf.l_margin + 8)
        _mc(pdf, w - 8, 7, line)
    pdf.ln(1)
    _mc(pdf, w, 7, "存在以下问题：")
    pdf.set_x(pdf.l_margin + 8)
    _mc(pdf, w - 8, 7, doc.facts)
    pdf.ln(2)
    _mc(pdf, w, 7, STANDARD[doc.kind])
    if doc.requirements:
        pdf.ln(1)
        _mc(pdf, w, 7, "具体要求：")
        pdf.set_x(pdf.l_margin + 8)
        _mc(pdf, w - 8, 7, doc.requirements)
    if doc.deadline:
        pdf.ln(1)
        pdf.set_font("cjk", "B", 12)
        _mc(pdf, w, 7, f"完成期限：{_date(doc.deadline)}前")
        pdf.set_font("cjk", "", 12)
    if doc.hazard_id:
        _mc(pdf, w, 7, f"关联隐患编号：#{doc.hazard_id}")
    if doc.supersedes_id:
        pdf.ln(1)
        _mc(pdf, w, 7, f"本文书更正并替代 {doc.supersedes.number}，原文书同时作废（原件存档）。")
    pdf.ln(2)
    _mc(pdf, w, 7, "如不服本文书，可依法申请行政复议或者提起行政诉讼。")
    # the seal: a box for the authority's seal, the authority's name and the date under it
    pdf.ln(8)
    box_w, box_h = 48, 40
    x = pdf.l_margin + w - box_w
    y = pdf.get_y()
    if y + box_h + 40 > pdf.h - pdf.b_margin:
        pdf.add_page()
        y = pdf.get_y()
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(x, y, box_w, box_h)
    pdf.set_dash_pattern()
    pdf.set_xy(x, y + box_h / 2 - 4)
    pdf.set_text_color(140, 140, 140)
    pdf.cell(box_w, 8, "（盖章处）", align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, y + box_h + 3)
    _mc(pdf, w, 7, doc.authority_name, align="R")
    _mc(pdf, w, 7, _date(doc.issued_on), align="R")
    pdf.ln(8)
    pdf.set_font("cjk", "", 10)
    _mc(pdf, w, 6, "签收人：______________        签收日期：______________        "
                         "（通过平台送达的，以使用单位账户首次打开时间为送达回执）")
    return bytes(pdf.output())
