"""Printable QR labels (PDF, fpdf2 with the embedded CJK font of :mod:`liftsafe.reports.fonts`).

Each label prints the QR code of ``<site>/q/<code>`` AND, as text, the 96333 number, the rescue code and the
registration code, so it still works with no signal in the car (docs/domain §15.6). Sizes are A4 sheets of
labels (:data:`SIZES`). A selection is rendered in parts of rule ``disclosure_labels_per_pdf`` labels: one part is
one PDF; more parts stream as a ZIP of PDFs, generated part by part, so memory stays bounded by one part
whatever the number of lifts (50,000 lifts → 50 parts).
"""
from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import segno
from django.utils.translation import gettext as _
from fpdf import FPDF

from liftsafe.reports.fonts import cjk_font
from liftsafe.rules import rule

from .domain import EMERGENCY_NUMBER

logging.getLogger("fontTools").setLevel(logging.WARNING)  # the font subsetter logs every glyph at INFO


@dataclass(frozen=True)
class Size:
    key: str
    label: str
    width_mm: float
    height_mm: float
    cols: int
    rows: int


#: A4 portrait sheets (210 × 297 mm) with 10 mm margins.
SIZES = {
    "small": Size("small", "50 × 30 mm (4 × 9 per sheet)", 47.5, 30.0, 4, 9),
    "medium": Size("medium", "95 × 55 mm (2 × 5 per sheet)", 95.0, 55.0, 2, 5),
    "large": Size("large", "190 × 130 mm (1 × 2 per sheet)", 190.0, 130.0, 1, 2),
}


@dataclass(frozen=True)
class LabelRow:
    code: str
    registration_code: str
    rescue_code: str
    address: str


def _font(pdf: FPDF) -> str:
    font = cjk_font()  # embedded as a subset: only the glyphs the labels use
    pdf.add_font("cjk", "", font.path, collection_font_number=font.index)
    return "cjk"


#: A fixed data mask: segno's search for the best of the eight masks costs ~10 ms per code (minutes for 50,000 labels);
#: every mask is a valid QR code and error correction (M, boosted to Q for these short upper-case URLs) carries the print.
MASK = 1


def label_url(base_url: str, code: str) -> str:
    """The URL the label encodes: upper case (``HTTPS://HOST/Q/CODE``) so the QR code uses the compact alphanumeric
    mode (version 3 with error correction Q instead of M for the same size); ``/Q/<code>`` is served like ``/q/<code>``."""
    return f"{base_url.rstrip('/').upper()}/Q/{code}"


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code (segno, error correction M, quiet zone 2 modules) as vector rectangles, one per run of dark
    modules in a row, all filled with one operator: crisp at any print size and fast for 50,000 labels. Written
    as raw path operators (``re`` … ``f``) in PDF points with fpdf2's page coordinates."""
    qr = segno.make(url, error="m", boost_error=True, mask=MASK)
    matrix = list(qr.matrix_iter(scale=1, border=2))
    n = len(matrix)
    k, page_h = pdf.k, pdf.h
    cell = size / n * k
    x0, top = x * k, (page_h - y) * k
    ops = ["0 g"]
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                ops.append(f"{x0 + start * cell:.2f} {top - (r + 1) * cell:.2f} {(c - start) * cell:.2f} {cell:.2f} re")
            else:
                c += 1
    ops.append("f")
    pdf._out("\n".join(ops))  # fpdf2's content-stream writer (one string per label)


def _label(pdf: FPDF, font: str, size: Size, row: LabelRow, base_url: str, x: float, y: float) -> None:
    w, h = size.width_mm, size.height_mm
    pdf.set_draw_color(160, 160, 160)
    pdf.rect(x, y, w, h)
    pad = 1.5 if size.key == "small" else 3
    qr_size = h - 2 * pad
    _qr(pdf, label_url(base_url, row.code), x + pad, y + pad, qr_size)
    tx = x + pad * 2 + qr_size
    tw = w - (tx - x) - pad
    scale = {"small": 1.0, "medium": 1.8, "large": 3.6}[size.key]
    pdf.set_text_color(200, 0, 0)
    pdf.set_font(font, size=7 * scale)
    pdf.set_xy(tx, y + pad)
    pdf.cell(tw, 3.2 * scale, _("Trapped? Call"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=13 * scale)
    pdf.set_xy(tx, y + pad + 3.4 * scale)
    pdf.cell(tw, 5.5 * scale, EMERGENCY_NUMBER)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(font, size=5.5 * scale)
    lines = [
        _("Rescue code") + f" {row.rescue_code or '—'}",
        _("Reg. code") + f" {row.registration_code or '—'}",
        _("Scan to see maintenance and report a problem"),
    ]
    ly = y + pad + 9.5 * scale
    base = 5.5 * scale
    for text in lines:
        pdf.set_font(font, size=base)
        parts = [text]
        if pdf.get_string_width(text) > tw / 0.7 and " " in text:  # would shrink below 70 %: title and code on two lines
            parts = text.split(" ", 1)
        for part in parts:
            _fit(pdf, font, part, tw, base)
            pdf.set_xy(tx, ly)
            pdf.cell(tw, 2.6 * scale, part)
            ly += 2.7 * scale


def _fit(pdf: FPDF, font: str, text: str, width: float, size: float) -> None:
    """Set the largest font size ≤ ``size`` at which ``text`` fits ``width`` mm (never below 40 %: printed codes stay legible)."""
    pdf.set_font(font, size=size)
    w = pdf.get_string_width(text)
    if w > width:
        pdf.set_font(font, size=max(size * 0.4, size * width / w * 0.98))


def render_part(rows: Iterable[LabelRow], size: Size, base_url: str) -> bytes:
    """One PDF of labels (as many A4 sheets as needed)."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(10, 10, 10)
    pdf.set_title("liftsafe QR labels")
    pdf.set_creator("liftsafe")
    font = _font(pdf)
    per_page = size.cols * size.rows
    i = 0
    for row in rows:
        if i % per_page == 0:
            pdf.add_page()
        k = i % per_page
        x = 10 + (k % size.cols) * size.width_mm
        y = 10 + (k // size.cols) * size.height_mm
        _label(pdf, font, size, row, base_url, x, y)
        i += 1
    if i == 0:
        pdf.add_page()
        pdf.set_font(font, size=12)
        pdf.cell(0, 10, _("No lifts selected."))
    return bytes(pdf.output())


def chunked(rows: Iterable[LabelRow], n: int) -> Iterator[list[LabelRow]]:
    part: list[LabelRow] = []
    for r in rows:
        part.append(r)
        if len(part) == n:
            yield part
            part = []
    if part:
        yield part


class _Sink:
    """A write-only buffer the ZIP writer fills and the generator drains (ZIP streamed, never held whole)."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0

    def write(self, b) -> int:
        self.buf.extend(b)
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def stream_zip(rows: Iterable[LabelRow], size: Size, base_url: str, *, per_pdf: int | None = None) -> Iterator[bytes]:
    """Yield a ZIP of PDF parts (``labels-0001.pdf`` …) chunk by chunk; one part in memory at a time."""
    per_pdf = per_pdf or int(rule("disclosure_labels_per_pdf"))
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as zf:
        for n, part in enumerate(chunked(rows, per_pdf), start=1):
            with zf.open(f"labels-{n:04d}.pdf", mode="w", force_zip64=True) as fh:
                fh.write(render_part(part, size, base_url))
            yield sink.take()
    yield sink.take()
