"""File checks and row readers for CSV, gzip-compressed CSV and XLSX.

:func:`open_source` runs every check that can refuse a file BEFORE anything
is written: size (rule ``import_max_file_bytes``), type (magic bytes), the
declared encoding (the whole file is decoded in a pre-pass), the XLSX zip
members (rules ``import_xlsx_max_uncompressed_bytes`` and
``import_xlsx_max_ratio``, checked before openpyxl opens the file) and the
required columns. It returns a :class:`Source` whose ``rows()`` yields
``(row_number, {column: folded value})``; ``row_number`` is the file's own
row number (header row = the row it sits on, counted from 1).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from liftsafe.rules import rule

from .errors import ImportFileError

_CHUNK = 1 << 20
csv.field_size_limit(1 << 24)


@dataclass
class Source:
    path: Path
    kind: str  # "csv" | "csv.gz" | "xlsx"
    encoding: str
    sha256: str
    header: list[str]
    header_row: int
    total_rows: int  # data rows (CSV: records counted in the pre-pass; XLSX: sheet rows below the header)
    columns: list[str]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (row number, {column: value with white space folded}) for the needed columns."""
        idx = [(c, self.header.index(c)) for c in self.columns if c in self.header]
        absent = {c: "" for c in self.columns if c not in self.header}  # optional columns not in this file
        n = len(self.header)
        for rownum, cells in self._raw_rows():
            if not any(cells):
                continue
            if len(cells) < n:
                cells = list(cells) + [""] * (n - len(cells))
            row = {c: " ".join(cells[i].split()) if cells[i] else "" for c, i in idx}
            if absent:
                row.update(absent)
            yield rownum, row

    def _raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.kind == "xlsx":
            yield from _xlsx_rows(self.path, self.header_row)
            return
        with _open_text(self.path, self.kind, self.encoding) as fh:
            reader = csv.reader(fh)
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
            raise ImportFileError(f"{path.name}: not an XLSX file (no zip signature)")
        return "xlsx"
    if name.endswith(".csv.gz") or name.endswith(".gz"):
        if not head.startswith(b"\x1f\x8b"):
            raise ImportFileError(f"{path.name}: not a gzip file")
        return "csv.gz"
    if name.endswith(".csv") or name.endswith(".txt"):
        if head.startswith(b"PK\x03\x04"):
            raise ImportFileError(f"{path.name}: this is a zip/XLSX file, not a CSV; rename it to .xlsx")
        if b"\x00" in head[:8192] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ImportFileError(f"{path.name}: not a CSV file (binary content)")
        return "csv"
    raise ImportFileError(f"{path.name}: unsupported file type; expected .csv, .csv.gz or .xlsx")


def _prepass_text(path: Path, kind: str, encoding: str, max_bytes: int) -> tuple[str, int]:
    """Decode the whole file with the declared encoding; return (sha256 of the file, physical line count)."""
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            sha.update(chunk)
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
                    line = lines + chunk[: exc.start].count(b"\n") + 1
                    raise ImportFileError(
                        f"{path.name}: not valid {encoding} (the encoding declared by the mapping) at byte "
                        f"{offset + exc.start}, line {line}: {exc.reason}") from None
                if "\x00" in text:
                    raise ImportFileError(f"{path.name}: not a CSV file (NUL characters)")
                lines += text.count("\n")
                offset += len(chunk)
                if offset > max_bytes:
                    raise ImportFileError(f"{path.name}: uncompressed content exceeds {max_bytes} bytes (rule import_max_file_bytes)")
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise ImportFileError(f"{path.name}: not valid {encoding}: truncated character at end of file ({exc.reason})") from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFileError(f"{path.name}: corrupt gzip stream: {exc}") from None
    return sha.hexdigest(), lines


def _check_xlsx_zip(path: Path) -> None:
    max_total = int(rule("import_xlsx_max_uncompressed_bytes"))
    max_ratio = float(rule("import_xlsx_max_ratio"))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise ImportFileError(f"{path.name}: a zip file but not an XLSX workbook")
            total = 0
            for info in infos:
                total += info.file_size
                if total > max_total:
                    raise ImportFileError(f"{path.name}: XLSX expands to over {max_total} bytes "
                                          f"(rule import_xlsx_max_uncompressed_bytes); refusing a possible zip bomb")
                if info.file_size > (1 << 20) and info.file_size > max_ratio * max(info.compress_size, 1):
                    raise ImportFileError(f"{path.name}: XLSX member {info.filename} compresses {info.file_size // max(info.compress_size, 1)}:1 "
                                          f"(over rule import_xlsx_max_ratio {max_ratio:g}); refusing a possible zip bomb")
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"{path.name}: not a valid XLSX (zip) file: {exc}") from None


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def _xlsx_rows(path: Path, header_row: int) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for rownum, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if rownum <= header_row:
                continue
            yield rownum, [_cell_text(v) for v in values]
    finally:
        wb.close()


def _find_header(rows: list[list[str]], key: str, search: int) -> tuple[list[str], int]:
    for i, cells in enumerate(rows[:search], start=1):
        cleaned = [" ".join((c or "").split()) for c in cells]
        if cleaned and cleaned[0].startswith("\ufeff"):
            cleaned[0] = cleaned[0].lstrip("\ufeff")
        if key in cleaned:
            return cleaned, i
    first = [" ".join((c or "").split()) for c in rows[0]] if rows else []
    return first, 1


def open_source(path, mapping) -> Source:
    """Check ``path`` against ``mapping`` and return a :class:`Source` to read rows from.

    Raises:
        ImportFileError: missing/empty file, over rule ``import_max_file_bytes``, not a
            CSV/CSV.GZ/XLSX, not in the declared encoding, an XLSX zip bomb, or
            missing required columns (all named in the message). Nothing is written.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    size = os.path.getsize(path)
    max_bytes = int(rule("import_max_file_bytes"))
    if size > max_bytes:
        raise ImportFileError(f"{path.name}: file is {size} bytes, over the limit of {max_bytes} bytes (rule import_max_file_bytes)")
    if size == 0:
        raise ImportFileError(f"{path.name}: empty file")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    kind = _detect_kind(path, head)
    if kind == "xlsx":
        _check_xlsx_zip(path)
        import openpyxl

        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for broken workbooks
            raise ImportFileError(f"{path.name}: cannot read the XLSX workbook: {exc}") from None
        try:
            ws = wb.worksheets[0]
            first = [[_cell_text(v) for v in r] for r in ws.iter_rows(min_row=1, max_row=mapping.header_search_rows, values_only=True)]
            max_row = ws.max_row or 0
        finally:
            wb.close()
        header, header_row = _find_header(first, mapping.key, mapping.header_search_rows)
        total = max(max_row - header_row, 0)
        encoding = "xlsx"
    else:
        encoding = mapping.encoding
        if encoding.replace("-", "").replace("_", "").lower() == "utf8":
            encoding = "utf-8-sig"  # accept (and drop) a byte-order mark
        sha, lines = _prepass_text(path, kind, encoding, max_bytes)
        with _open_text(path, kind, encoding) as fh:
            reader = csv.reader(fh)
            first = []
            try:
                for _ in range(mapping.header_search_rows):
                    first.append(next(reader))
            except StopIteration:
                pass
            except csv.Error as exc:
                raise ImportFileError(f"{path.name}: not a readable CSV: {exc}") from None
        header, header_row = _find_header(first, mapping.key, mapping.header_search_rows)
        total = max(lines - header_row, 0)
    missing = [c for c in mapping.required_columns if c not in header]
    if missing:
        raise ImportFileError(f"{path.name}: missing required column(s): {', '.join(missing)}")
    dupes = sorted({c for c in header if c and header.count(c) > 1} & set(mapping.used_columns))
    if dupes:
        raise ImportFileError(f"{path.name}: column(s) appear more than once: {', '.join(dupes)}")
    return Source(path=path, kind=kind, encoding=encoding, sha256=sha, header=header, header_row=header_row,
                  total_rows=total, columns=mapping.used_columns)
