"""The generic import engine: rows → validated Elevator values → batched upsert with audit history.

Per row: every mapped value is converted (null tokens, value maps, unit
conversions, dates) and validated with the Elevator model field's own
``clean`` (the same validators as ``full_clean``; results memoised per
distinct value, so 76k rows validate in well under a second). A row with a
problem in a field whose mapping says ``on_error = "reject"`` is rejected; a
problem in an ``on_error = "drop"`` field blanks that value and keeps the
row. Both are written to the report CSV (see :data:`REPORT_KEYS`: row
number, source id, column, field label, value, action, translated reason,
and the stable machine-readable field name, action and reason code), with
notes on the file itself (columns the mapping does not use, optional
columns missing) and corrected values (a fixed-width code whose leading zeros
a spreadsheet number lost). The header row and the messages are in the
active language; read a report back with :func:`report_rows`.

Identity codes (mapping ``identity``) are read exactly: an XLSX number that
cannot hold all digits (a 20-digit 注册代码 typed into Excel) or a value in
scientific notation rejects the row, naming the field; digits are never
invented. Building and organisation keys longer than their column are stored
as a deterministic prefix + hash (:func:`fit_key`), the same for storing and
looking up, so a re-import finds them.

Per batch (rule ``import_batch_rows``): organisations, buildings and areas
are resolved (get-or-create), the batch's existing elevators are read by
(source, source_id), and only new or changed rows are written, each with its
audit-history row and without per-row saves: changed rows (and organisations,
contracts) through django-simple-history's ``bulk_update_with_history`` /
``bulk_create_with_history``; new elevators and lifecycle events through
:class:`.fastinsert.FastInserter`, which writes the same rows and "+" history
records as ``bulk_create_with_history`` but without Django's per-value SQL
compilation (profiled at ~75 % of the import time; see bench/RESULTS.md).
Unchanged rows are not touched: re-running an import creates, updates and
records nothing.

The whole import runs in one transaction: a crash leaves nothing
half-written. A dry run runs the same code inside a transaction that is
rolled back, so its counts are exact and nothing is committed.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import logging
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from liftsafe.core.history import REASON_MAX
from liftsafe.core.messages import encode, fit
from liftsafe.core.exports import SafeCsvWriter
from liftsafe.core.models import Area
from liftsafe.rules import rule

from .. import holds
from .. import messages as msg
from ..codes import CROWDED_PLACE_TYPES
from .liveness import Heartbeat, process_identity
from ..models import Building, Elevator, ImportRun, LifecycleEvent, MaintenanceContract, Organisation, normalize_address
from .errors import ImportFileError
from .fastinsert import FastInserter
from .mapping import Mapping, ValueProblem, load_mapping
from .readers import NumCell, encoding_label, open_source

log = logging.getLogger(__name__)

# Report CSV columns, in order (stable keys; the header row shows their translated labels).
# "field_label"/"action_label"/"message" are for people, "field"/"action"/"reason" for machines.
REPORT_KEYS = ["row", "source_id", "column", "field_label", "value", "action_label", "message", "reason", "field", "action"]
ACTIONS = ("rejected", "dropped", "corrected", "note")
_SCIENTIFIC_RE = re.compile(r"^[+-]?\d(?:\.\d+)?[eE]\+\d{2,}$")  # as Excel shows a long number: 3.11032E+19


def _report_labels() -> list[str]:
    return [_("row"), _("device id"), _("column"), _("field"), _("value"), _("action"), _("reason"),
            _("reason code"), _("field code"), _("action code")]


def _action_label(action: str) -> str:
    return {"rejected": _("row rejected"), "dropped": _("value dropped, row kept"), "corrected": _("value corrected"),
            "note": _("for information")}[action]


def report_rows(report_csv: str) -> list[dict[str, str]]:
    """Parse an ImportRun.report_csv (any language) into dicts keyed by :data:`REPORT_KEYS`."""
    rows = list(csv.reader(io.StringIO(report_csv)))
    return [dict(zip(REPORT_KEYS, r)) for r in rows[1:]]


def fit_key(key: str, max_length: int) -> str:
    """``key`` if it fits ``max_length``, else a deterministic prefix + ``~`` + 32 hex of its SHA-256.

    The same function is used to store and to look up (building ``source_key``, organisation
    ``source_key``), so a long key is found again on re-import and two long keys sharing a
    prefix stay distinct.
    """
    if len(key) <= max_length:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return key[: max_length - 33] + "~" + digest
# unique identity codes: field -> the field that scopes the uniqueness (None = global)
UNIQUE_CODES = {"registration_code": None, "equipment_code": None, "rescue_code": "jurisdiction"}
# GB/T 2260 province-level codes (first two digits)
GBT2260_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
                     "71", "81", "82"}
MUNICIPALITIES = {"11", "12", "31", "50"}  # 直辖市


@dataclass
class _Row:
    rownum: int
    key: str
    raw: dict[str, str]
    values: dict[str, Any]
    refs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # ref name -> (name, key)
    building: tuple[str, str, str] | None = None  # (stored key, name, address)
    area_code: str | None = None
    pk: int | None = None
    contract_units: dict = field(default_factory=dict)


class _Importer:
    def __init__(self, m: Mapping, run: ImportRun, user, dry_run: bool):
        self.m = m
        self.run = run
        self.user = user
        self.dry_run = dry_run
        self.batch_rows = int(rule("import_batch_rows"))
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.reason = fit(encode(msg.IMPORT, mapping=m.name), REASON_MAX)
        self.model_fields = {f.name: f for f in Elevator._meta.concrete_fields}
        self.clean_memo: dict[tuple[str, Any], tuple[bool, Any]] = {}
        self.counts = Counter()
        self.rejected = Counter()
        self.dropped = Counter()
        self.notes = Counter()
        self.report = io.StringIO()
        # a report people open in a spreadsheet: raw input values go through the shared export helper
        self.writer = SafeCsvWriter(self.report, lineterminator="\n")
        self.writer.writerow(_report_labels())
        self.labels: dict[str, str] = {}
        identity: dict[str, Any] = {}
        for spec in m.fields.values():  # one check per column (设备代码 may feed source_id and equipment_code:
            if spec.identity and spec.column:  # named by the code's own label, not "source device number")
                if spec.column not in identity or identity[spec.column].name == "source_id":
                    identity[spec.column] = spec
        self.identity = list(identity.items())
        self.identity_refs = [ref for ref in m.refs.values() if ref.key_column]
        self.building_key_len = Building._meta.get_field("source_key").max_length
        self.org_key_len = Organisation._meta.get_field("source_key").max_length
        self.org_name_len = Organisation._meta.get_field("name").max_length
        self.seen: set[str] = set()
        self.last_row_of: dict[str, int] | None = None
        self.code_seen: dict[tuple, str] = {}
        self.area_cache: dict[str, Area | None] = {}
        self.org_cache: dict[tuple, int] = {}
        self.building_cache: dict[str, int] = {}
        self.null_memo: dict[str, bool] = {}
        self.events_by_field = defaultdict(list)
        self.unique_fields = [f for f in UNIQUE_CODES if f in m.fields]
        self._inserters: dict = {}
        self.fast = self._fast_checks()
        self.xlsx = False
        self.inexact: set[str] | None = None  # this row's XLSX columns holding a number that lost digits

    def inserter(self, model) -> FastInserter:
        ins = self._inserters.get(model)
        if ins is None:
            ins = self._inserters[model] = FastInserter(model, user_id=getattr(self.user, "pk", None), reason=self.reason,
                                                        batch_size=self.batch_rows)
        return ins

    # --- reporting ---------------------------------------------------------------------

    def label(self, fname: str) -> str:
        """The field's label in the active language (``registration_code`` → 注册代码)."""
        hit = self.labels.get(fname)
        if hit is None:
            f = self.model_fields.get(fname)
            if f is not None:
                hit = str(f.verbose_name)
            else:
                hit = {"maintenance_unit": _("maintenance unit"), "": ""}.get(fname, fname)
            self.labels[fname] = hit
        return hit

    def issue(self, rownum: int, key: str, column: str, fname: str, value: str, action: str, code: str, message: str):
        """One report line. ``action``: rejected (the row) | dropped (the value) | corrected | note."""
        self.writer.writerow([rownum, key, column, self.label(fname), value, _action_label(action), message, code, fname, action])
        counter = {"rejected": self.rejected, "dropped": self.dropped}.get(action, self.notes)
        counter[f"{column}: {code}"] += 1

    def file_notes(self, src) -> None:
        """Report the file's columns the mapping does not use, and the mapping's optional columns the file lacks."""
        fields_of: dict[str, str] = {}
        for fname, spec in self.m.fields.items():
            for c in spec.columns:
                fields_of.setdefault(c, fname)
        for ref in self.m.refs.values():
            for c in (ref.column, ref.key_column):
                if c:
                    fields_of.setdefault(c, ref.field or ref.name)
        self.xlsx = src.kind == "xlsx"
        for c in src.unrecognised:
            self.issue(src.header_row, "", c, "", "", "note", "unrecognised_column",
                       _("this column is not used by the mapping %(mapping)s; its values are not imported") % {"mapping": self.m.name})
        for c in src.missing_optional:
            self.issue(src.header_row, "", c, fields_of.get(c, ""), "", "note", "missing_optional_column",
                       _("optional column missing from the file; the field stays empty"))

    def check_identity(self, rownum: int, raw: dict) -> bool:
        """Identity codes exactly as written, or reject the row (False). XLSX number cells become text.

        A spreadsheet number that cannot hold all its digits, or a value in scientific notation
        (``3.11032E+19``, Excel's CSV display of a long number), rejects the row naming the field.
        A fixed-width code (mapping ``width``) typed as a number gets its leading zeros back
        (reported as corrected); a text value of another length is rejected.
        """
        key = raw[self.m.key]
        ok = True
        for col, spec in self.identity:
            v = raw[col]
            if not v:
                continue
            label = self.label(spec.name)
            numeric = type(v) is NumCell
            if numeric and not v.exact:
                self.issue(rownum, key, col, spec.name, v, "rejected", "inexact_number",
                           _("%(field)s is stored in the spreadsheet as the number %(value)s, which has lost its last digits; "
                             "format the column as text, type the code again and re-import") % {"field": label, "value": v})
                ok = False
                continue
            if not numeric and _SCIENTIFIC_RE.match(v):
                self.issue(rownum, key, col, spec.name, v, "rejected", "scientific_notation",
                           _("%(field)s %(value)s is a number in scientific notation, its digits are lost; "
                             "format the column as text in the spreadsheet and export again") % {"field": label, "value": v})
                ok = False
                continue
            if spec.width and v.isdigit() and len(v) != spec.width:
                if numeric and len(v) < spec.width:
                    fixed = v.zfill(spec.width)
                    self.issue(rownum, key, col, spec.name, v, "corrected", "zero_padded",
                               _("%(field)s was a number in the spreadsheet and lost its leading zeros; restored to %(fixed)s "
                                 "(the mapping declares %(width)s digits)") % {"field": label, "fixed": fixed, "width": spec.width})
                    raw[col] = fixed
                    continue
                self.issue(rownum, key, col, spec.name, v, "rejected", "wrong_width",
                           _("%(field)s must have %(width)s digits (declared by the mapping), got %(value)s")
                           % {"field": label, "width": spec.width, "value": v})
                ok = False
                continue
            if numeric:
                raw[col] = str(v)
                if spec.name == "rescue_code":
                    self.issue(rownum, key, col, spec.name, v, "note", "numeric_cell",
                               _("%(field)s was a number in the spreadsheet: a leading zero, if it had one, is lost "
                                 "(declare the code's width in the mapping to restore it)") % {"field": label})
        for ref in self.identity_refs:
            v = raw[ref.key_column]
            if type(v) is NumCell and not v.exact:
                self.issue(rownum, key, ref.key_column, ref.field or ref.name, v, "dropped", "inexact_number",
                           _("%(column)s is stored in the spreadsheet as the number %(value)s, which has lost its last digits; "
                             "the organisation is found by its name only") % {"column": ref.key_column, "value": v})
                raw[ref.key_column] = ""
        if self.xlsx:
            inexact = None
            for c, v in raw.items():
                if type(v) is NumCell:
                    if not v.exact:
                        inexact = (inexact or set()) | {c}
                    raw[c] = str(v)
            self.inexact = inexact
        return ok

    # --- setup -------------------------------------------------------------------------

    def ensure_declared_areas(self) -> None:
        """Create the mapping's [[areas]] idempotently (parents first); keep existing ones untouched."""
        for spec in self.m.areas:
            area = Area.objects.filter(code=spec["code"]).first()
            if area is None:
                parent = Area.objects.get(code=spec["parent"]) if spec.get("parent") else None
                area = Area(code=spec["code"], name=spec["name"], name_en=spec.get("name_en", ""),
                            level=spec["level"], parent=parent, urban=bool(spec.get("urban", True)))
                area._change_reason = self.reason
                area.save()
                self.counts["areas_created"] += 1
            self.area_cache[area.code] = area

    # --- per row -----------------------------------------------------------------------

    def _is_null(self, v: str) -> bool:
        hit = self.null_memo.get(v)
        if hit is None:
            hit = v in self.m.null_tokens or any(p.search(v) for p in self.m.null_patterns)
            if len(self.null_memo) < 500_000:
                self.null_memo[v] = hit
        return hit

    def _fast_checks(self) -> dict:
        """Inline equivalents of Field.clean for the common simple fields (no memo needed for unique values).

        CharField without choices whose only validator is MaxLength; FloatField whose
        validators are Min/Max; anything else goes through the real ``Field.clean``.
        """
        from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator

        checks = {}
        for name, f in self.model_fields.items():
            if type(f) is models.CharField and not f.choices and all(isinstance(v, MaxLengthValidator) for v in f.validators):
                checks[name] = ("char", f.max_length, f.blank)
            elif type(f) is models.FloatField and all(isinstance(v, (MinValueValidator, MaxValueValidator)) for v in f.validators):
                lo = next((v.limit_value for v in f.validators if isinstance(v, MinValueValidator)), None)
                hi = next((v.limit_value for v in f.validators if isinstance(v, MaxValueValidator)), None)
                checks[name] = ("float", lo, hi, f.null)
        return checks

    def _clean(self, fname: str, value):
        """Validate ``value`` with the model field (memoised). Returns (ok, cleaned value | ValidationError)."""
        fast = self.fast.get(fname)
        if fast is not None:
            if fast[0] == "char" and type(value) is str:
                if len(value) <= fast[1] and (value or fast[2]):
                    return (True, value)
            elif fast[0] == "float" and value is not None:
                v = float(value)
                if (fast[1] is None or v >= fast[1]) and (fast[2] is None or v <= fast[2]):
                    return (True, v)
        mk = (fname, value)
        hit = self.clean_memo.get(mk)
        if hit is not None:
            return hit
        f = self.model_fields[fname]
        v = value
        if isinstance(f, models.DecimalField) and isinstance(v, Decimal):
            v = v.quantize(Decimal(1).scaleb(-f.decimal_places))
        elif isinstance(f, models.FloatField) and isinstance(v, Decimal):
            v = float(v)
        elif isinstance(f, models.CharField) and v is not None and not isinstance(v, str):
            v = str(v)
        try:
            res = (True, f.clean(v, None))
        except ValidationError as exc:
            res = (False, exc)
        if len(self.clean_memo) < 300_000:
            self.clean_memo[mk] = res
        return res

    def _empty(self, fname: str):
        f = self.model_fields[fname]
        if f.null:
            return None
        if f.has_default():
            return f.get_default()
        return "" if isinstance(f, (models.CharField, models.TextField)) else None

    def parse(self, rownum: int, raw: dict[str, str]) -> _Row | None:
        m = self.m
        for c, v in raw.items():
            if v and self._is_null(v):
                raw[c] = ""
        if not self.check_identity(rownum, raw):
            self._reject_row()
            return None
        key = raw[m.key]
        reject = False
        values: dict[str, Any] = {}
        inexact = self.inexact
        for fname, spec in m.fields.items():
            try:
                if inexact and spec.column in inexact and spec.transform in ("text", "upper"):
                    # a text field (出厂编号, 型号 …) typed as a long number: never store "1.2345678901234568e+16"
                    raise ValueProblem("inexact_number", _("%(field)s is stored in the spreadsheet as the number %(value)s, "
                                                           "which has lost its last digits; format the column as text, type "
                                                           "the code again and re-import") % {"field": self.label(fname), "value": raw[spec.column]})
                v = spec.convert(raw)
            except ValueProblem as p:
                action = "rejected" if spec.on_error == "reject" else "dropped"
                self.issue(rownum, key, spec.column_label, fname, _cell(raw, spec), action, p.code, p.message)
                reject = reject or action == "rejected"
                values[fname] = self._empty(fname)
                continue
            if v is None:
                v = self._empty(fname)
            ok, out = self._clean(fname, v)
            if not ok:
                action = "rejected" if spec.on_error == "reject" else "dropped"
                code = out.error_list[0].code or "invalid"
                self.issue(rownum, key, spec.column_label, fname, _cell(raw, spec), action, code, "; ".join(out.messages))
                reject = reject or action == "rejected"
                out = self._empty(fname)
                if action == "dropped":
                    ok2, out2 = self._clean(fname, out)
                    if not ok2:  # a required field cannot be dropped
                        reject = True
            values[fname] = out
        if reject:
            self._reject_row()
            return None
        row = _Row(rownum=rownum, key=values["source_id"], raw=raw, values=values)
        # duplicates inside the file
        if key in self.seen:
            self.issue(rownum, key, m.key, "source_id", key, "rejected", "duplicate_key", _("the same device id appears earlier in the file"))
            self._reject_row()
            return None
        # area
        if not self._parse_area(row):
            self._reject_row()
            return None
        # organisations
        for rname, ref in m.refs.items():
            rawname = raw[ref.column]
            rkey = raw[ref.key_column] if ref.key_column else ""
            if ref.raw_field:
                values[ref.raw_field] = rawname[: self.model_fields[ref.raw_field].max_length]
            name = ref.normalise(rawname) if rawname else None
            if rawname and name is None:
                self.issue(rownum, key, ref.column, ref.field or rname, rawname, "dropped", "not_an_organisation",
                           _("%(value)s does not name an organisation of this kind (%(kind)s); left empty")
                           % {"value": f"“{rawname}”", "kind": Organisation.Kind(ref.kind).label})
            elif name is not None and len(name) > self.org_name_len:
                self.issue(rownum, key, ref.column, ref.field or rname, rawname, "dropped", "too_long",
                           _("an organisation name has at most %(n)s characters; left empty") % {"n": self.org_name_len})
                name = None
            if rkey and ref.key_field:
                max_len = Organisation._meta.get_field(ref.key_field).max_length
                if len(rkey) > max_len:
                    self.issue(rownum, key, ref.key_column, ref.field or rname, rkey, "dropped", "too_long",
                               _("%(column)s has at most %(n)s characters; the organisation is found by its name only")
                               % {"column": ref.key_column, "n": max_len})
                    rkey = ""
            if name is None and not rkey:
                row.refs[rname] = (None, None)
                continue
            row.refs[rname] = (name, rkey or None)
        # building
        b = m.building
        if b:
            bkey = raw[b["key"]]
            if bkey and bkey not in b.get("null", []):
                stored = fit_key(bkey, self.building_key_len)
                if stored is not bkey:
                    self.counts["building_keys_hashed"] += 1
                row.building = (stored, _fmt(b.get("name"), raw), _fmt(b.get("address"), raw))
        if m.extra_columns:
            values["extra"] = {c: raw[c] for c in m.extra_columns if raw[c]}
        if m.crowded_from_place_type and "crowded_place" not in m.fields:
            values["crowded_place"] = values.get("place_type") in CROWDED_PLACE_TYPES
        elif m.crowded_from_place_type and values.get("crowded_place") in (None, False) and raw.get(m.fields["crowded_place"].column or "", "") == "":
            values["crowded_place"] = values.get("place_type") in CROWDED_PLACE_TYPES
        if "address" in values:
            values["search_address"] = normalize_address(values["address"])
        # identity codes unique inside the file
        for uf in self.unique_fields:
            val = values.get(uf)
            if val:
                scope = values.get(UNIQUE_CODES[uf]) if UNIQUE_CODES[uf] else None
                other = self.code_seen.setdefault((uf, scope, val), key)
                if other != key:
                    self.issue(rownum, key, m.fields[uf].column_label, uf, val, "rejected", "duplicate_code",
                               _("%(field)s %(value)s is also given to device %(other)s in this file")
                               % {"field": self.label(uf), "value": val, "other": other})
                    self._reject_row()
                    return None
        self.seen.add(key)
        return row

    def _reject_row(self):
        self.counts["rejected"] += 1

    def _parse_area(self, row: _Row) -> bool:
        a = self.m.area
        raw = row.raw
        col = a["column"]
        val = raw[col]
        if not val:
            if a.get("default"):
                val = a["default"]
            else:
                self.issue(row.rownum, row.key, col, "area", "", "rejected", "required", _("the area is required"))
                return False
        if a.get("gbt2260"):
            if not re.fullmatch(r"\d{6}", val) or val[:2] not in GBT2260_PROVINCES:
                self.issue(row.rownum, row.key, col, "area", val, "rejected", "not_gbt2260",
                           _("%(value)s is not a GB/T 2260 administrative division code (6 digits of a known province)") % {"value": f"“{val}”"})
                return False
            code = val
        else:
            code = a.get("map", {}).get(val)
            if code is None:
                self.issue(row.rownum, row.key, col, "area", val, "rejected", "unknown_value", _("%(value)s is not a known area") % {"value": f"“{val}”"})
                return False
        area = self._area(code, raw)
        if area is None:
            self.issue(row.rownum, row.key, col, "area", val, "rejected", "unknown_area", _("area %(code)s does not exist") % {"code": code})
            return False
        row.area_code = code
        v = row.values
        v["area_id"] = area.pk
        if "jurisdiction" not in self.m.fields or not v.get("jurisdiction"):
            v["jurisdiction"] = area.jurisdiction_code
        if "urban" not in self.m.fields:
            v["urban"] = area.urban
        return True

    def _area(self, code: str, raw: dict) -> Area | None:
        if code in self.area_cache:
            return self.area_cache[code]
        area = Area.objects.filter(code=code).first()
        if area is None and self.m.area.get("gbt2260"):
            area = self._create_gbt2260(code, raw)
        self.area_cache[code] = area
        return area

    def _create_gbt2260(self, code: str, raw: dict) -> Area:
        """Create the province → city → district chain of a GB/T 2260 code (names from the row's columns).

        Districts 01-20 of a prefecture-level city are 市辖区 (urban, 30-min arrival);
        counties and county-level cities (21-99) are not (docs/domain §3.4, TSG T5002 Art. 5).
        """
        a = self.m.area
        chain = [(code[:2] + "0000", "province", a.get("province_name"))]
        if code[2:4] != "00":
            chain.append((code[:4] + "00", "city", a.get("city_name")))
        if code[4:6] != "00":
            chain.append((code, "district", a.get("district_name")))
        parent = None
        for c, level, name_col in chain:
            area = Area.objects.filter(code=c).first()
            if area is None:
                name = (raw.get(name_col) if name_col else "") or c
                if level == "district":
                    urban = code[:2] in MUNICIPALITIES or 1 <= int(code[4:6]) <= 20
                else:
                    urban = True
                area = Area(code=c, name=name, level=level, parent=parent, urban=urban)
                area._change_reason = self.reason
                area.save()
                self.counts["areas_created"] += 1
            self.area_cache[c] = area
            parent = area
        return parent

    # --- per batch ---------------------------------------------------------------------

    def process(self, rows: list[_Row]) -> None:
        if not rows:
            return
        rows = self._check_db_codes(rows)
        self._resolve_refs(rows)
        self._resolve_buildings(rows)
        if not rows:
            return
        fields = list(rows[0].values.keys())
        attnames = [self.model_fields[f].attname if f in self.model_fields else f for f in fields]
        existing = {r[1]: r for r in Elevator.objects.filter(source=self.m.source, source_id__in=[r.key for r in rows])
                    .values_list("pk", "source_id", *attnames)}
        creates: list[_Row] = []
        updates: list[tuple[_Row, int, list[str]]] = []
        for r in rows:
            vals = r.values
            ex = existing.get(r.key)
            if ex is None:
                creates.append(r)
                continue
            changed = [a for i, a in enumerate(attnames) if ex[i + 2] != vals[fields[i]]]
            if changed:
                updates.append((r, ex[0], changed))
            else:
                self.counts["unchanged"] += 1
        if updates and "status" in fields:
            updates = self._respect_status_holds(updates, fields, attnames, existing)
        user = self.user
        if creates:
            src = self.m.source
            ids = self.inserter(Elevator).insert(
                [{"source": src, **{a: r.values[f] for f, a in zip(fields, attnames)}} for r in creates])
            for r, pk in zip(creates, ids):
                r.pk = pk
            self.counts["created"] += len(ids)
        if updates:
            objs = Elevator.objects.in_bulk([pk for _r, pk, _c in updates])
            changed_fields: set[str] = {"updated_at"}
            out = []
            for r, pk, changed in updates:
                obj = objs[pk]
                for a in changed:
                    setattr(obj, a, r.values[fields[attnames.index(a)]])
                obj.updated_at = self.now
                changed_fields.update(a[:-3] if a.endswith("_id") and a[:-3] in self.model_fields else a for a in changed)
                r.pk = pk
                out.append(obj)
            bulk_update_with_history(out, Elevator, sorted(changed_fields), batch_size=self.batch_rows,
                                     default_user=user, default_change_reason=self.reason)
            self.counts["updated"] += len(out)
        touched = creates + [r for r, _pk, _c in updates]
        if self.m.events and touched:
            self._events(touched, new={id(r) for r in creates})
        if any(ref.contract for ref in self.m.refs.values()):
            self._contracts(rows, existing)

    def _respect_status_holds(self, updates: list, fields: list[str], attnames: list[str], existing: dict) -> list:
        """Keep the stored status (and status date) of rows whose status change a status hold refuses
        (:mod:`liftsafe.registry.holds`: e.g. an active stop-use order); one look-up per batch.

        The refused value is reported ``dropped`` with reason ``status_hold``; the row's other changes are written.
        """
        si = fields.index("status")
        moving = {pk: r.values["status"] for r, pk, changed in updates if attnames[si] in changed}
        refused = holds.refused_status_changes(moving)
        if not refused:
            return updates
        keep_back = {attnames[fields.index(f)] for f in ("status", "status_date") if f in fields}
        out = []
        for r, pk, changed in updates:
            reason = refused.get(pk)
            if reason is None:
                out.append((r, pk, changed))
                continue
            spec = self.m.fields["status"]
            self.issue(r.rownum, r.key, spec.column_label, "status", _cell(r.raw, spec), "dropped", "status_hold", reason)
            old = existing[r.key]
            for i, a in enumerate(attnames):
                if a in keep_back:
                    r.values[fields[i]] = old[i + 2]
            changed = [a for a in changed if a not in keep_back]
            if changed:
                out.append((r, pk, changed))
            else:
                self.counts["unchanged"] += 1
        return out

    def _check_db_codes(self, rows: list[_Row]) -> list[_Row]:
        """Reject rows whose identity code already belongs to another elevator in the database."""
        for uf in self.unique_fields:
            vals = {r.values[uf] for r in rows if r.values.get(uf)}
            if not vals:
                continue
            scope_f = UNIQUE_CODES[uf]
            owners = {}
            for rec in Elevator.objects.filter(**{f"{uf}__in": vals}).values_list(uf, scope_f or uf, "source", "source_id"):
                owners[(rec[0], rec[1] if scope_f else None)] = (rec[2], rec[3])
            kept = []
            for r in rows:
                val = r.values.get(uf)
                owner = owners.get((val, r.values.get(scope_f) if scope_f else None)) if val else None
                if owner and owner != (self.m.source, r.key):
                    self.issue(r.rownum, r.key, self.m.fields[uf].column_label, uf, val, "rejected", "duplicate_code",
                               _("%(field)s %(value)s already belongs to elevator %(other)s")
                               % {"field": self.label(uf), "value": val, "other": f"{owner[0]}:{owner[1]}"})
                    self._reject_row()
                else:
                    kept.append(r)
            rows[:] = kept
        return rows

    def _resolve_refs(self, rows: list[_Row]) -> None:
        for rname, ref in self.m.refs.items():
            kind = ref.kind
            names = {r.refs[rname][0] for r in rows if r.refs.get(rname, (None, None))[0]}
            keys = {r.refs[rname][1] for r in rows if r.refs.get(rname, (None, None))[1]}
            need_names = {n for n in names if (kind, "name", n) not in self.org_cache}
            need_keys = {k for k in keys if (kind, "key", k) not in self.org_cache}
            if need_names:
                for pk, name in Organisation.objects.filter(kind=kind, name__in=need_names).order_by("pk").values_list("pk", "name"):
                    self.org_cache.setdefault((kind, "name", name), pk)
            if need_keys and ref.key_field:
                for pk, k in Organisation.objects.filter(kind=kind, **{f"{ref.key_field}__in": need_keys}).order_by("pk").values_list("pk", ref.key_field):
                    self.org_cache.setdefault((kind, "key", k), pk)
            new: dict[tuple, Organisation] = {}
            for r in rows:
                name, key = r.refs.get(rname, (None, None))
                if not name and not key:
                    continue
                pk = self.org_cache.get((kind, "key", key)) if key else None
                if pk is None and name:
                    pk = self.org_cache.get((kind, "name", name))
                if pk is None:
                    ident = ("key", key) if key else ("name", name)
                    if ident not in new:
                        org = Organisation(kind=kind, name=(name or key)[: self.org_name_len], source=self.m.source,
                                           source_key=fit_key(key or name, self.org_key_len), area_id=r.values.get("area_id"))
                        if key and ref.key_field:
                            setattr(org, ref.key_field, key)
                        new[ident] = org
            if new:
                objs = bulk_create_with_history(list(new.values()), Organisation, batch_size=self.batch_rows,
                                                default_user=self.user, default_change_reason=self.reason)
                for (t, v), obj in zip(new.keys(), objs):
                    self.org_cache[(kind, t, v)] = obj.pk
                    self.org_cache.setdefault((kind, "name", obj.name), obj.pk)
                self.counts[f"organisations_created_{kind}"] += len(objs)
            for r in rows:
                name, key = r.refs.get(rname, (None, None))
                pk = None
                if key:
                    pk = self.org_cache.get((kind, "key", key))
                if pk is None and name:
                    pk = self.org_cache.get((kind, "name", name))
                if ref.field:
                    r.values[self.model_fields[ref.field].attname] = pk
                else:
                    r.contract_units[rname] = pk

    def _resolve_buildings(self, rows: list[_Row]) -> None:
        if not self.m.building:
            return
        need = {r.building[0] for r in rows if r.building and r.building[0] not in self.building_cache}
        if need:
            for pk, k in Building.objects.filter(source=self.m.source, source_key__in=need).values_list("pk", "source_key"):
                self.building_cache[k] = pk
        new = {}
        for r in rows:
            if r.building and r.building[0] not in self.building_cache and r.building[0] not in new:
                k, name, addr = r.building  # k is already the stored key (fit_key)
                new[k] = Building(source=self.m.source, source_key=k, name=name[:200], address=addr[:255], area_id=r.values["area_id"])
        if new:
            for obj in Building.objects.bulk_create(list(new.values()), batch_size=self.batch_rows):
                self.building_cache[obj.source_key] = obj.pk
            self.counts["buildings_created"] += len(new)
        for r in rows:
            r.values["building_id"] = self.building_cache.get(r.building[0]) if r.building else None

    def _events(self, rows: list[_Row], new: set[int]) -> None:
        existing: set[tuple] = set()
        old = [r.pk for r in rows if id(r) not in new]
        if old:
            existing = set(LifecycleEvent.objects.filter(elevator_id__in=old, source=self.m.source)
                           .values_list("elevator_id", "kind", "occurred_on"))
        out = []
        for r in rows:
            for ev in self.m.events:
                d = r.values.get(ev["date_field"])
                if not d:
                    continue
                when = ev.get("when", {})
                if any(r.values.get(k) != v for k, v in when.items()):
                    continue
                ident = (r.pk, ev["kind"], d)
                if ident in existing:
                    continue
                existing.add(ident)
                out.append({"elevator_id": r.pk, "kind": ev["kind"], "occurred_on": d,
                            "note": "", "note_kind": msg.IMPORTED_FIELD,
                            "note_params": {"source": self.m.source, "field": ev["date_field"]}, "source": self.m.source})
        if out:
            self.inserter(LifecycleEvent).insert(out)
            self.counts["events_created"] += len(out)

    def _contracts(self, rows: list[_Row], existing: dict) -> None:
        """Maintenance contracts from the import date (contract_create semantics, in bulk).

        If the elevator's current contract is already with this unit nothing changes;
        an open-ended contract with another unit that started before today is closed
        yesterday and a new open contract starts today; any other overlap (a contract
        starting today or later, or a fixed-term one still running) is reported and
        the contract is left as it is.
        """
        today = self.today
        for rname, ref in self.m.refs.items():
            if not ref.contract:
                continue
            wanted = {}
            for r in rows:
                pk = r.pk or (existing.get(r.key) or (None,))[0]
                unit = r.contract_units.get(rname)
                if pk and unit:
                    wanted[pk] = (unit, r)
            if not wanted:
                continue
            current = defaultdict(list)
            for c in MaintenanceContract.objects.filter(elevator_id__in=list(wanted)).filter(
                    models.Q(end_date__isnull=True) | models.Q(end_date__gte=today)):
                current[c.elevator_id].append(c)
            close, create = [], []
            for pk, (unit, r) in wanted.items():
                cs = current.get(pk, [])
                if any(c.maintenance_unit_id == unit and c.start_date <= today for c in cs):
                    continue
                blocking = [c for c in cs if not (c.end_date is None and c.start_date < today)]
                if blocking:
                    c = blocking[0]
                    self.issue(r.rownum, r.key, ref.column, "maintenance_unit", r.raw[ref.column], "dropped", "contract_overlap",
                               _("not contracted: overlaps the existing contract from %(date)s with another unit") % {"date": c.start_date})
                    continue
                for c in cs:
                    c.end_date = today - dt.timedelta(days=1)
                    close.append(c)
                create.append(MaintenanceContract(elevator_id=pk, maintenance_unit_id=unit, start_date=today))
            if close:
                bulk_update_with_history(close, MaintenanceContract, ["end_date"], batch_size=self.batch_rows,
                                         default_user=self.user, default_change_reason=encode(msg.CONTRACT_SUPERSEDED_IMPORT))
                self.counts["contracts_closed"] += len(close)
            if create:
                bulk_create_with_history(create, MaintenanceContract, batch_size=self.batch_rows, default_user=self.user,
                                         default_change_reason=self.reason)
                self.counts["contracts_created"] += len(create)


def _cell(raw: dict, spec) -> str:
    return " ".join(raw.get(c, "") for c in spec.columns).strip()


def _fmt(template: str | None, raw: dict) -> str:
    if not template:
        return ""
    return " ".join(template.format_map(raw).split())


def run_import(path, mapping: str, *, user=None, dry_run: bool = False, progress: bool = False,
               encoding: str | None = None) -> ImportRun:
    """Import a registry file with the named mapping; returns the ImportRun (unsaved for a dry run).

    Args:
        path: a .csv, .csv.gz or .xlsx file.
        mapping: a built-in mapping name (``liftsafe/registry/mappings/<name>.toml``) or the
            path of a mapping TOML file.
        encoding: text encoding of a CSV (overrides the mapping's; default: the mapping's,
            ``"auto"`` = BOM, strict UTF-8, then GB18030).
        user: recorded as the history user of every change (None = system).
        dry_run: validate and count exactly, commit nothing.
        progress: show a tqdm progress bar on stderr.

    Returns:
        ImportRun with rows_total / created / updated / unchanged / rejected, the
        rejected-and-dropped-values report in ``report_csv`` (read it with
        :func:`report_rows`) and a ``summary``: reason histograms keyed
        ``"<column>: <reason code>"`` (``rejected_reasons``, ``dropped_reasons``,
        ``notes``), organisations/areas/buildings/events/contracts created, and how
        the file was read (``encoding``, ``encoding_detected``, ``sheet``,
        ``header_row``, ``header_rows``, ``unrecognised_columns``,
        ``missing_optional_columns``, ``building_keys_hashed``).

    Raises:
        ImportFileError: the file cannot be imported at all (before any write).
        MappingError: the mapping is unknown or invalid.
    """
    from tqdm import tqdm

    t0 = time.monotonic()
    m = load_mapping(mapping)
    src = open_source(path, m, encoding=encoding)
    host, pid, pstart = process_identity()  # a killed import is found and marked "interrupted" (registry.tasks)
    run = ImportRun(mapping=m.name[:64], file_name=Path(path).name[:255], file_sha256=src.sha256, dry_run=dry_run,
                    user=user if (user is not None and getattr(user, "pk", None)) else None,
                    host=host, pid=pid, process_start=pstart, heartbeat_at=timezone.now())
    if not dry_run:
        run.save()
    beat = Heartbeat(run.pk, float(rule("import_heartbeat_s"))) if run.pk else contextlib.nullcontext()
    imp = _Importer(m, run, user if getattr(user, "pk", None) else None, dry_run)
    if run.pk:
        imp.reason = fit(encode(msg.IMPORT_RUN, mapping=m.name, run=run.pk), REASON_MAX)
    imp.file_notes(src)
    total = 0
    merged = 0
    try:
        last_of = None
        if m.duplicates == "last":
            last_of = {}
            for rownum, raw in src.rows():
                last_of[raw[m.key]] = rownum
        bar = tqdm(total=src.total_rows, unit="row", disable=not progress, desc=f"import {m.name}")
        with beat, transaction.atomic():
            imp.ensure_declared_areas()
            batch: list[_Row] = []
            for rownum, raw in src.rows():
                total += 1
                if last_of is not None and last_of.get(raw[m.key], rownum) != rownum:
                    merged += 1  # an earlier row of a device that appears again later: the last row wins
                    continue
                r = imp.parse(rownum, raw)
                if r is not None:
                    batch.append(r)
                if len(batch) >= imp.batch_rows:
                    imp.process(batch)
                    bar.update(total - bar.n)
                    batch = []
            imp.process(batch)
            bar.update(total - bar.n)
            bar.close()
            if dry_run:
                transaction.set_rollback(True)
    except Exception as exc:
        if run.pk:
            run.status = ImportRun.Status.FAILED
            run.error = f"{type(exc).__name__}: {exc}"
            run.finished_at = timezone.now()
            run.save()
        raise
    c = imp.counts
    run.rows_total = total
    run.rows_created = c["created"]
    run.rows_updated = c["updated"]
    run.rows_unchanged = c["unchanged"]
    run.rows_rejected = c["rejected"]
    run.report_csv = imp.report.getvalue()
    run.summary = {
        "rejected_reasons": dict(sorted(imp.rejected.items())),
        "dropped_reasons": dict(sorted(imp.dropped.items())),
        "duplicates_merged": merged,
        "areas_created": c["areas_created"],
        "buildings_created": c["buildings_created"],
        "organisations_created": {k.removeprefix("organisations_created_"): v for k, v in sorted(c.items()) if k.startswith("organisations_created_")},
        "events_created": c["events_created"],
        "contracts_created": c["contracts_created"],
        "contracts_closed": c["contracts_closed"],
        "notes": dict(sorted(imp.notes.items())),
        "encoding": encoding_label(src.encoding) if src.kind != "xlsx" else "",
        "encoding_detected": src.encoding_detected,
        "sheet": src.sheet or "",
        "header_row": src.header_row,
        "header_rows": src.header_rows,
        "unrecognised_columns": src.unrecognised,
        "missing_optional_columns": src.missing_optional,
        "building_keys_hashed": c["building_keys_hashed"],
        "seconds": round(time.monotonic() - t0, 2),
    }
    run.status = ImportRun.Status.DONE
    run.finished_at = timezone.now()
    if not dry_run:
        run.save()
        if connection.vendor == "postgresql" and c["created"] > 1000:
            # fresh planner statistics after a bulk load: without them PostgreSQL picked a plan
            # 30x slower for the call-taker's address lookup (bench/RESULTS.md, "Live board")
            with connection.cursor() as cur:
                cur.execute(f'ANALYZE "{Elevator._meta.db_table}", "{Building._meta.db_table}"')
    return run


__all__ = ["run_import", "report_rows", "fit_key", "REPORT_KEYS", "ImportFileError"]
