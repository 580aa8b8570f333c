"""Replay real NYC MTA 2023 outage tickets through the emergency services, in time order.

Input: the FOIL ticket subsets in ``liftsafe/emergency/data/`` (see SOURCE.md
there), parsed with the csv module (comments are multi-line quoted fields).
Times are America/New_York wall-clock times, made aware with zoneinfo.
Units are matched to registry elevators by ``source_id`` (the MTA unit id,
e.g. ``EL739``) as imported by the registry importer's ``mta-units`` mapping.

Mapping (also in docs/emergency-mta-mapping.md, with the counts):

==========================  ==================================================
ticket field                platform
==========================  ==================================================
Outage Code FR / UNI        false alarm (case opened, then ``false_alarm``)
Status Cancelled            false alarm
Reason MAINTENANCE /        planned work: not an alarm, not replayed (counted)
PLANNEDWORK / INSPECTION,
codes PM INS AP APC RCC
Outage Code ENT             entrapment case
other codes (BRP MRP IRP    fault report
VAN POW ENV EUF FNM PNM
EWC LTR …)
Source External Monitoring  channel ``iot``; Phone / E-mail → ``phone_96333``
System
Date Created                ``received`` (intake) and level-1 ``dispatched``
                            (MTA's own E&E crews are the maintainer; the
                            ticket is the work order)
Out of Service Date         ``details.mta.out_of_service_at`` (fault time, 被困时间)
Actual Return to Service    ``completed`` (or ``false_alarm``) at that time
Outage                      ``source_ref`` and the idempotency key ``mta:<Outage>``
==========================  ==================================================

Tickets are processed as events (open at Date Created, close at return to
service) in one global time order, so a ticket arriving while the same
unit's earlier case is still open attaches to it (``call_attached``) like a
second call would. Re-running the replay records nothing twice (keys).
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from liftsafe.registry.models import Elevator

from liftsafe.core.messages import encode

from . import messages as msg
from . import services
from .models import CaseType, Channel

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FILES = [DATA_DIR / "nyc_mta_outages_2023_ele_not_subway.csv.gz", DATA_DIR / "nyc_mta_outages_2023_null_station_mrn.csv.gz"]
NY = ZoneInfo("America/New_York")
FALSE_ALARM_CODES = {"FR", "UNI"}
PLANNED_CODES = {"PM", "INS", "AP", "APC", "RCC"}
PLANNED_REASONS = {"MAINTENANCE", "PLANNEDWORK", "INSPECTION"}
TIME_FMT = "%Y-%m-%d %H:%M:%S"


@dataclass
class ReplayReport:
    """Counts of one replay run (see :meth:`as_markdown`)."""

    rows: Counter = field(default_factory=Counter)  # file name -> rows
    outcome: Counter = field(default_factory=Counter)  # what happened to each ticket
    by_code: Counter = field(default_factory=Counter)  # (code, outcome)
    case_types: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    milestones: Counter = field(default_factory=Counter)
    missing_units: Counter = field(default_factory=Counter)  # unit -> tickets
    problems: list = field(default_factory=list)  # (outage, reason)
    contracts_created: int = 0  # in-house maintainer contracts added for units without any

    def as_markdown(self) -> str:
        out = [f"In-house maintainer contracts created: {self.contracts_created}", "", "| file | rows |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in sorted(self.rows.items())]
        out += ["", "| outcome | tickets |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in self.outcome.most_common()]
        out += ["", "| Outage Code | outcome | tickets |", "|---|---|---|"]
        out += [f"| {c} | {o} | {n} |" for (c, o), n in sorted(self.by_code.items())]
        out += ["", "| case type (cases opened) | n |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(self.case_types.items())]
        out += ["", "| channel (cases opened) | n |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(self.channels.items())]
        out += ["", "| milestones recorded | n |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sorted(self.milestones.items())]
        out += ["", f"Units not in the registry ({len(self.missing_units)} units, {sum(self.missing_units.values())} tickets): "
                + ", ".join(f"{u} ({n})" for u, n in sorted(self.missing_units.items()))]
        if self.problems:
            out += ["", "| Outage | problem |", "|---|---|"] + [f"| {o} | {p} |" for o, p in self.problems]
        return "\n".join(out) + "\n"


def parse_time(value: str) -> dt.datetime | None:
    """``"2023-01-02 12:55:00"`` (New York wall clock) → aware datetime; blank → None.

    Ambiguous times in the autumn DST change take the first (EDT) reading
    (``fold=0``); times in the spring gap are shifted forward by zoneinfo.
    """
    value = (value or "").strip()
    if not value:
        return None
    return dt.datetime.strptime(value, TIME_FMT).replace(tzinfo=NY)


def read_tickets(path: Path) -> list[dict]:
    """All rows of a ticket CSV (.csv or .csv.gz) as dicts (csv module: multi-line quoted comments)."""
    raw = gzip.open(path, "rb").read() if str(path).endswith(".gz") else Path(path).read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def classify(t: dict) -> str:
    """``"false_alarm"``, ``"planned"``, ``"entrapment"`` or ``"fault_report"`` for one ticket (see module docstring)."""
    code = t["Outage Code"].strip().upper()
    if code in FALSE_ALARM_CODES:
        return "false_alarm"
    if code in PLANNED_CODES or t["Reason Shown to Public"].strip().upper() in PLANNED_REASONS:
        return "planned"
    if t["Status"].strip().lower() == "cancelled":
        return "false_alarm"
    if code == "ENT":
        return "entrapment"
    return "fault_report"


def channel_of(t: dict) -> str:
    return Channel.IOT if t["Source"].strip() == "External Monitoring System" else Channel.PHONE_96333


MTA_MAINTAINER = "MTA New York City Transit — Elevator & Escalator (E&E)"
MAINTAINER_SINCE = dt.date(2023, 1, 1)


def ensure_in_house_maintainer(elevators) -> int:
    """MTA maintains its own units (the tickets are E&E work orders naming E&E staff): give each
    replayed unit that has *no* maintenance contract at all an open-ended contract with the MTA E&E
    department from 2023-01-01, through :func:`liftsafe.registry.services.contract_create`, so
    level-1 dispatch finds it. Returns how many contracts were created (0 on a re-run)."""
    from liftsafe.registry.models import MaintenanceContract, Organisation
    from liftsafe.registry.services import contract_create

    todo = [e for e in elevators if not MaintenanceContract.objects.filter(elevator=e).exists()]
    if not todo:
        return 0
    area = todo[0].area
    while area.parent_id and area.level != "city":
        area = area.parent
    org, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.MAINTENANCE_UNIT, source="nyc-mta", source_key="E&E",
        defaults={"name": MTA_MAINTAINER, "area": area, "address": "2 Broadway, New York, NY"})
    for e in todo:
        contract_create(None, elevator=e, maintenance_unit=org, start_date=MAINTAINER_SINCE,
                        contract_no="MTA in-house (E&E)")
    return len(todo)


def replay(paths: list[Path] | None = None, *, source: str | None = None, in_house_maintainer: bool = True) -> ReplayReport:
    """Replay the ticket files through :func:`services.intake_alarm`, :func:`services.dispatch_case`
    and :func:`services.record_milestone` (as the platform, ``user=None``), in time order.

    Args:
        paths: ticket CSVs (default: both files in ``liftsafe/emergency/data``).
        source: restrict the unit lookup to elevators of this registry source
            (default: any source whose ``source_id`` equals the MTA unit id).
        in_house_maintainer: give ticket units without any contract the MTA
            E&E department as contracted maintainer (:func:`ensure_in_house_maintainer`).

    Returns:
        A :class:`ReplayReport`; nothing is dropped silently (every ticket is
        counted under one outcome; tickets for units not in the registry are
        listed by unit).
    """
    rep = ReplayReport()
    tickets: list[dict] = []
    for p in paths or DEFAULT_FILES:
        rows = read_tickets(Path(p))
        rep.rows[Path(p).name] = len(rows)
        tickets += rows
    units = {t["Common Name"].strip() for t in tickets}
    qs = Elevator.objects.filter(source_id__in=units)
    if source:
        qs = qs.filter(source=source)
    elevators = {e.source_id: e for e in qs.select_related("area")}
    if in_house_maintainer:
        used = {t["Common Name"].strip() for t in tickets if classify(t) != "planned"}
        rep.contracts_created = ensure_in_house_maintainer([e for u, e in sorted(elevators.items()) if u in used])

    events = []  # (time, order, outage, kind, ticket)
    for t in tickets:
        outage, code = t["Outage"].strip(), t["Outage Code"].strip().upper()
        kind = classify(t)
        if kind == "planned":
            rep.outcome["planned work (not an alarm): not replayed"] += 1
            rep.by_code[(code, "planned, skipped")] += 1
            continue
        unit = t["Common Name"].strip()
        if unit not in elevators:
            rep.outcome["unit not in the registry: reported"] += 1
            rep.by_code[(code, "unit not in registry")] += 1
            rep.missing_units[unit] += 1
            continue
        try:
            created = parse_time(t["Date Created"])
            rts = parse_time(t["Actual Return to Service Date"])
            oos = parse_time(t["Out of Service Date"])
        except ValueError as exc:
            rep.outcome["unparsable time: reported"] += 1
            rep.problems.append((outage, f"unparsable time: {exc}"))
            continue
        if created is None:
            rep.outcome["no Date Created: reported"] += 1
            rep.problems.append((outage, "no Date Created"))
            continue
        close_at = rts or created
        if close_at < created:
            rep.problems.append((outage, f"return to service {rts:%Y-%m-%d %H:%M} before creation; closed at creation"))
            close_at = created
        t["_kind"], t["_oos"], t["_rts"] = kind, oos, rts
        events.append((created, 0, outage, "open", t))
        events.append((close_at, 1, outage, "close", t))
    events.sort(key=lambda ev: (ev[0], ev[1], ev[2]))

    owner: dict[str, object] = {}  # outage -> case it opened
    for at, _, outage, what, t in events:
        code = t["Outage Code"].strip().upper()
        e = elevators[t["Common Name"].strip()]
        kind = t["_kind"]
        if what == "open":
            case_type = CaseType.ENTRAPMENT if kind == "entrapment" else CaseType.FAULT_REPORT
            details = {"mta": {
                "outage": outage, "code": code, "status": t["Status"], "reason": t["Reason Shown to Public"],
                "equipment": t["Equipment Description"], "source": t["Source"], "service_code": t["Service Code"],
                "out_of_service_at": t["_oos"].isoformat() if t["_oos"] else None,
                "estimated_return_at": (parse_time(t["Estimated Return to Service Date"]) or at).isoformat()
                if t["Estimated Return to Service Date"].strip() else None,
                "comments": (t["Outage Comments"] or "")[:1000]}}
            r = services.intake_alarm(e, channel=channel_of(t), case_type=case_type, received_at=at, details=details,
                                      source_ref=outage, idempotency_key=f"mta:{outage}")
            if r.duplicate:
                rep.outcome["already replayed (idempotent)"] += 1
                rep.by_code[(code, "already replayed")] += 1
                continue
            if not r.created:
                rep.outcome["attached to the unit's open case (call_attached)"] += 1
                rep.by_code[(code, "attached")] += 1
                rep.milestones["call_attached"] += 1
                continue
            owner[outage] = r.case
            rep.case_types[case_type] += 1
            rep.channels[channel_of(t)] += 1
            rep.milestones["received"] += 1
            outcome = "false alarm" if kind == "false_alarm" else kind
            rep.outcome[f"case opened: {outcome}"] += 1
            rep.by_code[(code, f"case: {outcome}")] += 1
            if kind != "false_alarm":
                errors = []
                for level in (1, 2, 3):  # level 1 = the unit's maintainer; higher only if the registry has none
                    try:
                        services.dispatch_case(None, r.case, level, at=at, reason="MTA ticket created (E&E work order)")
                        rep.milestones[f"dispatched (level {level})"] += 1
                        break
                    except ValidationError as exc:
                        errors += exc.messages
                else:
                    rep.problems.append((outage, f"not dispatched: {'; '.join(errors)}"))
        else:
            case = owner.get(outage)
            if case is None:
                continue
            ms_kind = "false_alarm" if kind == "false_alarm" else "completed"
            try:
                services.record_milestone(None, case, ms_kind, at, idempotency_key=f"mta:{outage}:close",
                                          note=encode(msg.MTA_TICKET, ticket=outage, status=t['Status']))
                rep.milestones[ms_kind] += 1
            except ValidationError as exc:
                rep.problems.append((outage, f"could not close: {'; '.join(exc.messages)}"))
    return rep
