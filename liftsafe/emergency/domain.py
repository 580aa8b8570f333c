"""Emergency-response domain facts: one definition each, owned here (pure: no user, no HTTP, no queries).

Every module that counts or judges cases imports these — reports (indicators),
hazards (the "N entrapments in D days" lead), the board, escalation and every
later module — so a fact cannot mean two things. Each fact comes twice, kept
side by side: a Python predicate on values, and a Django ``Q`` / expression on
:class:`~liftsafe.emergency.models.EmergencyCase` fields (its cached
first-occurrence times ``dispatched_at``, ``responded_at``, ``arrived_at``).

- *false alarm* (误报): a case closed as false alarm or cancelled — the call was
  not about a real fault (docs/domain §3.5: 误报/取消 are not counted as faults);
- *fault* (故障): a case of type entrapment or fault report that is not a false
  alarm (enquiries are not faults) — CPASE M001-2015 故障次数, docs/domain §3.6;
- *entrapment* (困人): a fault of type entrapment (so never a false alarm);
- *arrival limit*: 30 min in urban areas (直辖市/设区的市), 60 min elsewhere
  (TSG T5002-2017 Art. 5, docs/domain §3.4; rules ``rescue_arrival_limit_urban_s`` /
  ``rescue_arrival_limit_other_s``);
- *late response*: no response within ``dispatch_response_limit_s`` (3 min) of
  the dispatch (docs/domain §3.4, Shandong 96333 KPI);
- *late arrival*: an entrapment with no arrival within the arrival limit of the
  dispatch (fault reports have no arrival limit).

Times are aware datetimes; limits are seconds.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _l

from liftsafe.rules import rule

from .models import CaseType, State

FALSE_ALARM_STATES = (State.FALSE_ALARM, State.CANCELLED)
FAULT_TYPES = (CaseType.ENTRAPMENT, CaseType.FAULT_REPORT)

# --- query expressions (EmergencyCase fields) -----------------------------------------------------------
FALSE_ALARM_Q = Q(state__in=[s.value for s in FALSE_ALARM_STATES])
FAULT_Q = ~FALSE_ALARM_Q & Q(case_type__in=[t.value for t in FAULT_TYPES])
ENTRAPMENT_Q = FAULT_Q & Q(case_type=CaseType.ENTRAPMENT)


# --- predicates -------------------------------------------------------------------------------------------
def is_false_alarm(state: str) -> bool:
    """A case closed as false alarm or cancelled (:data:`FALSE_ALARM_Q`)."""
    return state in FALSE_ALARM_STATES


def is_fault(case_type: str, state: str) -> bool:
    """An entrapment or fault report that is not a false alarm (:data:`FAULT_Q`)."""
    return case_type in FAULT_TYPES and not is_false_alarm(state)


def is_entrapment(case_type: str, state: str) -> bool:
    """A fault of type entrapment, false alarms excluded (:data:`ENTRAPMENT_Q`)."""
    return case_type == CaseType.ENTRAPMENT and is_fault(case_type, state)


# --- limits ----------------------------------------------------------------------------------------------
def arrival_limit_s(urban: bool) -> int:
    """The arrival limit in seconds: urban 30 min, other areas 60 min (TSG T5002-2017 Art. 5)."""
    return int(rule("rescue_arrival_limit_urban_s" if urban else "rescue_arrival_limit_other_s"))


def arrival_limit_expr(urban_field: str = "elevator__urban"):
    """:func:`arrival_limit_s` as a database expression over the boolean ``urban_field`` (seconds)."""
    return Case(When(**{urban_field: True}, then=Value(arrival_limit_s(True))),
                default=Value(arrival_limit_s(False)), output_field=IntegerField())


def response_limit_s() -> int:
    """The response limit in seconds after a dispatch (``dispatch_response_limit_s``, 3 min)."""
    return int(rule("dispatch_response_limit_s"))


def is_late_response(dispatched_at: dt.datetime, responded_at: dt.datetime | None, until: dt.datetime) -> bool:
    """Responded more than :func:`response_limit_s` after ``dispatched_at`` — or not responded and
    ``until`` (now, or the next dispatch) is already past that."""
    return ((responded_at or until) - dispatched_at).total_seconds() > response_limit_s()


def is_late_arrival(case_type: str, urban: bool, dispatched_at: dt.datetime, arrived_at: dt.datetime | None,
                    until: dt.datetime) -> bool:
    """An entrapment reached more than :func:`arrival_limit_s` after ``dispatched_at`` (or not yet, and
    ``until`` is past that). Other case types have no arrival limit."""
    if case_type != CaseType.ENTRAPMENT:
        return False
    return ((arrived_at or until) - dispatched_at).total_seconds() > arrival_limit_s(urban)


def late_response_q(now: dt.datetime) -> Q:
    """Cases whose first dispatch got no response within the limit (the query form of :func:`is_late_response`
    on the cached first-occurrence times)."""
    limit = dt.timedelta(seconds=response_limit_s())
    return Q(dispatched_at__isnull=False) & (
        Q(responded_at__isnull=True, dispatched_at__lt=now - limit)
        | Q(responded_at__isnull=False, responded_at__gt=_plus("dispatched_at", limit)))


def late_arrival_q(now: dt.datetime) -> Q:
    """Entrapments whose first dispatch was not followed by an arrival within the urban/other limit
    (the query form of :func:`is_late_arrival`)."""
    q = Q(pk__in=[])
    for urban in (True, False):
        limit = dt.timedelta(seconds=arrival_limit_s(urban))
        q |= Q(elevator__urban=urban) & (Q(arrived_at__isnull=True, dispatched_at__lt=now - limit)
                                         | Q(arrived_at__isnull=False, arrived_at__gt=_plus("dispatched_at", limit)))
    return Q(case_type=CaseType.ENTRAPMENT, dispatched_at__isnull=False) & q


# --- trapped duration ------------------------------------------------------------------------------------
def trapped_duration_s(received_at: dt.datetime | None, released_at: dt.datetime | None) -> float | None:
    """How long passengers were trapped, in seconds: from the call received (the first moment the platform
    knows of the entrapment) to their release (docs/domain §3.3 steps 1 and 6; the ``total`` duration of
    issue 3). None while either time is missing. Used by insurance claim bands (docs/domain §15.7)."""
    if received_at is None or released_at is None:
        return None
    return max(0.0, (released_at - received_at).total_seconds())


def trapped_at_least_q(seconds: float) -> Q:
    """Released entrapments trapped for at least ``seconds`` (the query form of :func:`trapped_duration_s`
    on the cached ``received_at`` / ``released_at``)."""
    return ENTRAPMENT_Q & Q(released_at__isnull=False, released_at__gte=_plus("received_at", dt.timedelta(seconds=seconds)))


def _plus(field: str, delta: dt.timedelta):
    from django.db.models import DateTimeField, ExpressionWrapper, F

    return ExpressionWrapper(F(field) + Value(delta), output_field=DateTimeField())


# --------------------------------------------------------------------------- responder proof on site (issue 15)
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (mean Earth radius 6,371,008.8 m)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


#: why a location was judged missing/unreliable: code (stored in ``FieldRecord.location_reason``) → label
LOCATION_REASONS = {
    "not_given": _l("the phone gave no location"),
    "partial": _l("latitude without longitude (or the reverse)"),
    "out_of_range": _l("coordinates outside the globe"),
    "no_accuracy": _l("the phone stated no accuracy"),
    "accuracy_not_positive": _l("stated accuracy zero or negative"),
    "accuracy_too_coarse": _l("stated accuracy coarser than the limit"),
}


@dataclass(frozen=True)
class LocationAssessment:
    """Result of :func:`assess_location`: ``check`` (a ``LocationCheck`` value), ``reason`` (a key of
    :data:`LOCATION_REASONS` or ""), ``distance_m`` (metres, None when not computable), and the location kept
    (``latitude``/``longitude``/``accuracy_m`` as given when numeric and finite, else None)."""

    check: str
    reason: str
    distance_m: float | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None


def _finite(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def assess_location(latitude, longitude, accuracy_m, lift_latitude, lift_longitude, *,
                    radius_m: float, max_accuracy_m: float) -> LocationAssessment:
    """Judge a responder's phone location against the lift (issue 15; docs/domain §15.1 on-site proof).

    Never raises — a rescue is never blocked by its location. In order:
    no latitude and no longitude → ``missing`` (``not_given``); only one of them → ``missing`` (``partial``);
    outside ±90/±180 → ``unreliable`` (``out_of_range``, location not kept); accuracy missing → ``unreliable``
    (``no_accuracy``); accuracy ≤ 0 (``accuracy_not_positive``) or > ``max_accuracy_m`` (``accuracy_too_coarse``)
    → ``unreliable``; the lift without coordinates → ``lift_unlocated``; otherwise ``far`` when the distance is
    above ``radius_m`` metres, else ``near``. The distance is computed whenever both points are valid, also for an
    unreliable accuracy (shown, not judged). Rules ``arrival_far_radius_m`` / ``arrival_accuracy_max_m``.
    """
    lat, lon, acc = _finite(latitude), _finite(longitude), _finite(accuracy_m)
    if lat is None and lon is None:
        return LocationAssessment("missing", "not_given", None, None, None, acc)
    if lat is None or lon is None:
        return LocationAssessment("missing", "partial", None, lat, lon, acc)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return LocationAssessment("unreliable", "out_of_range", None, None, None, acc)
    lift_lat, lift_lon = _finite(lift_latitude), _finite(lift_longitude)
    distance = round(haversine_m(lat, lon, lift_lat, lift_lon), 1) if lift_lat is not None and lift_lon is not None else None
    if acc is None:
        return LocationAssessment("unreliable", "no_accuracy", distance, lat, lon, None)
    if acc <= 0:
        return LocationAssessment("unreliable", "accuracy_not_positive", distance, lat, lon, acc)
    if acc > max_accuracy_m:
        return LocationAssessment("unreliable", "accuracy_too_coarse", distance, lat, lon, acc)
    if distance is None:
        return LocationAssessment("lift_unlocated", "", None, lat, lon, acc)
    return LocationAssessment("far" if distance > radius_m else "near", "", distance, lat, lon, acc)
