"""Import the real NYC MTA 2023 planned-work tickets as maintenance visits of those units.

The MTA outage tickets in ``liftsafe/emergency/data/`` (see SOURCE.md there) include planned work that the 96333
replay skips (:func:`liftsafe.emergency.mta_replay.classify` → ``"planned"``: codes PM INS AP APC RCC, or reason
MAINTENANCE / PLANNEDWORK / INSPECTION). Each such ticket with a return to service becomes one checked-out
:class:`~liftsafe.maintenance.models.Visit` of its unit, with the ticket's real times:

==============================  ==========================================================
ticket field                    visit
==============================  ==========================================================
Common Name (``EL150``)         ``elevator`` (registry ``source_id``)
Out of Service Date             ``checked_in_at`` (and ``planned_date``, New York date)
Actual Return to Service Date   ``checked_out_at``
Outage                          ``client_id`` = ``mta:<Outage>`` (idempotency: a re-run adds nothing)
Outage Code INS                 tier ``yearly`` (the annual inspection work); every other planned code ``half_monthly``
(contract on that date)         ``maintenance_unit`` (MTA's in-house E&E department where the unit has no contract)
==============================  ==========================================================

They are real records of another system: no T5002 checklist, no workers, no phone location (so they are not
"generated", and they carry no evidence flags of the platform's own check-in). Tickets without a return to service,
with a return before the outage, or of units not in the registry are counted and skipped.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from liftsafe.emergency.mta_replay import DEFAULT_FILES, NY, classify, ensure_in_house_maintainer, parse_time, read_tickets
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import maintenance_unit_on

from .models import Visit


@dataclass
class PlannedImport:
    tickets: int = 0
    planned: int = 0
    created: int = 0
    existing: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> tickets


def import_planned_work(paths: list[Path] | None = None, *, source: str | None = None) -> PlannedImport:
    """Create the visits (see the module docstring); ``source`` narrows the unit match to one registry source."""
    rep = PlannedImport()
    tickets = [t for p in (paths or DEFAULT_FILES) for t in read_tickets(Path(p))]
    rep.tickets = len(tickets)
    planned = [t for t in tickets if classify(t) == "planned"]
    rep.planned = len(planned)
    qs = Elevator.objects.filter(source_id__in={t["Common Name"].strip() for t in planned})
    if source:
        qs = qs.filter(source=source)
    elevators = {e.source_id: e for e in qs.select_related("area")}
    ensure_in_house_maintainer(sorted(elevators.values(), key=lambda e: e.pk))
    done = set(Visit.objects.filter(client_id__in=[f"mta:{t['Outage'].strip()}" for t in planned]).values_list("client_id", flat=True))
    now = timezone.now()
    with transaction.atomic():
        for t in planned:
            key = f"mta:{t['Outage'].strip()}"
            if key in done:
                rep.existing += 1
                continue
            e = elevators.get(t["Common Name"].strip())
            start = parse_time(t.get("Out of Service Date", "")) or parse_time(t.get("Date Created", ""))
            end = parse_time(t.get("Actual Return to Service Date", ""))
            if e is None:
                rep.skipped["unit not in the registry"] += 1
                continue
            if start is None or end is None:
                rep.skipped["no return to service"] += 1
                continue
            if end < start or end > now:
                rep.skipped["return to service before the outage or in the future"] += 1
                continue
            unit = maintenance_unit_on(e, start.astimezone(NY).date())
            if unit is None:
                rep.skipped["no maintenance contract on that date"] += 1
                continue
            tier = "yearly" if t["Outage Code"].strip().upper() == "INS" else "half_monthly"
            Visit.objects.create(elevator=e, maintenance_unit=unit, tier=tier, planned_date=start.astimezone(NY).date(),
                                 state=Visit.State.CHECKED_OUT, checked_in_at=start, checked_out_at=end, received_at=now,
                                 client_id=key, flags=[], results={})
            done.add(key)
            rep.created += 1
    return rep
