"""The risk computation: facts of many lifts gathered in bulk (one grouped query per source per chunk),
scored by the configured model (:mod:`liftsafe.risk.config`), stored with a history row on change.

The full (nightly) and the incremental (one lift, after an input changed) recompute run the SAME code —
:func:`recompute` with all ids or with one — so they cannot disagree.

Facts come from the owning apps' definitions (docs/domain §8):

==================== ====================================================================================
factor               raw fact (None = unknown)
==================== ====================================================================================
age                  whole years since ``installation_date`` (None without a date)
entrapments          cases matching ``emergency.domain.ENTRAPMENT_Q`` received in the window
faults               cases matching ``FAULT_Q`` but not entrapments + ``monitoring.domain.FAULT_ALARM_Q``
                     alarms raised in the window
inspection           ``inspection.Validity.state`` (None when unknown / no row)
hazards_open         hazards in ``hazards.models.OPEN_STATES``
hazards_overdue      open hazards past their deadline (``Hazard.is_overdue``'s rule, as a query)
crowded_place        place type in ``registry.codes.CROWDED_PLACE_TYPES`` or ``crowded_place`` (None: no place type
                     and not marked crowded)
maintenance_overdue  ``maintenance.domain.is_overdue`` of the last checked-out visit; None when the platform holds
                     no visit of the lift at all (no maintenance data is not evidence of no maintenance)
maintenance_flagged  visits with evidence flags checked out in the window; None without any visit
unit_grade           :func:`liftsafe.risk.sources.unit_grades` (None: no graded unit)
iot_coverage         True when no active monitoring device is bound
insurance            :func:`liftsafe.risk.sources.insurance_in_force` negated (None today)
==================== ====================================================================================
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from liftsafe.emergency.domain import ENTRAPMENT_Q, FAULT_Q
from liftsafe.emergency.models import EmergencyCase
from liftsafe.hazards.models import OPEN_STATES, Hazard
from liftsafe.inspection.models import Validity, ValidityState
from liftsafe.maintenance.domain import is_overdue
from liftsafe.maintenance.models import Visit
from liftsafe.monitoring.domain import FAULT_ALARM_Q
from liftsafe.monitoring.models import Alarm, MonitoringDevice
from liftsafe.registry.codes import CROWDED_PLACE_TYPES
from liftsafe.registry.models import Elevator

from . import sources
from .config import Model, model as shipped_model
from .models import KeyPeriod, RiskChange, RiskScore, UpliftKind

EVIDENCE_MAX = 20  # evidence references kept per factor (the newest)


def _years(installed: dt.date | None, today: dt.date) -> int | None:
    if installed is None:
        return None
    return today.year - installed.year - ((today.month, today.day) < (installed.month, installed.day))


def _ids_by(qs, key="elevator_id", order="-pk") -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for eid, pk in qs.order_by(key, order).values_list(key, "pk"):
        if len(out[eid]) < EVIDENCE_MAX:
            out[eid].append(pk)
    return out


def _counts(qs, key="elevator_id") -> dict[int, int]:
    return dict(qs.values(key).annotate(n=Count("pk")).values_list(key, "n"))


def gather(ids: list[int], now: dt.datetime, m: Model) -> dict[int, dict[str, tuple]]:
    """``{elevator_id: {factor key: (raw fact or None, evidence dict)}}`` for ``ids`` (one grouped query per source)."""
    today = timezone.localdate(now)
    since = now - dt.timedelta(days=m.window_days)
    elev = {pk: (inst, pt, crowded) for pk, inst, pt, crowded in
            Elevator.objects.filter(pk__in=ids).values_list("pk", "installation_date", "place_type", "crowded_place")}
    cases = EmergencyCase.objects.filter(elevator_id__in=ids, received_at__gte=since, received_at__lte=now)
    entrap_q = cases.filter(ENTRAPMENT_Q)
    fault_q = cases.filter(FAULT_Q).exclude(ENTRAPMENT_Q)
    alarm_q = Alarm.objects.filter(FAULT_ALARM_Q, elevator_id__in=ids, raised_at__gte=since, raised_at__lte=now)
    n_entrap, ev_entrap = _counts(entrap_q), _ids_by(entrap_q)
    n_fault, ev_fault = _counts(fault_q), _ids_by(fault_q)
    n_alarm, ev_alarm = _counts(alarm_q), _ids_by(alarm_q)
    validity = dict(Validity.objects.filter(elevator_id__in=ids).values_list("elevator_id", "state"))
    open_h = Hazard.objects.filter(elevator_id__in=ids, state__in=[s.value for s in OPEN_STATES])
    overdue_h = open_h.filter(deadline__lt=today)
    n_open, ev_open = _counts(open_h), _ids_by(open_h)
    n_over, ev_over = _counts(overdue_h), _ids_by(overdue_h)
    visits = Visit.objects.filter(elevator_id__in=ids)
    last_visit = dict(visits.values("elevator_id").annotate(last=Max("checked_out_at")).values_list("elevator_id", "last"))
    flagged = visits.exclude(flags=[]).filter(checked_out_at__gte=since, checked_out_at__lte=now)
    n_flag, ev_flag = _counts(flagged), _ids_by(flagged)
    devices = set(MonitoringDevice.objects.filter(elevator_id__in=ids, active=True).values_list("elevator_id", flat=True))
    grades = sources.unit_grades(ids, today)
    insured = sources.insurance_in_force(ids, today)
    out = {}
    for pk, (inst, pt, crowded) in elev.items():
        has_visits = pk in last_visit
        last = last_visit.get(pk)
        state = validity.get(pk)
        out[pk] = {
            "age": (_years(inst, today), {"installed": inst.isoformat() if inst else None}),
            "entrapments": (n_entrap.get(pk, 0), {"cases": ev_entrap.get(pk, [])}),
            "faults": (n_fault.get(pk, 0) + n_alarm.get(pk, 0), {"cases": ev_fault.get(pk, []), "alarms": ev_alarm.get(pk, [])}),
            "inspection": (None if state in (None, ValidityState.UNKNOWN) else str(state), {"inspection": pk if state else None}),
            "hazards_open": (n_open.get(pk, 0), {"hazards": ev_open.get(pk, [])}),
            "hazards_overdue": (n_over.get(pk, 0), {"hazards": ev_over.get(pk, [])}),
            "crowded_place": ((pt in CROWDED_PLACE_TYPES or bool(crowded)) if (pt is not None or crowded) else None, {"place_type": pt}),
            "maintenance_overdue": (is_overdue(timezone.localdate(last) if last else None, today) if has_visits else None,
                                    {"last_visit": last.isoformat() if last else None}),
            "maintenance_flagged": (n_flag.get(pk, 0) if has_visits else None, {"visits": ev_flag.get(pk, [])}),
            "unit_grade": (grades[pk][1] if pk in grades else None, {"unit": grades[pk][0] if pk in grades else None}),
            "iot_coverage": (pk not in devices, {}),
            "insurance": (None if pk not in insured else not insured[pk], {}),
        }
    return out


def evaluate(facts: dict[str, tuple], m: Model) -> tuple[dict, float, float]:
    """``(factors JSON, base score in points, unknown share 0..1)`` of one lift's gathered facts.

    A factor whose fact is unknown (or outside its map) has ``value`` None, adds 0 points, and its weight counts
    in the unknown share (docs/risk.md)."""
    factors, score, unknown = {}, 0.0, 0.0
    for f in m.factors:
        raw, evidence = facts.get(f.key, (None, {}))
        v = f.value(raw)
        pts = 0.0 if v is None else round(f.weight * v, 3)
        if v is None:
            unknown += f.weight
        score += pts
        factors[f.key] = {"raw": raw, "value": v, "weight": f.weight, "points": pts,
                          "evidence": {k: e for k, e in evidence.items() if e not in (None, [], {})}}
    total = m.total_weight
    return factors, round(score, 3), round(unknown / total, 4) if total else 1.0


def active_periods(now: dt.datetime) -> list[tuple[KeyPeriod, list[str]]]:
    """Key periods in force at ``now`` (start ≤ now < end) with their areas' paths."""
    out = []
    for p in KeyPeriod.objects.filter(starts_at__lte=now, ends_at__gt=now).prefetch_related("areas").order_by("starts_at", "pk"):
        out.append((p, [a.path for a in p.areas.all()]))
    return out


def apply_uplift(base_score: float, base_colour: str, periods: list[KeyPeriod], m: Model) -> tuple[float, str, KeyPeriod | None]:
    """``(score, colour, period)`` after the strongest uplift among ``periods`` (points: added to the score and
    the colour read from the bands; band: one band up and the score lifted to that band's floor)."""
    best = (base_score, base_colour, None)
    for p in periods:
        if p.uplift_kind == UpliftKind.BAND:
            colour = m.band_up(base_colour)
            score = max(base_score, m.band_floor(colour))
        else:
            score = base_score + p.uplift_points
            colour = m.colour(score)
        if (m.bands_index(colour), score) > (m.bands_index(best[1]), best[0]):
            best = (round(score, 3), colour, p)
    return best


def _changed(a: dict, b: dict) -> dict:
    """The entries of factors ``a`` that differ from ``b`` (a history row keeps only what changed; the first row
    of a lift keeps every factor)."""
    return {k: v for k, v in a.items() if b.get(k) != v}


def _matches(p: KeyPeriod, paths: list[str], area_path: str, place_type: int | None) -> bool:
    return any(area_path.startswith(x) for x in paths) and (not p.place_types or place_type in p.place_types)


def recompute(elevator_ids: Iterable[int] | None = None, *, trigger: str, user=None, now: dt.datetime | None = None,
              key_period: KeyPeriod | None = None, batch: int = 5000, m: Model | None = None) -> dict[str, int]:
    """Recompute and store the risk of ``elevator_ids`` (None = every elevator) as of ``now``.

    Writes :class:`RiskScore` (upsert) and a :class:`RiskChange` for each lift whose colour or factors changed
    (or that had no score yet; the change row keeps the factors that changed, old and new), with ``trigger`` / ``user`` / ``key_period`` as the cause. Idempotent: a second
    run with the same facts writes no history. Returns ``{"lifts": n, "changed": n, <colour>: n, …}``.
    """
    m = m or shipped_model()
    now = now or timezone.now()
    if elevator_ids is None:
        all_ids = list(Elevator.objects.order_by("pk").values_list("pk", flat=True))
    else:
        all_ids = sorted({int(i) for i in elevator_ids})
    periods = active_periods(now)
    counts: dict[str, int] = {"lifts": 0, "changed": 0}
    for i in range(0, len(all_ids), batch):
        chunk = all_ids[i:i + batch]
        with transaction.atomic():
            facts = gather(chunk, now, m)
            meta = {pk: (path, pt, inst) for pk, path, pt, inst in
                    Elevator.objects.filter(pk__in=chunk).values_list("pk", "area__path", "place_type", "installation_date")}
            old = {r.elevator_id: r for r in RiskScore.objects.filter(elevator_id__in=chunk)}
            rows, changes = [], []
            for pk, f in facts.items():
                factors, base, unknown = evaluate(f, m)
                base_colour = m.colour(base)
                path, pt, inst = meta[pk]
                mine = [p for p, paths in periods if _matches(p, paths, path, pt)]
                score, colour, period = apply_uplift(base, base_colour, mine, m)
                age = _years(inst, timezone.localdate(now))
                prev = old.get(pk)
                changed = (prev is None or prev.colour != colour or prev.factors != factors
                           or prev.key_period_id != (period.pk if period else None))
                row = RiskScore(elevator_id=pk, score=score, base_score=base, colour=colour, base_colour=base_colour,
                                colour_since=now if prev is None or prev.colour != colour else prev.colour_since,
                                unknown_share=unknown, factors=factors, key_period=period,
                                replacement=age is not None and age >= m.replacement_age_years,
                                model_version=m.version, computed_at=now)
                rows.append(row)
                counts[colour] = counts.get(colour, 0) + 1
                if changed:
                    changes.append(RiskChange(elevator_id=pk, at=now, trigger=trigger[:64], triggered_by=user,
                                              key_period=key_period or period,
                                              old_colour=prev.colour if prev else "", new_colour=colour,
                                              old_score=prev.score if prev else None, new_score=score,
                                              old_factors=_changed(prev.factors, factors) if prev else {},
                                              new_factors=_changed(factors, prev.factors) if prev else factors))
            RiskScore.objects.bulk_create(rows, update_conflicts=True, unique_fields=["elevator"],
                                          update_fields=["score", "base_score", "colour", "base_colour", "colour_since",
                                                         "unknown_share", "factors", "key_period", "replacement",
                                                         "model_version", "computed_at"])
            RiskChange.objects.bulk_create(changes)
            counts["lifts"] += len(rows)
            counts["changed"] += len(changes)
    return counts


def lifts_of_period(p: KeyPeriod) -> list[int]:
    """Ids of the elevators a key period affects (its areas and sub-areas, its place types)."""
    q = Q(pk__in=[])
    for a in p.areas.all():
        q |= Q(area__path__startswith=a.path)
    qs = Elevator.objects.filter(q)
    if p.place_types:
        qs = qs.filter(place_type__in=p.place_types)
    return list(qs.values_list("pk", flat=True))
