"""Mapping-driven import of inspection records (one TOML mapping per source, like the registry importer's).

A mapping (``liftsafe/inspection/mappings/<name>.toml`` or a path) names the file's key column (matching
``Elevator.source_id`` of ``elevator_source``), the date and disposition columns, the disposition →
conclusion map, and optionally the supervision-pass (schedule base) column. Rows whose disposition is not in
the map are NOT imported and are counted by code (``unknown``); rows of unknown devices, unparseable or
future dates are counted too. A record's ``source_ref`` is ``<key>:<YYYYMMDD>``: re-importing the file
creates no duplicate (the unique constraint, ``ignore_conflicts``).

Imports write no notifications and raise no leads (``validity_recompute(announce=False)``): a historic file is
not news; the periodic recompute announces lifts that become invalid from then on.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from liftsafe.registry.models import Elevator

from .models import Conclusion, InspectionRecord, Kind
from .services import validity_recompute

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    existing: int = 0
    unknown: Counter = field(default_factory=Counter)  # disposition code → rows not imported
    no_device: int = 0
    bad_date: int = 0
    supervision_seeded: int = 0
    validity: dict = field(default_factory=dict)


def load_mapping(name: str) -> dict:
    """The mapping ``name`` (a file in ``mappings/`` without ``.toml``, or a path), checked.

    Raises:
        ValidationError: unknown mapping, or a conclusion outside the list / a kind outside the types.
    """
    path = Path(name) if name.endswith(".toml") else MAPPINGS_DIR / f"{name}.toml"
    if not path.is_file():
        raise ValidationError({"mapping": [f"unknown inspection mapping {name!r}"]})
    m = tomllib.loads(path.read_text("utf-8"))
    bad = {c: v for c, v in m["record"].get("conclusions", {}).items() if v not in Conclusion.values}
    if bad:
        raise ValidationError({"record.conclusions": [f"{c} → {v!r} is not a conclusion" for c, v in bad.items()]})
    if m["record"].get("kind", "periodic") not in Kind.values:
        raise ValidationError({"record.kind": [f"{m['record']['kind']!r} is not an inspection type"]})
    return m


def _date(value: str, formats: list[str]) -> dt.date | None:
    value = (value or "").strip()
    for f in formats:
        try:
            return dt.datetime.strptime(value, f).date()
        except ValueError:
            continue
    return None


def _rows(path: Path, encoding: str):
    raw = gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as fh:
        yield from csv.DictReader(fh)


def import_records(path: str | Path, mapping: str, *, today: dt.date | None = None, batch: int = 5000) -> ImportResult:
    """Import the inspection records of ``path`` with ``mapping``; recompute the affected lifts' validity.

    Returns: an :class:`ImportResult` (counts; ``unknown`` lists disposition codes not imported).
    """
    m = load_mapping(mapping)
    today = today or timezone.localdate()
    src, rec, sup = m["source"], m["record"], m.get("supervision_pass")
    devices = dict(Elevator.objects.filter(source=src["elevator_source"]).values_list("source_id", "pk"))
    known = dict(Elevator.objects.filter(source=src["elevator_source"]).values_list("pk", "supervision_pass_date"))
    conclusions = rec.get("conclusions", {})
    res = ImportResult()
    pending: list[InspectionRecord] = []
    seeds: dict[int, dt.date] = {}
    touched: set[int] = set()

    def flush():
        if not pending:
            return
        refs = [r.source_ref for r in pending]
        before = set(InspectionRecord.objects.filter(source=src["name"], source_ref__in=refs).values_list("source_ref", flat=True))
        InspectionRecord.objects.bulk_create(pending, ignore_conflicts=True)
        res.existing += len(before)
        res.created += len(pending) - len(before)
        pending.clear()

    with transaction.atomic():
        for row in _rows(Path(path), src.get("encoding", "utf-8")):
            res.rows += 1
            pk = devices.get((row.get(src["key"]) or "").strip())
            if pk is None:
                res.no_device += 1
                continue
            if sup:
                base = _date(row.get(sup["column"], ""), sup["formats"])
                if base and base <= today and known.get(pk) is None:
                    seeds[pk] = base
            code = (row.get(rec["disposition_column"]) or "").strip()
            on = _date(row.get(rec["date_column"], ""), rec["date_formats"])
            if code not in conclusions:
                res.unknown[code or "(blank)"] += 1
                continue
            if on is None or on > today:
                res.bad_date += 1
                continue
            pending.append(InspectionRecord(elevator_id=pk, kind=rec.get("kind", Kind.PERIODIC), inspected_on=on,
                                            conclusion=conclusions[code], source=src["name"],
                                            source_ref=f"{row[src['key']].strip()}:{on:%Y%m%d}"[:128],
                                            source_disposition=code[:16]))
            touched.add(pk)
            if len(pending) >= batch:
                flush()
        flush()
        if seeds:
            by_date: dict[dt.date, list[int]] = {}
            for pk, d in seeds.items():
                by_date.setdefault(d, []).append(pk)
            for d, pks in by_date.items():  # one UPDATE per distinct date (bulk_update's CASE is quadratic)
                for i in range(0, len(pks), batch):
                    Elevator.objects.filter(pk__in=pks[i:i + batch]).update(
                        supervision_pass_date=d, supervision_pass_estimated=bool(sup.get("estimated", True)))
            res.supervision_seeded = len(seeds)
    res.validity = validity_recompute(touched | set(seeds), today=today, announce=False)
    return res
