"""Generated maintenance history and liability insurance for the demo fleet (all marked ``generated=True``), after
the real MTA planned-work visits (:mod:`liftsafe.maintenance.mta_planned`).

The NYC registry has no maintenance records and no insurance policies; so that the maintenance and insurance
pages show real contrasts, :func:`generate` adds, seeded and idempotent (a second run creates nothing):

- **visits**: for every lift in use with a current maintenance contract, completed half-monthly visits over the
  last :data:`HISTORY_DAYS` days, every 12–15 days, with a quarterly visit every sixth one, and before that window
  one yearly visit within the year (and a half-yearly one when the yearly one is older than ~6 months). Most lifts are up to
  date; about :data:`LATE_UNIT_SHARE` of the maintenance units run late (many of their lifts' last visit is 18–45
  days ago, so they appear on the overdue page); a few visits look fake — a 30-second dwell or a check-in 5 km
  from the lift — and carry the evidence flags the regulator's page lists. Generated visits have no worker
  accounts and no item results (they are not real records); they are checked out, not countersigned.
- **policies**: one annual policy per (insurer, use unit) for each year since 2022 covering that use unit's lifts
  the registry names the insurer of; about :data:`LAPSED_SHARE` of the groups let the current year's policy lapse
  (lifts with no insurer at all are gaps too), so the coverage-gap page is not empty.
- **long entrapments**: :data:`ENTRAPMENTS` generated 96333 entrapment cases (released after 35 min to 3 h) on
  insured lifts in the last weeks, through the emergency services (``details.generated``, idempotency keys), then
  the claim-suggestion job — so the insurer's claims page has suggestions to file.

Bulk inserts (``executemany``) keep it to seconds on the 76k-lift fleet.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from liftsafe.core.zones import zone_for_area_id
from liftsafe.insurance.models import Policy
from liftsafe.insurance.services import claims_suggest
from liftsafe.maintenance.models import Visit
from liftsafe.registry.models import Elevator, MaintenanceContract

from .services import _history_of_new, _insert, _rng

HISTORY_DAYS = 75
LATE_UNIT_SHARE = 0.12
LATE_LIFT_SHARE = 0.6
SHORT_DWELL_SHARE = 0.01
FAR_CHECKIN_SHARE = 0.006
LAPSED_SHARE = 0.07
ENTRAPMENTS = 12
FIRST_POLICY_YEAR = 2022

Log = Callable[[str], None]


@dataclass
class MaintenanceDemoResult:
    mta_visits: int = 0
    visits: int = 0
    policies: int = 0
    covered: int = 0
    cases: int = 0
    claims: int = 0


def _current_contracts(today: dt.date) -> dict[int, tuple[int, float | None, float | None, int]]:
    """``{elevator_id: (unit_id, lat, lon, area_id)}`` for lifts in use with a current contract (latest start wins)."""
    out: dict[int, tuple] = {}
    qs = (MaintenanceContract.objects.filter(start_date__lte=today).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
          .filter(elevator__status=Elevator.Status.IN_USE).order_by("start_date")
          .values_list("elevator_id", "maintenance_unit_id", "elevator__latitude", "elevator__longitude", "elevator__area_id"))
    for eid, unit, lat, lon, area in qs.iterator(chunk_size=20000):
        out[eid] = (unit, lat, lon, area)
    return out


@transaction.atomic
def generate_visits(today: dt.date | None = None, log: Log = lambda m: None) -> int:
    """The visit history (see the module docstring). Returns the number of visits created (0 on a re-run)."""
    today = today or timezone.localdate()
    if Visit.objects.filter(generated=True).exists():
        return 0
    lifts = _current_contracts(today)
    units = sorted({u for u, *_r in lifts.values()})
    late_units = {u for u in units if _rng("late-unit", u).random() < LATE_UNIT_SHARE}
    zones: dict[int | None, object] = {}
    visits: list[Visit] = []
    total = 0

    def flush():  # in chunks: ~450k model instances at once would take a GB of memory on the 76k fleet
        nonlocal total
        _insert(Visit, visits)
        total += len(visits)
        visits.clear()

    for eid, (unit, lat, lon, area) in lifts.items():
        r = _rng("visits", eid)
        tz = zones.get(area) or zones.setdefault(area, zone_for_area_id(area))
        last_ago = r.randint(18, 45) if unit in late_units and r.random() < LATE_LIFT_SHARE else r.randint(0, 12)
        day = today - dt.timedelta(days=last_ago)
        n = 0
        while (today - day).days <= HISTORY_DAYS:
            start = dt.datetime.combine(day, dt.time(r.randint(8, 15), r.randint(0, 59)), tzinfo=tz)
            flags: list[str] = []
            dwell = dt.timedelta(minutes=r.randint(35, 80))
            vlat, vlon = (lat + r.uniform(-0.0004, 0.0004), lon + r.uniform(-0.0004, 0.0004)) if lat is not None and lon is not None else (None, None)
            roll = r.random()
            if roll < SHORT_DWELL_SHARE:
                dwell, flags = dt.timedelta(seconds=30), ["short_dwell"]
            elif roll < SHORT_DWELL_SHARE + FAR_CHECKIN_SHARE and vlat is not None:
                vlat, flags = vlat + 0.045, ["far_from_lift"]  # about 5 km north of the lift
            tier = "quarterly" if (day.toordinal() // 15) % 6 == eid % 6 else "half_monthly"
            visits.append(Visit(elevator_id=eid, maintenance_unit_id=unit, tier=tier, planned_date=day, state=Visit.State.CHECKED_OUT,
                                checked_in_at=start, check_in_method=Visit.Method.QR, latitude=vlat, longitude=vlon,
                                accuracy_m=round(r.uniform(5, 40), 1) if vlat is not None else None,
                                checked_out_at=start + dwell, received_at=start + dwell, flags=flags, results={}, generated=True))
            n += 1
            day -= dt.timedelta(days=r.randint(12, 15))
        # the deeper tiers done before the window (a yearly one within the year, a half-yearly one within the half
        # year when the yearly one is older), so the planner spreads their next due dates instead of finding every
        # lift's yearly visit due today
        yearly_ago = r.randint(HISTORY_DAYS + 1, 350)
        deeper = [("yearly", yearly_ago)] + ([("half_yearly", r.randint(HISTORY_DAYS + 1, 170))] if yearly_ago > 170 else [])
        for tier, ago in deeper:
            start = dt.datetime.combine(today - dt.timedelta(days=ago), dt.time(r.randint(8, 13), r.randint(0, 59)), tzinfo=tz)
            dwell = dt.timedelta(minutes=r.randint(90, 180))
            visits.append(Visit(elevator_id=eid, maintenance_unit_id=unit, tier=tier, planned_date=start.date(),
                                state=Visit.State.CHECKED_OUT, checked_in_at=start, check_in_method=Visit.Method.QR,
                                latitude=lat, longitude=lon, accuracy_m=round(r.uniform(5, 40), 1) if lat is not None else None,
                                checked_out_at=start + dwell, received_at=start + dwell, flags=[], results={}, generated=True))
        if len(visits) >= 50000:
            flush()
    flush()
    _history_of_new(Visit, "generated")
    log(f"maintenance visits: {total} generated for {len(lifts)} lifts ({len(late_units)} of {len(units)} units run late)")
    return total


def generate_policies(today: dt.date | None = None, log: Log = lambda m: None) -> tuple[int, int]:
    """Annual policies per (insurer, use unit) (see the module docstring). Returns ``(policies, lifts covered today)``."""
    today = today or timezone.localdate()
    if Policy.objects.filter(generated=True).exists():
        return 0, 0
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    qs = (Elevator.objects.filter(status=Elevator.Status.IN_USE, insurer__isnull=False, use_unit__isnull=False)
          .values_list("insurer_id", "use_unit_id", "id").order_by("id"))
    for ins, uu, eid in qs.iterator(chunk_size=20000):
        groups[(ins, uu)].append(eid)
    policies: list[Policy] = []
    members: dict[str, list[int]] = {}
    covered_today = 0
    for (ins, uu), ids in sorted(groups.items()):
        r = _rng("policy", ins, uu)
        anniversary = (r.randint(1, 12), r.randint(1, 28))
        lapsed = r.random() < LAPSED_SHARE
        for year in range(FIRST_POLICY_YEAR, today.year + 1):
            start = dt.date(year, *anniversary)
            end = dt.date(year + 1, *anniversary) - dt.timedelta(days=1)
            if start > today or (lapsed and end >= today):
                continue  # not yet started / the lapsed group did not renew
            no = f"PDZA{year}{ins:04d}{uu:07d}"
            policies.append(Policy(insurer_id=ins, insured_party_id=uu, policy_no=no, start_date=start, end_date=end,
                                   limit_per_person=Decimal(150000), limit_per_accident=Decimal(1500000),
                                   premium=Decimal(1300) * len(ids), generated=True))
            members[no] = ids
            if start <= today <= end:
                covered_today += len(ids)
    with transaction.atomic():
        _insert(Policy, policies)
        _history_of_new(Policy, "generated")
        ids_by_no = dict(Policy.objects.filter(generated=True).values_list("policy_no", "id"))
        through = Policy.elevators.through
        _insert(through, [through(policy_id=ids_by_no[no], elevator_id=e) for no, es in members.items() for e in es])
    log(f"insurance policies: {len(policies)} generated; {covered_today} lifts covered today")
    return len(policies), covered_today


def generate_entrapments(now: dt.datetime | None = None, log: Log = lambda m: None) -> int:
    """:data:`ENTRAPMENTS` long entrapments on insured lifts (idempotent by key) and the claim suggestions."""
    from liftsafe.emergency import services as em
    from liftsafe.emergency.models import EmergencyCase

    now = now or timezone.now()
    today = timezone.localdate(now)
    candidates = list(Policy.objects.filter(generated=True, start_date__lte=today - dt.timedelta(days=30), end_date__gte=today)
                      .order_by("id").values_list("id", flat=True)[:2000])
    made = 0
    for i in range(ENTRAPMENTS):
        key = f"demo-insurance-entrapment-{i}"
        if EmergencyCase.objects.filter(milestones__idempotency_key=key).exists() or not candidates:
            continue
        r = _rng("entrapment", i)
        policy = Policy.objects.get(pk=r.choice(candidates))
        lifts = policy.elevators.filter(contracts__end_date__isnull=True, contracts__start_date__lte=today).distinct().order_by("id")
        n = lifts.count()
        if not n:
            continue  # no maintenance unit to dispatch to
        elevator = lifts[r.randrange(n)]
        # within the intake's accepted past (7 days, rule intake_max_past_age_s)
        released = now - dt.timedelta(days=r.randint(0, 4), minutes=r.randint(30, 600))
        trapped = dt.timedelta(minutes=r.choice([35, 50, 70, 95, 110, 140, 185]))
        received = released - trapped
        res = em.intake_alarm(elevator, channel="phone_96333", case_type="entrapment", received_at=received, idempotency_key=key,
                              details={"generated": True}, trapped_count=r.randint(1, 4))
        case = res.case
        if case.released_at is None:
            em.dispatch_case(None, case, 1, at=received + dt.timedelta(minutes=1))
            em.record_milestone(None, case, "arrived", at=received + dt.timedelta(minutes=r.randint(15, 28)))
            em.record_milestone(None, case, "released", at=released, released_count=case.trapped_count or 1)
            em.record_milestone(None, case, "completed", at=released + dt.timedelta(minutes=10))
        made += 1
    log(f"long entrapments (generated): {made}")
    return made


def generate(log: Log = lambda m: None) -> MaintenanceDemoResult:
    """Everything above, in order; a second run creates nothing."""
    from liftsafe.maintenance.mta_planned import import_planned_work

    from .services import MTA_SOURCE

    out = MaintenanceDemoResult()
    mta = import_planned_work(source=MTA_SOURCE)  # real records first: the MTA's 2023 planned work on its units
    out.mta_visits = mta.created
    log(f"MTA planned-work tickets: {mta.created} visits imported ({mta.existing} already), skipped {dict(mta.skipped)}")
    out.visits = generate_visits(log=log)
    out.policies, out.covered = generate_policies(log=log)
    out.cases = generate_entrapments(log=log)
    out.claims = claims_suggest(days=60).created
    log(f"insurance claim suggestions: {out.claims} created")
    return out
