"""Import of Ontario (TSSA) elevating-device incidents and near-misses as incident-report leads.

Real data: ``liftsafe/hazards/data/ontario-tssa-incident.csv.gz`` (2,446 records,
2011-2016; see ``data/SOURCE.md``). Each record becomes a lead (state
``lead``, source ``incident``, ``source_ref = "on-tssa:<Incident Number>"``) on
the device it names; devices are known only by their TSSA device number and
are registered as such (source ``on-tssa``) in a second jurisdiction: area
``CA-ON`` (province) → ``CA-ON-ALL`` (a city-level node for the whole
province, since the file has no municipality). Re-running changes nothing.

Level from injury severity (issue 5): a fatal or permanent (serious) injury →
重大; a non-permanent (minor) injury → 较大; a reported incident (not a
near-miss) whose injury columns are all blank → 较大 (an injury may have
happened but was not recorded, so it is not ranked lowest); no injury or a
near-miss → 一般.

Cause classes (docs/domain §4.3): :data:`ROOT_CAUSE_MAP` maps TSSA root-cause codes;
equipment failures (TSSA 1.x, which do not name the subsystem) and records
without a root cause are refined with narrative keywords (:data:`KEYWORDS`).
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction

from liftsafe.core.messages import encode
from liftsafe.core.models import Area
from liftsafe.registry.models import Elevator

from . import messages as msg
from .models import Hazard, Level, Source

DATA_FILE = Path(__file__).resolve().parent / "data" / "ontario-tssa-incident.csv.gz"
SOURCE = "on-tssa"
TZ = ZoneInfo("America/Toronto")

# TSSA root-cause code → (cause class, how it maps). Class "" = decided by the narrative.
# "other*" = no docs/domain §4.3 class fits (reported as not mapped).
ROOT_CAUSE_MAP: dict[str, tuple[str, str]] = {
    "1.1": ("", "equipment failure: subsystem from the narrative, else other"),
    "1.2": ("", "component failure: subsystem from the narrative, else other"),
    "1.3": ("", "material failure: subsystem from the narrative, else other"),
    "1.4": ("", "defective assembly: subsystem from the narrative, else other"),
    "1.5": ("control_system", "electrical or instrument noise → 控制系统原因"),
    "1.6": ("", "contamination: subsystem from the narrative, else other"),
    "2.3": ("other*", "installation safety measures (no cause class of docs/domain §4.3)"),
    "2.4": ("other*", "installation procedures (no cause class of docs/domain §4.3)"),
    "2.5": ("other*", "installation procedures (no cause class of docs/domain §4.3)"),
    "3.1": ("other*", "maintenance procedures (no cause class of docs/domain §4.3)"),
    "3.2": ("other*", "maintenance procedures (no cause class of docs/domain §4.3)"),
    "4.2": ("safety_devices", "inadequate safety features or devices → 安全保护装置"),
    "4.3": ("other*", "equipment selection (design; no cause class of docs/domain §4.3)"),
    "5.1": ("other*", "training (no cause class of docs/domain §4.3)"),
    "6.2": ("other*", "management systems (no cause class of docs/domain §4.3)"),
    "6.3": ("other*", "negligent work practices (worker; no cause class of docs/domain §4.3)"),
    "6.4": ("other*", "regulatory management (no cause class of docs/domain §4.3)"),
    "7.1": ("human", "unsafe operating environment → 人为原因"),
    "7.2": ("human", "special conditions of the user (health, inebriation) → 人为原因"),
    "7.3": ("other*", "maintenance procedures not followed (worker; no cause class of docs/domain §4.3)"),
    "7.4": ("human", "operating procedures not followed → 人为原因"),
    "7.5": ("other*", "installation procedures not followed (worker; no cause class of docs/domain §4.3)"),
    "7.6": ("human", "user instructions not followed → 人为原因 (passenger misuse)"),
    "7.8": ("human", "deliberate intent or sabotage → 人为原因"),
    "8.1": ("external", "weather or environment → 外部原因"),
    "8.2": ("external", "utilities (power, water) → 外部原因 (停电, 进水)"),
    "8.3": ("external", "external fire or explosion → 外部原因"),
    "8.4": ("human", "vandalism or theft → 人为原因 (rough use)"),
}

# Narrative keywords, tried in this order; first hit wins. (class, item, regex)
KEYWORDS: list[tuple[str, str, str]] = [
    ("external", "water_ingress", r"flood|water|sump|rain|leak"),
    ("external", "power_cut", r"power (?:failure|outage|loss)|power went|outage|blackout|hydro"),
    ("external", "other", r"\bfire\b|smoke|storm|weather|\bice\b|snow"),
    ("door_system", "landing_door_lock", r"interlock|door lock|hoistway door"),
    ("door_system", "door_operator", r"door operator|door motor"),
    ("door_system", "other", r"\bdoors?\b|\bgate\b|door edge|reopen"),
    ("safety_devices", "other", r"governor|buffer|overspeed|safety gear|free ?fall|uncontrolled|ucm|\bsafeties\b"),
    ("traction_system", "other", r"brake|rope|cable|sheave|hoist motor|\bmotor\b|hydraulic|cylinder|\boil\b|jack|drive|chain|handrail|step"),
    ("control_system", "levelling_sensor", r"level(?:l)?ing|mis-?level|mislevel|stopped (?:short|above|below)|tripping hazard"),
    ("control_system", "controller", r"controller|control|electrical|wiring|fault|malfunction"),
    ("human", "misuse", r"vandal|pushed|pry|forced|kick|jump|stroller|cart|dog|child|kids|intoxic|drunk|fell|slip|trip"),
]
_KW = [(c, i, re.compile(p, re.I)) for c, i, p in KEYWORDS]
EQUIPMENT_CLASSES = {"door_system", "control_system", "traction_system", "safety_devices"}


def classify(root_cause: str, narrative: str) -> tuple[str, str, str]:
    """Return (cause class, cause item, basis) for one record.

    basis: ``root_cause`` (class from the TSSA code), ``narrative`` (keywords),
    ``equipment_other`` (1.x failure, no subsystem keyword → other),
    ``not_mapped`` (no cause class of docs/domain §4.3 → other), ``unknown`` (no root cause, no keyword → "").
    """
    code = root_cause.split(" ", 1)[0].strip() if root_cause else ""
    if code and code not in ROOT_CAUSE_MAP:
        return "other", root_cause[:200], "not_mapped"
    cls = ROOT_CAUSE_MAP[code][0] if code else ""
    if cls == "other*":
        return "other", root_cause[:200], "not_mapped"
    if cls:
        hit = next(((c, i) for c, i, rx in _KW if c == cls and rx.search(narrative)), None)
        return cls, (hit[1] if hit else "other"), "root_cause"
    equipment_only = bool(code)  # 1.x: only an equipment subsystem fits
    for c, i, rx in _KW:
        if equipment_only and c not in EQUIPMENT_CLASSES:
            continue
        if rx.search(narrative):
            return c, i, "narrative"
    if equipment_only:
        return "other", root_cause[:200], "equipment_other"
    return "", "", "unknown"


def _num(v: str) -> float:
    try:
        return float(v) if v else 0.0
    except ValueError:
        return 0.0


def level_of(row: dict) -> tuple[str, str]:
    """(level, reason) from the injury columns (see the module docstring)."""
    fatal, perm = _num(row["fatal injury"]), _num(row["permanent (serious) injury"])
    minor, none = _num(row["non-permanent (minor) injury"]), _num(row["No Injury"])
    blank = all(row[k] == "" for k in ("fatal injury", "permanent (serious) injury", "non-permanent (minor) injury", "No Injury"))
    if fatal or perm:
        return Level.MAJOR, "fatal" if fatal else "permanent"
    if minor:
        return Level.SIGNIFICANT, "minor"
    if blank and row["catagory of incident"].strip().lower().startswith("ed-incident"):
        return Level.SIGNIFICANT, "incident_injury_unrecorded"
    return Level.GENERAL, "near_miss" if row["catagory of incident"].lower().endswith("near-miss") else "no_injury"


def category_of(narrative: str) -> tuple[str, str]:
    """(registry category, device type word) guessed from the narrative's first word."""
    head = narrative.strip().lower()
    if head.startswith("escalator"):
        return "3310", "escalator"
    if head.startswith("movator") or "moving walk" in head[:30]:
        return "3320", "moving walk"
    if head.startswith("freight"):
        return "3120", "freight elevator"
    return "3100", "elevator"


def _date(s: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(s.strip(), "%d-%b-%y").date()
    except ValueError:
        return None


def read_rows(path: Path = DATA_FILE) -> list[dict]:
    with gzip.open(path, "rb") as fh:
        return list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline="")))


def ensure_areas() -> Area:
    """The Ontario area tree: CA-ON (province) → CA-ON-ALL (city-level node). Returns the city node."""
    prov, _ = Area.objects.get_or_create(code="CA-ON", defaults=dict(name="安大略省（加拿大）", name_en="Ontario", level="province"))
    city, _ = Area.objects.get_or_create(code="CA-ON-ALL", defaults=dict(name="安大略省 TSSA 辖区", name_en="Ontario (TSSA, province-wide)",
                                                                         level="city", parent=prov, urban=True))
    return city


@dataclass
class ImportResult:
    rows: int = 0
    leads_created: int = 0
    leads_existing: int = 0
    elevators_created: int = 0
    rejected: list = field(default_factory=list)  # (incident number, reason)
    levels: Counter = field(default_factory=Counter)
    level_reasons: Counter = field(default_factory=Counter)
    classes: Counter = field(default_factory=Counter)
    bases: Counter = field(default_factory=Counter)
    root_causes: Counter = field(default_factory=Counter)  # (root cause, class, basis) -> n
    unmapped: Counter = field(default_factory=Counter)


def import_ontario(path: Path = DATA_FILE, progress: bool = False) -> ImportResult:
    """Import (or re-import, idempotently) the Ontario incidents. Rows without a device number or a date are rejected.
    ``progress``: show a tqdm progress bar on stderr (rows done / total, rate, time left)."""
    from tqdm import tqdm

    from liftsafe.registry.services import elevator_create

    from .services import lead_raise

    res = ImportResult()
    rows = read_rows(path)
    res.rows = len(rows)
    with transaction.atomic():
        city = ensure_areas()
        existing_refs = set(Hazard.objects.filter(source=Source.INCIDENT, source_ref__startswith="on-tssa:").values_list("source_ref", flat=True))
        elevators = {e.source_id: e for e in Elevator.objects.filter(source=SOURCE)}
        for row in tqdm(rows, unit="row", disable=not progress, desc="import on-tssa"):
            num = row["Incident Number"].strip()
            device = row["elevating devices number"].strip()
            narrative = " ".join(row["Reported occurrence narrative"].split())
            occurred = _date(row["Date Of Occurrence"])
            created = _date(row["Creation Date"]) or occurred
            level, why = level_of(row)
            cls, item, basis = classify(row["Specific Root Cause"].strip(), narrative)
            res.levels[level] += 1
            res.level_reasons[why] += 1
            res.classes[cls or "(none)"] += 1
            res.bases[basis] += 1
            res.root_causes[(row["Specific Root Cause"].strip() or "(blank)", cls or "(none)", basis)] += 1
            if basis in ("not_mapped", "equipment_other", "unknown"):
                res.unmapped[(row["Specific Root Cause"].strip() or "(blank)", basis)] += 1
            if not device or not re.fullmatch(r"[0-9A-Za-z-]{1,32}", device):
                res.rejected.append((num, "no device number"))
                continue
            if occurred is None:
                res.rejected.append((num, "no date of occurrence"))
                continue
            ref = f"on-tssa:{num}"
            if ref in existing_refs:
                res.leads_existing += 1
                continue
            elevator = elevators.get(device)
            if elevator is None:
                category, kind = category_of(narrative)
                elevator = elevator_create(None, source=SOURCE, source_id=device, area=city, jurisdiction="CA-ON",
                                           category=category, source_type=f"TSSA {kind}", urban=True,
                                           address=f"Ontario, TSSA device {device}", _reason=encode(msg.ONTARIO_REGISTERED))
                elevators[device] = elevator
                res.elevators_created += 1
            hh, tm = row["Time of Occurrence"].strip(), None
            try:
                tm = dt.datetime.strptime(hh, "%I:%M:%S %p").time() if hh else None
            except ValueError:
                tm = None
            title = (narrative[:120] or f"TSSA {row['catagory of incident']}")
            lead_raise(elevator=elevator, source=Source.INCIDENT, source_ref=ref, title=title, level=level,
                       description=narrative, cause_class=cls, cause_item=item, occurred_on=occurred,
                       filed_at=dt.datetime.combine(created, dt.time(12, 0), tzinfo=TZ),
                       extra={"tssa": {"incident_number": num, "task_number": row["Task Number"], "category": row["catagory of incident"],
                                       "root_cause": row["Specific Root Cause"], "time_of_occurrence": tm.isoformat() if tm else "",
                                       "level_reason": why, "cause_basis": basis,
                                       "injuries": {k: row[k] for k in ("fatal injury", "permanent (serious) injury",
                                                                         "non-permanent (minor) injury", "No Injury")}}})
            existing_refs.add(ref)
            res.leads_created += 1
    return res


def mapping_report(res: ImportResult) -> str:
    """The Markdown mapping report (docs/hazards-ontario-mapping.md) for an import result."""
    out = ["# Ontario TSSA incidents → liftsafe hazard leads: mapping and counts", "",
           "Generated by `liftsafe import_ontario --report docs/hazards-ontario-mapping.md` from",
           "`liftsafe/hazards/data/ontario-tssa-incident.csv.gz` (2,446 real TSSA incident and near-miss records, 2011-2016;",
           "source and licence notes in `liftsafe/hazards/data/SOURCE.md`). Code: `liftsafe/hazards/ontario.py`.", "",
           "## Result", "",
           f"- records read: {res.rows}",
           f"- leads created: {res.leads_created}; already present (re-run): {res.leads_existing}; rejected: {len(res.rejected)}",
           f"- devices registered by device number only (source `on-tssa`): {res.elevators_created}",
           "- area tree: `CA-ON` (province) → `CA-ON-ALL` (city-level node; the file names no municipality); jurisdiction `CA-ON`", "",
           "## Level from injury severity", "",
           "| rule | level | records |", "|---|---|---:|"]
    labels = {"fatal": ("fatal injury", "重大"), "permanent": ("permanent (serious) injury", "重大"),
              "minor": ("non-permanent (minor) injury", "较大"),
              "incident_injury_unrecorded": ("ED-Incident, injury columns blank (injury may have occurred)", "较大"),
              "no_injury": ("incident with no injury", "一般"), "near_miss": ("near-miss", "一般")}
    for k, (label, lv) in labels.items():
        out.append(f"| {label} | {lv} | {res.level_reasons.get(k, 0)} |")
    out += ["", f"Totals: 重大 {res.levels.get('major', 0)}, 较大 {res.levels.get('significant', 0)}, 一般 {res.levels.get('general', 0)}.", "",
            "## Root cause → cause class (docs/domain §4.3)", "",
            "TSSA root causes say *why* (equipment, maintenance, user, utilities…), docs/domain §4.3 classes say *where*",
            "(人为 / 外部 / 门系统 / 控制系统 / 曳引系统 / 安全保护装置 / 其他). Equipment failures (1.x) name no subsystem, so the",
            "narrative decides it by keyword (table below); records without a root cause are classified by keyword only.", "",
            "| TSSA root-cause code | class | rule |", "|---|---|---|"]
    for code, (cls, how) in ROOT_CAUSE_MAP.items():
        out.append(f"| {code} | {cls or '(narrative)'} | {how} |")
    out += ["", "Narrative keywords (first hit wins):", "", "| class | item | pattern |", "|---|---|---|"]
    for c, i, p in KEYWORDS:
        out.append(f"| {c} | {i} | `{p.replace('|', ' / ')}` |")
    out += ["", "## Counts by class", "", "| class | records |", "|---|---:|"]
    for c, n in sorted(res.classes.items(), key=lambda x: -x[1]):
        out.append(f"| {c} | {n} |")
    out += ["", "| basis | records |", "|---|---:|"]
    for c, n in sorted(res.bases.items(), key=lambda x: -x[1]):
        out.append(f"| {c} | {n} |")
    out += ["", "## What does not map", "",
            "- `not_mapped`: TSSA causes with no docs/domain §4.3 class (installation, maintenance, training, management, worker practice) → class `other`.",
            "- `equipment_other`: equipment failures whose narrative names no subsystem → class `other`.",
            "- `unknown`: no root cause and no keyword → no class (the regulator classifies on acceptance).", "",
            "| root cause | basis | records |", "|---|---|---:|"]
    for (rc, basis), n in sorted(res.unmapped.items(), key=lambda x: -x[1]):
        out.append(f"| {rc} | {basis} | {n} |")
    if res.rejected:
        out += ["", "## Rejected records", "", "| incident | reason |", "|---|---|"]
        out += [f"| {a} | {b} |" for a, b in res.rejected]
    return "\n".join(out) + "\n"
