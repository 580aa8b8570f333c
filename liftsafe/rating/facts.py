"""The platform facts a sheet's metrics read, per maintenance unit and period, each with its evidence list.

Every definition comes from the app that owns it, never restated here:

- emergency (docs/domain §3.4, §3.6): :data:`liftsafe.emergency.domain.ENTRAPMENT_Q`, ``FAULT_Q``,
  :func:`~liftsafe.emergency.domain.late_arrival_q`;
- maintenance (docs/domain §15.1): :func:`liftsafe.maintenance.domain.is_overdue`, a visit's evidence ``flags``;
- inspection (docs/domain §6): ``liftsafe.inspection.models.PASSING`` / ``FAILING``, record kinds (first
  inspections = supervision and periodic, re-inspections excluded; docs/domain §15.4 Shenzhen 定检一次合格率);
- hazards (docs/domain §7): ``liftsafe.hazards.models.Level.MAJOR``, ``State`` (leads and dismissed leads are not hazards).

The lifts of a unit in a period are those with a maintenance contract of the unit in force on any day of it.
A metric with no data to judge (a rate with no inspections) is ``None`` = unknown.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from liftsafe.core.models import Profile, Role
from liftsafe.core.zones import default_zone
from liftsafe.emergency import domain as em_domain
from liftsafe.emergency.models import EmergencyCase
from liftsafe.hazards.models import Hazard, Level as HazardLevel, State as HazardState
from liftsafe.inspection.models import FAILING, PASSING, InspectionRecord, Kind as InspectionKind
from liftsafe.maintenance import domain as mt_domain
from liftsafe.maintenance.models import Visit
from liftsafe.registry.models import Elevator, MaintenanceContract

from .domain import METRICS

EVIDENCE_LIMIT = 200  # evidence rows kept per item (the count is exact; the list shows the first 200)


def _ev(kind: str, pk: int, label: str, url_name: str, *args) -> dict:
    return {"kind": kind, "id": pk, "label": label, "url": reverse(url_name, args=args or [pk])}


def unit_lift_ids(unit_id: int, start: dt.date, end: dt.date):
    """Elevators with a contract of ``unit_id`` in force on any day of ``[start, end]`` (scrapped ones excluded), as
    a subquery of elevator ids (a unit may hold tens of thousands of lifts: never a literal id list)."""
    return (MaintenanceContract.objects.filter(maintenance_unit_id=unit_id, start_date__lte=end)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
            .exclude(elevator__status=Elevator.Status.SCRAPPED)
            .values("elevator_id"))


def compute(unit_id: int, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> tuple[dict, dict]:
    """``(values, evidence)`` for every metric of :data:`~liftsafe.rating.domain.METRICS` over ``[start, end]``
    (inclusive dates, the deployment's time zone). Non-computable metrics are ``None``."""
    tz = default_zone()
    t0 = timezone.make_aware(dt.datetime.combine(start, dt.time.min), tz)
    t1 = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min), tz)
    now = min(now or timezone.now(), t1)
    lifts = unit_lift_ids(unit_id, start, end)
    n = Elevator.objects.filter(pk__in=lifts).count()
    values: dict = {m: None for m in METRICS}
    ev: dict[str, list] = {}
    values["lifts"] = float(n)
    months = max(1.0, ((end - start).days + 1) / 30.4375)

    workers = Profile.objects.filter(organisation_id=unit_id, role=Role.MAINTENANCE_UNIT, user__is_active=True).count()
    values["lifts_per_worker"] = (n / workers) if (workers and n) else None
    values["insured_lifts"] = float(Elevator.objects.filter(pk__in=lifts, insurer__isnull=False).count()) if n else None

    cases = EmergencyCase.objects.filter(elevator_id__in=lifts, received_at__gte=t0, received_at__lt=t1)
    if n:
        ent = list(cases.filter(em_domain.ENTRAPMENT_Q).values_list("pk", "order_number", "received_at")[:EVIDENCE_LIMIT])
        values["entrapments"] = float(cases.filter(em_domain.ENTRAPMENT_Q).count())
        ev["entrapments"] = [_ev("case", pk, f"{num} {at:%Y-%m-%d}", "emergency:case_detail") for pk, num, at in ent]
        faults = cases.filter(em_domain.FAULT_Q)
        values["faults"] = float(faults.count())
        values["faults_per_lift_month"] = values["faults"] / n / months
        ev["faults"] = ev["faults_per_lift_month"] = [
            _ev("case", pk, f"{num} {at:%Y-%m-%d}", "emergency:case_detail")
            for pk, num, at in faults.values_list("pk", "order_number", "received_at")[:EVIDENCE_LIMIT]]
        late = cases.filter(em_domain.late_arrival_q(now))
        values["late_arrivals"] = float(late.count())
        ev["late_arrivals"] = [_ev("case", pk, f"{num} {at:%Y-%m-%d}", "emergency:case_detail")
                               for pk, num, at in late.values_list("pk", "order_number", "received_at")[:EVIDENCE_LIMIT]]

        # maintenance: lifts overdue at the end of the period (maintenance.domain.is_overdue), flagged visits
        last = dict(Visit.objects.filter(elevator_id__in=lifts, checked_out_at__lt=t1, checked_out_at__isnull=False)
                    .values("elevator_id").annotate(m=Max("checked_out_at")).values_list("elevator_id", "m"))
        in_use = Elevator.objects.filter(pk__in=lifts, status=Elevator.Status.IN_USE).values_list("pk", "source_id")
        overdue = [(pk, sid) for pk, sid in in_use
                   if mt_domain.is_overdue(timezone.localtime(last[pk], tz).date() if pk in last else None, end)]
        values["overdue_lifts"] = float(len(overdue))
        ev["overdue_lifts"] = [_ev("elevator", pk, sid, "registry:elevator_detail") for pk, sid in overdue[:EVIDENCE_LIMIT]]
        visits = Visit.objects.filter(maintenance_unit_id=unit_id, elevator_id__in=lifts, checked_out_at__gte=t0, checked_out_at__lt=t1)
        done = visits.count()
        flagged = visits.exclude(flags=[])
        nflag = flagged.count()
        values["flagged_visits"] = float(nflag)
        values["visits_not_on_site_pct"] = (100.0 * nflag / done) if done else None
        ev["flagged_visits"] = ev["visits_not_on_site_pct"] = [
            _ev("visit", pk, f"#{pk} {at:%Y-%m-%d}", "maintenance:visit")
            for pk, at in flagged.values_list("pk", "checked_out_at")[:EVIDENCE_LIMIT]]

        # inspection: first inspections (supervision, periodic) in the period; re-inspections are not first passes
        recs = InspectionRecord.objects.filter(elevator_id__in=lifts, inspected_on__gte=start, inspected_on__lte=end)
        first = recs.filter(kind__in=[InspectionKind.PERIODIC, InspectionKind.SUPERVISION])
        total = first.count()
        values["lifts_inspected"] = float(recs.values("elevator_id").distinct().count())
        failed_first = first.filter(conclusion__in=[c.value for c in FAILING])
        fev = [_ev("inspection", pk, f"{sid} {on:%Y-%m-%d}", "inspection:elevator_panel", eid)
               for pk, sid, on, eid in failed_first.values_list("pk", "elevator__source_id", "inspected_on", "elevator_id")[:EVIDENCE_LIMIT]]
        values["failed_first_inspections"] = float(failed_first.values("elevator_id").distinct().count())
        ev["failed_first_inspections"] = fev
        if total:
            passed = first.filter(conclusion__in=[c.value for c in PASSING]).count()
            values["first_pass_rate"] = passed / total
            values["first_pass_shortfall_pct"] = 100.0 * (1 - passed / total)
            ev["first_pass_rate"] = ev["first_pass_shortfall_pct"] = fev
        all_recs = recs.count()
        if all_recs:
            failed_all = recs.filter(conclusion__in=[c.value for c in FAILING])
            values["failed_inspection_ratio"] = failed_all.count() / all_recs
            ev["failed_inspection_ratio"] = [
                _ev("inspection", pk, f"{sid} {on:%Y-%m-%d}", "inspection:elevator_panel", eid)
                for pk, sid, on, eid in failed_all.values_list("pk", "elevator__source_id", "inspected_on", "elevator_id")[:EVIDENCE_LIMIT]]

        hz = Hazard.objects.filter(elevator_id__in=lifts, level=HazardLevel.MAJOR, filed_at__gte=t0, filed_at__lt=t1) \
            .exclude(state__in=[HazardState.LEAD, HazardState.DISMISSED])
        values["serious_hazards"] = float(hz.values("elevator_id").distinct().count())
        ev["serious_hazards"] = [_ev("hazard", pk, title[:60], "hazards:detail") for pk, title in hz.values_list("pk", "title")[:EVIDENCE_LIMIT]]
    else:
        values["lifts_inspected"] = 0.0
    for m, (_label, computable, _app) in METRICS.items():
        if not computable:
            values[m] = None
    return values, ev
