"""The one way to write CSV and XLSX files that people download (registry, hazards, reports, import reports).

Every text cell goes through spreadsheet formula-injection neutralisation (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection): a value whose first character is ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, or whose first character after leading whitespace is one of
``= + - @``, would be evaluated as a formula by Excel / LibreOffice / WPS (e.g. an address
``=HYPERLINK("http://x","y")`` set by one role, downloaded by another). Such values are made inert:

- CSV: prefixed with a single quote (``'=HYPERLINK(…)``), OWASP's recommendation; the ``csv`` module
  then quotes the field as needed;
- XLSX: stored unchanged but as a text cell (``t="s"``/inline string, never ``<f>``) with the
  "quote prefix" style, so the value stays text also after the cell is edited.

Plain numbers written as text (``-12.5``, ``+86``) are left alone: they cannot be formulas.

Writers stream: :func:`csv_stream` yields one line at a time (constant memory, for a
``StreamingHttpResponse``); :func:`xlsx_file` writes an openpyxl write-only workbook row by row to a
temporary file (constant memory).

Machine payloads whose bytes are fixed by a specification (e.g. the provincial platform's CSV upload,
``liftsafe.exchange.adapters.provincial_csv``) do not use this module: they are not opened by people.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import re
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

_FORMULA_FIRST = frozenset("=+-@")
_CONTROL_FIRST = frozenset("\t\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet could read ``value`` as a formula (see the module doc)."""
    if not value:
        return False
    if value[0] in _CONTROL_FIRST:
        return True
    stripped = value.lstrip()
    return bool(stripped) and stripped[0] in _FORMULA_FIRST and not _NUMBER.fullmatch(stripped)


def neutralise(value):
    """A CSV cell value: formula-like strings prefixed with ``'``; other values unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_cell(value):
    """One CSV cell: ``None`` → empty, dates ISO 8601, strings neutralised, numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


class SafeCsvWriter:
    """A ``csv.writer`` whose every cell goes through :func:`csv_cell`; same arguments as ``csv.writer``."""

    def __init__(self, fileobj, *args, **kwargs):
        self._w = csv.writer(fileobj, *args, **kwargs)

    def writerow(self, row):
        return self._w.writerow([csv_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _Echo:
    def write(self, value):
        return value


def csv_stream(rows: Iterable[Iterable], *, bom: bool = True) -> Iterator[str]:
    """The rows as CSV text, one line per item (a UTF-8 BOM first so Excel reads Chinese text)."""
    writer = SafeCsvWriter(_Echo())
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def csv_response(rows: Iterable[Iterable], filename: str, *, bom: bool = True, stream: bool = True):
    """A CSV download of ``rows`` (header row included by the caller): streamed, or (``stream=False``, for a
    small table) one ``HttpResponse``."""
    if stream:
        resp = StreamingHttpResponse(csv_stream(rows, bom=bom), content_type=CSV_CONTENT_TYPE)
    else:
        resp = HttpResponse("".join(csv_stream(rows, bom=bom)), content_type=CSV_CONTENT_TYPE)
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


@functools.cache
def _openpyxl():
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    return WriteOnlyCell, ILLEGAL_CHARACTERS_RE, WriteOnlyWorksheet


def xlsx_clean(value):
    """A value openpyxl accepts: control characters it refuses removed from strings, ``Decimal`` → float."""
    if isinstance(value, str):
        return _openpyxl()[1].sub("", value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx_append(sheet, values: Iterable, *, number_formats: dict[int, str] | None = None) -> None:
    """Append one row to an openpyxl worksheet (normal or write-only), formula-like strings as inert text.

    ``number_formats``: ``{0-based column: Excel number format}`` (e.g. ``{10: "0.0%"}``).
    In a write-only sheet empty strings and ``None`` become empty cells (not written).
    """
    WriteOnlyCell, _re, WriteOnlyWorksheet = _openpyxl()
    formats = number_formats or {}
    if isinstance(sheet, WriteOnlyWorksheet):
        cells = []
        for i, v in enumerate(values):
            v = None if v == "" else xlsx_clean(v)
            if v is None or (i not in formats and not (isinstance(v, str) and is_formula_like(v))):
                cells.append(v)
                continue
            cell = WriteOnlyCell(sheet, value=v)
            _inert(cell)
            if i in formats:
                cell.number_format = formats[i]
            cells.append(cell)
        sheet.append(cells)
        return
    values = [xlsx_clean(v) for v in values]
    sheet.append(values)
    row = sheet._current_row  # the row just appended (also when it is empty)
    for i, v in enumerate(values):
        if v is None:
            continue
        cell = sheet.cell(row=row, column=i + 1)
        _inert(cell)
        if i in formats:
            cell.number_format = formats[i]


def _inert(cell) -> None:
    if isinstance(cell.value, str) and (cell.data_type == "f" or is_formula_like(cell.value)):
        cell.data_type = "s"  # openpyxl makes any "=…" string a formula; store it as text
        cell.quotePrefix = True  # and keep it text after an edit in Excel / LibreOffice


def xlsx_file(rows: Iterable[Iterable], *, sheet_title: str = "Sheet1", number_formats: dict[int, str] | None = None,
              header_rows: int = 1):
    """Write ``rows`` to a write-only workbook in a temporary file (constant memory); returns the open file at 0.

    ``number_formats`` applies to data rows only (not the first ``header_rows``).
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:31] or "Sheet1")
    for n, row in enumerate(rows):
        xlsx_append(ws, row, number_formats=None if n < header_rows else number_formats)
    tmp = tempfile.TemporaryFile(suffix=".xlsx")
    wb.save(tmp)
    tmp.seek(0)
    return tmp


def xlsx_response(rows: Iterable[Iterable], filename: str, *, sheet_title: str = "Sheet1",
                  number_formats: dict[int, str] | None = None, stream: bool = True):
    """An XLSX download of ``rows`` (see :func:`xlsx_file`): a ``FileResponse``, or (``stream=False``, for a
    small table) one ``HttpResponse``."""
    tmp = xlsx_file(rows, sheet_title=sheet_title, number_formats=number_formats)
    if stream:
        return FileResponse(tmp, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
    with tmp:
        resp = HttpResponse(tmp.read(), content_type=XLSX_CONTENT_TYPE)
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
