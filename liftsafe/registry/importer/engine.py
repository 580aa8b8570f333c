"""The generic import engine: rows → validated Elevator values → batched upsert with audit history.

Per row: every mapped value is converted (null tokens, value maps, unit
conversions, dates) and validated with the Elevator model field's own
``clean`` (the same validators as ``full_clean``; results memoised per
distinct value, so 76k rows validate in well under a second). A row with a
problem in a field whose mapping says ``on_error = "reject"`` is rejected; a
problem in an ``on_error = "drop"`` field blanks that value and keeps the
row. Both are written to the report CSV (row number, source id, column,
field, value, action, reason code, message).

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

import datetime as dt
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
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from liftsafe.core.exports import SafeCsvWriter
from liftsafe.core.models import Area
from liftsafe.rules import rule

from ..codes import CROWDED_PLACE_TYPES
from .liveness import Heartbeat, process_identity
from ..models import Building, Elevator, ImportRun, LifecycleEvent, MaintenanceContract, Organisation, normalize_address
from .errors import ImportFileError
from .fastinsert import FastInserter
from .mapping import Mapping, ValueProblem, load_mapping
from .readers import open_source

log = logging.getLogger(__name__)

REPORT_HEADER = ["row", "source_id", "column", "field", "value", "action", "reason", "message"]
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
    building: tuple[str, str, str] | None = None
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
        self.reason = f"import {m.name}"
        self.model_fields = {f.name: f for f in Elevator._meta.concrete_fields}
        self.clean_memo: dict[tuple[str, Any], tuple[bool, Any]] = {}
        self.counts = Counter()
        self.rejected = Counter()
        self.dropped = Counter()
        self.report = io.StringIO()
        # a report people open in a spreadsheet: raw input values go through the shared export helper
        self.writer = SafeCsvWriter(self.report, lineterminator="\n")
        self.writer.writerow(REPORT_HEADER)
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

    def inserter(self, model) -> FastInserter:
        ins = self._inserters.get(model)
        if ins is None:
            ins = self._inserters[model] = FastInserter(model, user_id=getattr(self.user, "pk", None), reason=self.reason,
                                                        batch_size=self.batch_rows)
        return ins

    # --- reporting ---------------------------------------------------------------------

    def issue(self, rownum: int, key: str, column: str, fname: str, value: str, action: str, code: str, message: str):
        self.writer.writerow([rownum, key, column, fname, value, action, code, message])
        (self.rejected if action == "rejected" else self.dropped)[f"{column}: {code}"] += 1

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
        key = raw[m.key]
        reject = False
        values: dict[str, Any] = {}
        for fname, spec in m.fields.items():
            try:
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
            self.issue(rownum, key, m.key, "source_id", key, "rejected", "duplicate_key", "the same device id appears earlier in the file")
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
                           f"{rawname!r} does not name a {ref.kind.replace('_', ' ')}; left empty")
            if name is None and not rkey:
                row.refs[rname] = (None, None)
                continue
            row.refs[rname] = (name, rkey or None)
        # building
        b = m.building
        if b:
            bkey = raw[b["key"]]
            if bkey and bkey not in b.get("null", []):
                row.building = (bkey, _fmt(b.get("name"), raw), _fmt(b.get("address"), raw))
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
                               f"{uf} {val} is also given to device {other} in this file")
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
                self.issue(row.rownum, row.key, col, "area", "", "rejected", "required", "the area is required")
                return False
        if a.get("gbt2260"):
            if not re.fullmatch(r"\d{6}", val) or val[:2] not in GBT2260_PROVINCES:
                self.issue(row.rownum, row.key, col, "area", val, "rejected", "not_gbt2260",
                           f"{val!r} is not a GB/T 2260 administrative division code (6 digits, known province)")
                return False
            code = val
        else:
            code = a.get("map", {}).get(val)
            if code is None:
                self.issue(row.rownum, row.key, col, "area", val, "rejected", "unknown_value", f"{val!r} is not a known area")
                return False
        area = self._area(code, raw)
        if area is None:
            self.issue(row.rownum, row.key, col, "area", val, "rejected", "unknown_area", f"area {code} does not exist")
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
        counties and county-level cities (21-99) are not (FACTS §3.4, TSG T5002 Art. 5).
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
                               f"{uf} {val} already belongs to elevator {owner[0]}:{owner[1]}")
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
                        org = Organisation(kind=kind, name=(name or key)[:200], source=self.m.source,
                                           source_key=(key or name)[:128], area_id=r.values.get("area_id"))
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
                k, name, addr = r.building
                new[k] = Building(source=self.m.source, source_key=k[:64], name=name[:200], address=addr[:255], area_id=r.values["area_id"])
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
                            "note": ev.get("note", "")[:255], "source": self.m.source})
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
                               f"not contracted: overlaps the existing contract from {c.start_date} with another unit")
                    continue
                for c in cs:
                    c.end_date = today - dt.timedelta(days=1)
                    close.append(c)
                create.append(MaintenanceContract(elevator_id=pk, maintenance_unit_id=unit, start_date=today))
            if close:
                bulk_update_with_history(close, MaintenanceContract, ["end_date"], batch_size=self.batch_rows,
                                         default_user=self.user, default_change_reason="superseded by a new contract (import)")
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


def run_import(path, mapping: str, *, user=None, dry_run: bool = False, progress: bool = False) -> ImportRun:
    """Import a registry file with the named mapping; returns the ImportRun (unsaved for a dry run).

    Args:
        path: a .csv, .csv.gz or .xlsx file.
        mapping: name of ``liftsafe/registry/mappings/<name>.toml``.
        user: recorded as the history user of every change (None = system).
        dry_run: validate and count exactly, commit nothing.
        progress: show a tqdm progress bar on stderr.

    Returns:
        ImportRun with rows_total / created / updated / unchanged / rejected, the
        rejected-and-dropped-values report in ``report_csv`` and a ``summary``
        (reason histograms, organisations/areas/buildings/events/contracts created).

    Raises:
        ImportFileError: the file cannot be imported at all (before any write).
        MappingError: the mapping is unknown or invalid.
    """
    from tqdm import tqdm

    t0 = time.monotonic()
    m = load_mapping(mapping)
    src = open_source(path, m)
    host, pid, pstart = process_identity()  # a killed import is found and marked "interrupted" (registry.tasks)
    run = ImportRun(mapping=m.name, file_name=Path(path).name[:255], file_sha256=src.sha256, dry_run=dry_run,
                    user=user if (user is not None and getattr(user, "pk", None)) else None,
                    host=host, pid=pid, process_start=pstart, heartbeat_at=timezone.now())
    if not dry_run:
        run.save()
    beat = Heartbeat(run.pk, float(rule("import_heartbeat_s"))) if run.pk else contextlib.nullcontext()
    imp = _Importer(m, run, user if getattr(user, "pk", None) else None, dry_run)
    if run.pk:
        imp.reason = f"import {m.name} #{run.pk}"
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


__all__ = ["run_import", "ImportFileError"]
