"""File checks and row readers for CSV, gzip-compressed CSV and XLSX.

:func:`open_source` runs every check that can refuse a file BEFORE anything
is written: size (rule ``import_max_file_bytes``), type (magic bytes), the
text encoding (declared, or detected: byte-order mark, strict UTF-8, then
GB18030; the whole file is decoded in a pre-pass), the XLSX zip members
(rules ``import_xlsx_max_uncompressed_bytes`` and ``import_xlsx_max_ratio``,
checked before openpyxl opens the file), the sheet and header row (searched,
see :func:`open_source`) and the required columns. It returns a
:class:`Source` whose ``rows()`` yields ``(row_number, {column: folded
value})``; ``row_number`` is the file's own row number (counted from 1).
XLSX numbers arrive as :class:`NumCell` so identity codes can be checked.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Iterator

from django.utils.translation import gettext as _

from liftsafe.rules import rule

from .errors import ImportFileError
from .mapping import header_key

_CHUNK = 1 << 20
csv.field_size_limit(1 << 24)


class NumCell(str):
    """The text of a NUMERIC spreadsheet cell (``str`` subclass; ``exact`` tells whether its digits can be trusted).

    Spreadsheet numbers are IEEE doubles and Excel keeps 15 significant digits, so a
    number of 10**15 or more (a 20-digit 注册代码 typed as a number: ``3.11032010220151E+19``)
    has lost its last digits: its text is the number as stored (``"3.1103201022015081e+19"``),
    never invented digits, and ``exact`` is False. A whole number below 10**15 is written
    exactly (``900001.0`` → ``"900001"``); its leading zeros, if it had any, are lost.
    """

    exact: bool = True


def _num(text: str, exact: bool) -> NumCell:
    c = NumCell(text)
    c.exact = exact
    return c


EXACT_LIMIT = 10**15  # Excel's 15 significant digits (and below 2**53, the double's exact-integer limit)


@dataclass
class Source:
    """A checked file: where the header is, how it was decoded, and its rows.

    ``header`` holds one name per file column: the mapping's column name where the
    (normalised, possibly two-row) header text matched one, else the header text.
    ``header_row`` is the LAST header row (data start below it); ``header_rows`` is 1 or 2.
    """

    path: Path
    kind: str  # "csv" | "csv.gz" | "xlsx"
    encoding: str  # codec used ("utf-8-sig", "gb18030", …) or "xlsx"
    sha256: str
    header: list[str]
    header_row: int
    total_rows: int  # data rows (CSV: records counted in the pre-pass; XLSX: sheet rows below the header)
    columns: list[str]
    encoding_detected: bool = False  # True when found by detection (BOM / UTF-8 / GB18030), not declared
    delimiter: str = ","
    sheet: str | None = None
    header_rows: int = 1
    unrecognised: list[str] = dc_field(default_factory=list)  # file columns the mapping does not use
    missing_optional: list[str] = dc_field(default_factory=list)  # mapping columns absent from the file
    sheets_searched: list[str] = dc_field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (row number, {column: value with white space folded}) for the needed columns.

        XLSX numeric cells are :class:`NumCell` values (kept as they are).
        """
        idx = [(c, self.header.index(c)) for c in self.columns if c in self.header]
        absent = {c: "" for c in self.columns if c not in self.header}  # optional columns not in this file
        n = len(self.header)
        xlsx = self.kind == "xlsx"
        for rownum, cells in self._raw_rows():
            if not any(cells):
                continue
            if len(cells) < n:
                cells = list(cells) + [""] * (n - len(cells))
            if xlsx:
                row = {c: (cells[i] if type(cells[i]) is NumCell else " ".join(cells[i].split())) for c, i in idx}
            else:
                row = {c: " ".join(cells[i].split()) if cells[i] else "" for c, i in idx}
            if absent:
                row.update(absent)
            yield rownum, row

    def _raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.kind == "xlsx":
            yield from _xlsx_rows(self.path, self.header_row, self.sheet)
            return
        with _open_text(self.path, self.kind, self.encoding) as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            rownum = 0
            for cells in reader:
                rownum += 1
                if rownum <= self.header_row:
                    continue
                yield rownum, cells


def _open_text(path: Path, kind: str, encoding: str):
    raw = gzip.open(path, "rb") if kind == "csv.gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _detect_kind(path: Path, head: bytes) -> str:
    name = path.name.lower()
    if name.endswith(".xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            raise ImportFileError(_("%(file)s: not an XLSX file (no zip signature)") % {"file": path.name})
        return "xlsx"
    if name.endswith(".csv.gz") or name.endswith(".gz"):
        if not head.startswith(b"\x1f\x8b"):
            raise ImportFileError(_("%(file)s: not a gzip file") % {"file": path.name})
        return "csv.gz"
    if name.endswith(".csv") or name.endswith(".txt"):
        if head.startswith(b"PK\x03\x04"):
            raise ImportFileError(_("%(file)s: this is a zip/XLSX file, not a CSV; rename it to .xlsx") % {"file": path.name})
        if b"\x00" in head[:8192] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ImportFileError(_("%(file)s: not a CSV file (binary content)") % {"file": path.name})
        return "csv"
    if name.endswith(".xls"):
        raise ImportFileError(_("%(file)s: an old Excel 97-2003 workbook (.xls); save it as .xlsx or CSV and import that") % {"file": path.name})
    raise ImportFileError(_("%(file)s: unsupported file type; expected .csv, .csv.gz or .xlsx") % {"file": path.name})


class _NotEncoded(Exception):
    def __init__(self, offset: int, line: int, reason: str):
        self.offset, self.line, self.reason = offset, line, reason


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _prepass_text(path: Path, kind: str, encoding: str, max_bytes: int) -> int:
    """Decode the whole file strictly with ``encoding``; return the physical line count.

    Raises:
        _NotEncoded: the bytes are not valid in ``encoding`` (offset, line, reason).
        ImportFileError: NUL characters, over rule ``import_max_file_bytes`` uncompressed, corrupt gzip.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    stream = gzip.open(path, "rb") if kind == "csv.gz" else open(path, "rb")
    offset = 0
    lines = 0
    with stream:
        try:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise _NotEncoded(offset + exc.start, lines + chunk[: exc.start].count(b"\n") + 1, exc.reason) from None
                if "\x00" in text:
                    raise ImportFileError(_("%(file)s: not a CSV file (NUL characters)") % {"file": path.name})
                lines += text.count("\n")
                offset += len(chunk)
                if offset > max_bytes:
                    raise ImportFileError(_("%(file)s: uncompressed content exceeds %(max)s bytes (rule import_max_file_bytes)")
                                          % {"file": path.name, "max": max_bytes})
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise _NotEncoded(offset, lines + 1, exc.reason) from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFileError(_("%(file)s: corrupt gzip stream: %(error)s") % {"file": path.name, "error": exc}) from None
    return lines


ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GB18030", "utf-16": "UTF-16", "utf-32": "UTF-32"}


def encoding_label(codec: str) -> str:
    """Display name of a codec: ``utf-8-sig`` → ``UTF-8``, ``gb18030`` → ``GB18030``."""
    return ENCODING_NAMES.get(codec, codec.upper())


def _csv_encoding(path: Path, kind: str, declared: str, max_bytes: int) -> tuple[str, bool, int]:
    """Choose and check the text encoding; return (codec, detected?, physical line count).

    ``declared`` is a codec name (from ``--encoding`` or the mapping) or ``"auto"``: a
    byte-order mark (UTF-8, UTF-16, UTF-32) decides; otherwise strict UTF-8, then GB18030
    (the GBK superset Excel on Chinese Windows writes). The whole file is decoded in the check.

    Raises:
        ImportFileError: the file is not valid in the declared encoding, or (auto) in any of
            the candidates; the message names them with the first bad byte and line.
    """
    if declared != "auto":
        codec = declared
        if codec.replace("-", "").replace("_", "").lower() == "utf8":
            codec = "utf-8-sig"  # accept (and drop) a byte-order mark
        try:
            codecs.lookup(codec)
        except LookupError:
            raise ImportFileError(_("unknown encoding %(encoding)s") % {"encoding": declared}) from None
        try:
            return codec, False, _prepass_text(path, kind, codec, max_bytes)
        except _NotEncoded as exc:
            raise ImportFileError(_("%(file)s: not valid %(encoding)s (the declared encoding) at byte %(offset)s, line %(line)s")
                                  % {"file": path.name, "encoding": encoding_label(codec), "offset": exc.offset, "line": exc.line}) from None
    with (gzip.open(path, "rb") if kind == "csv.gz" else open(path, "rb")) as fh:
        try:
            head = fh.read(4)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFileError(_("%(file)s: corrupt gzip stream: %(error)s") % {"file": path.name, "error": exc}) from None
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        candidates = ["utf-32"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    failures = []
    for codec in candidates:
        try:
            return codec, True, _prepass_text(path, kind, codec, max_bytes)
        except _NotEncoded as exc:
            failures.append(_("%(encoding)s (byte %(offset)s, line %(line)s)") % {"encoding": encoding_label(codec), "offset": exc.offset, "line": exc.line})
    raise ImportFileError(_("%(file)s: the text encoding is not recognised: not valid %(tried)s; save the file as UTF-8 or give --encoding")
                          % {"file": path.name, "tried": _(" nor ").join(failures)})


def _check_xlsx_zip(path: Path) -> None:
    max_total = int(rule("import_xlsx_max_uncompressed_bytes"))
    max_ratio = float(rule("import_xlsx_max_ratio"))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise ImportFileError(_("%(file)s: a zip file but not an XLSX workbook") % {"file": path.name})
            total = 0
            for info in infos:
                total += info.file_size
                if total > max_total:
                    raise ImportFileError(_("%(file)s: XLSX expands to over %(max)s bytes (rule import_xlsx_max_uncompressed_bytes); "
                                            "refusing a possible zip bomb") % {"file": path.name, "max": max_total})
                if info.file_size > (1 << 20) and info.file_size > max_ratio * max(info.compress_size, 1):
                    raise ImportFileError(_("%(file)s: XLSX member %(member)s compresses %(ratio)s:1 (over rule import_xlsx_max_ratio "
                                            "%(max)s); refusing a possible zip bomb") % {
                        "file": path.name, "member": info.filename, "ratio": info.file_size // max(info.compress_size, 1),
                        "max": f"{max_ratio:g}"})
    except zipfile.BadZipFile as exc:
        raise ImportFileError(_("%(file)s: not a valid XLSX (zip) file: %(error)s") % {"file": path.name, "error": exc}) from None


def _cell_text(v) -> str:
    """Text of an XLSX cell value; numbers become :class:`NumCell` (see there for exactness)."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int):
        return _num(str(v), abs(v) < EXACT_LIMIT)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < EXACT_LIMIT:
            return _num(str(int(v)), True)
        if abs(v) >= EXACT_LIMIT:
            return _num(repr(v), False)  # the number as stored, never invented digits
        return _num(repr(v), True)
    return str(v)


def _xlsx_rows(path: Path, header_row: int, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        for rownum, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            yield rownum, [_cell_text(v) for v in values]
    finally:
        wb.close()


# --- header location ------------------------------------------------------------------------------


@dataclass
class _Header:
    score: int  # distinct mapping columns found
    names: list[str]
    row: int  # last header row, 1-based
    nrows: int  # 1 or 2
    has_key: bool
    sheet: str | None = None


class _Matcher:
    """Matches header texts to the mapping's columns (normalised: see :func:`header_key`)."""

    def __init__(self, mapping):
        self.key = mapping.key
        self.known: dict[str, str] = {}
        for c in mapping.used_columns:
            self.known.setdefault(header_key(c), c)
        for c, alts in mapping.column_aliases.items():
            for a in alts:
                self.known.setdefault(header_key(a), c)
        self.ignored = {header_key(c) for c in mapping.ignore_columns}

    def resolve(self, *candidates: str) -> tuple[str, bool]:
        """First candidate text naming a mapping column → (column, True); else (first candidate, False)."""
        for c in candidates:
            hit = self.known.get(header_key(c))
            if hit is not None:
                return hit, True
        return candidates[0], False

    def single(self, cells: list[str]) -> list[str]:
        return [self.resolve(c)[0] if c else "" for c in cells]

    def combined(self, top: list[str], sub: list[str]) -> list[str]:
        """Two header rows as on government forms: a group cell (merged across its columns, so
        only its first cell holds text) over sub-headers. ``使用单位`` over ``名称`` / ``统一社会信用代码``
        → ``使用单位/名称`` / ``使用单位/统一社会信用代码`` (or ``使用单位名称`` …, or the sub-header
        alone, whichever the mapping knows). A top cell with nothing below (merged down) is a
        header of its own."""
        n = max(len(top), len(sub))
        top = list(top) + [""] * (n - len(top))
        sub = list(sub) + [""] * (n - len(sub))
        names, group = [], ""
        for t, b in zip(top, sub):
            if t:
                group = t if b else ""
                names.append(self.resolve(f"{t}/{b}", t + b, b)[0] if b else self.resolve(t)[0])
            elif b:
                names.append(self.resolve(f"{group}/{b}", group + b, b)[0] if group else self.resolve(b)[0])
            else:
                group = ""
                names.append("")
        return names

    def score(self, names: list[str]) -> tuple[int, bool]:
        found = {n for n in names if n and header_key(n) in self.known and self.known[header_key(n)] == n}
        return len(found), self.key in found


def _clean_cells(cells) -> list[str]:
    out = [" ".join(str(c or "").split()) for c in cells]
    if out and out[0].startswith("\ufeff"):
        out[0] = out[0].lstrip("\ufeff")
    while out and not out[-1]:
        out.pop()
    return out


def _locate(rows: list[list[str]], matcher: _Matcher) -> _Header | None:
    """The best header among the first rows: one row, or a group row + sub-header row."""
    best: _Header | None = None
    prev: list[str] | None = None
    for i, raw in enumerate(rows, start=1):
        cells = _clean_cells(raw)
        options = [(matcher.single(cells), 1)]
        if prev and cells:
            options.append((matcher.combined(prev, cells), 2))
        for names, nrows in options:
            score, has_key = matcher.score(names)
            if score and (best is None or (has_key, score) > (best.has_key, best.score)):
                best = _Header(score=score, names=names, row=i, nrows=nrows, has_key=has_key)
        prev = cells if any(cells) else None
    return best


def _describe(h: _Header | None) -> str:
    if h is None:
        return _("no row holds any of the mapping's columns")
    where = _("sheet %(sheet)s, row %(row)s") % {"sheet": f"“{h.sheet}”", "row": h.row} if h.sheet else _("row %(row)s") % {"row": h.row}
    return _("the closest is %(where)s with %(n)s of the mapping's columns") % {"where": where, "n": h.score}


def open_source(path, mapping, *, encoding: str | None = None) -> Source:
    """Check ``path`` against ``mapping`` and return a :class:`Source` to read rows from.

    XLSX: every sheet is searched (an instructions sheet is skipped) for the header among its
    first ``mapping.header_search_rows`` rows; the sheet and header with the most mapping
    columns (and the key column) is used. CSV: ``encoding`` (``--encoding``) or the
    mapping's, ``"auto"`` = BOM, strict UTF-8, GB18030; tab-separated text is recognised.

    Raises:
        ImportFileError: missing/empty file, over rule ``import_max_file_bytes``, not a
            CSV/CSV.GZ/XLSX, not in the declared encoding (or none detected), an XLSX zip
            bomb, no header with the key column (the message says what was searched), or
            missing required columns (all named in the message). Nothing is written.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(_("%(file)s: no such file") % {"file": path})
    size = os.path.getsize(path)
    max_bytes = int(rule("import_max_file_bytes"))
    if size > max_bytes:
        raise ImportFileError(_("%(file)s: file is %(size)s bytes, over the limit of %(max)s bytes (rule import_max_file_bytes)")
                              % {"file": path.name, "size": size, "max": max_bytes})
    if size == 0:
        raise ImportFileError(_("%(file)s: empty file") % {"file": path.name})
    with open(path, "rb") as fh:
        head = fh.read(8192)
    kind = _detect_kind(path, head)
    matcher = _Matcher(mapping)
    search = mapping.header_search_rows
    sheets: list[str] = []
    delimiter = ","
    detected = False
    if kind == "xlsx":
        _check_xlsx_zip(path)
        import openpyxl

        sha = _sha256(path)
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for broken workbooks
            raise ImportFileError(_("%(file)s: cannot read the XLSX workbook: %(error)s") % {"file": path.name, "error": exc}) from None
        best: _Header | None = None
        max_rows: dict[str, int] = {}
        try:
            for ws in wb.worksheets:
                if getattr(ws, "sheet_state", "visible") != "visible" and len(wb.worksheets) > 1:
                    continue
                sheets.append(ws.title)
                first = [[_cell_text(v) for v in r] for r in ws.iter_rows(min_row=1, max_row=search, values_only=True)]
                h = _locate(first, matcher)
                if h is not None:
                    h.sheet = ws.title
                    if best is None or (h.has_key, h.score) > (best.has_key, best.score):
                        best = h
                max_rows[ws.title] = ws.max_row or 0
        finally:
            wb.close()
        encoding = "xlsx"
    else:
        declared = encoding or mapping.encoding
        encoding, detected, lines = _csv_encoding(path, kind, declared, max_bytes)
        sha = _sha256(path)
        with _open_text(path, kind, encoding) as fh:
            sample = fh.read(65536)
        first_line = sample.split("\n", 1)[0]
        if first_line.count("\t") > first_line.count(","):
            delimiter = "\t"
        with _open_text(path, kind, encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            first = []
            try:
                for _i in range(search):
                    first.append(next(reader))
            except StopIteration:
                pass
            except csv.Error as exc:
                raise ImportFileError(_("%(file)s: not a readable CSV: %(error)s") % {"file": path.name, "error": exc}) from None
        best = _locate(first, matcher)
    if best is None or not best.has_key:
        if kind == "xlsx":
            searched = _("the first %(n)s rows of every sheet (%(sheets)s)") % {"n": search, "sheets": ", ".join(f"“{s}”" for s in sheets)}
        else:
            searched = _("the first %(n)s rows") % {"n": search}
        raise ImportFileError(_("%(file)s: no header row with the column %(key)s found in %(searched)s; %(closest)s")
                              % {"file": path.name, "key": f"“{mapping.key}”", "searched": searched, "closest": _describe(best)})
    header, header_row = best.names, best.row
    if kind == "xlsx":
        total = max(max_rows.get(best.sheet, 0) - header_row, 0)
    else:
        total = max(lines - header_row, 0)
    missing = [c for c in mapping.required_columns if c not in header]
    if missing:
        raise ImportFileError(_("%(file)s: missing required column(s): %(columns)s (header found at %(where)s)") % {
            "file": path.name, "columns": ", ".join(missing),
            "where": (_("sheet %(sheet)s, row %(row)s") % {"sheet": f"“{best.sheet}”", "row": header_row}) if best.sheet
            else (_("row %(row)s") % {"row": header_row})})
    used = set(mapping.used_columns)
    dupes = sorted({c for c in header if c and header.count(c) > 1} & used)
    if dupes:
        raise ImportFileError(_("%(file)s: column(s) appear more than once: %(columns)s") % {"file": path.name, "columns": ", ".join(dupes)})
    unrecognised = [c for c in header if c and c not in used and header_key(c) not in matcher.ignored]
    missing_optional = [c for c in mapping.used_columns if c not in header]
    return Source(path=path, kind=kind, encoding=encoding, sha256=sha, header=header, header_row=header_row,
                  total_rows=total, columns=mapping.used_columns, encoding_detected=detected, delimiter=delimiter,
                  sheet=best.sheet, header_rows=best.nrows, unrecognised=unrecognised, missing_optional=missing_optional,
                  sheets_searched=sheets)
