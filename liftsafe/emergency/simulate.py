"""Demo traffic: a live stream of simulated cases so the demo board is never empty.

:func:`step` (the ``demo_only`` periodic job ``emergency.demo_stream``, every
4 s under ``liftsafe demo``) opens a new case on a random registered elevator
about every 8 s and moves the open simulated cases along the workflow through
the real services (intake → dispatch → responded → arrived → released →
completed), with delays drawn per case from ranges near the published
averages (docs/domain §3.4: arrival ~10-15 min, on-site rescue ~5-8 min), shortened
by :data:`SPEED` so that a visitor sees cases move. About one dispatch in ten
is never acknowledged, so the escalation job has real work; a few cases are
false alarms. Simulated cases carry ``source_ref`` ``sim-…`` and
``details.simulated = true``; the phone numbers are the well-known test
number range 138-0013-xxxx.

The stream is also the simulated operator for the cases the demo's IoT feed
opens (``source_ref`` ``monitoring.alarm:…``): they are dispatched after a
short call-taker delay (10-50 s, not sped up) and moved along like the
others. New simulated cases are opened only while fewer than
:data:`MAX_OPEN_SIMULATED` demo cases are open, and level 3 always
acknowledges, so the number of open cases stays bounded in a long demo.
Cases opened by a visitor by hand are left to the visitor.
"""
from __future__ import annotations

import datetime as dt
import random

from django.core.exceptions import ValidationError
from django.db.models import Max, Min
from django.utils import timezone

from liftsafe.registry.models import Elevator

from liftsafe.core.messages import encode

from . import messages as msg
from . import services
from .models import OPEN_STATES, EmergencyCase, State

SPEED = 6.0  # demo time runs this many times faster than the published averages
MAX_OPEN_SIMULATED = 12  # open demo cases above which the stream opens no new simulated case
#: source_ref prefixes of the cases the simulated operator works on: its own and the IoT feed's
DEMO_SOURCES = ("sim-", "monitoring.alarm:")
_rng = random.SystemRandom()


def demo_cases():
    """Queryset of the open cases the demo operator handles (source_ref in :data:`DEMO_SOURCES`)."""
    from django.db.models import Q

    q = Q()
    for prefix in DEMO_SOURCES:
        q |= Q(source_ref__startswith=prefix)
    return EmergencyCase.objects.filter(q, state__in=[s.value for s in OPEN_STATES])


def _delay(case_pk: int, stage: str, lo: float, hi: float) -> float:
    """Per-case, per-stage delay in seconds (stable across runs: seeded by case and stage)."""
    r = random.Random(f"{case_pk}:{stage}")
    return r.uniform(lo, hi) / SPEED


def _random_elevator() -> Elevator | None:
    """A random in-use passenger lift (3110/3210: 96333 calls are about passengers) without an open case."""
    from liftsafe.registry.codes import PASSENGER_LIFT_CATEGORIES

    lifts = Elevator.objects.filter(status=Elevator.Status.IN_USE, category__in=PASSENGER_LIFT_CATEGORIES)
    bounds = lifts.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return None
    for _ in range(5):
        pk = _rng.randint(bounds["lo"], bounds["hi"])
        e = lifts.filter(pk__gte=pk).order_by("pk").first()
        if e is not None and not EmergencyCase.objects.filter(elevator=e, state__in=[s.value for s in OPEN_STATES]).exists():
            return e
    return None


def open_one(now: dt.datetime | None = None) -> EmergencyCase | None:
    """Open one simulated case (entrapment 60 %, fault report 30 %, enquiry 10 %) on a random elevator."""
    e = _random_elevator()
    if e is None:
        return None
    case_type = _rng.choices(["entrapment", "fault_report", "enquiry"], [6, 3, 1])[0]
    channel = _rng.choices(["phone_96333", "car_alarm", "iot", "qr_report", "transfer_12345", "transfer_119"], [50, 20, 20, 5, 4, 1])[0]
    trapped = _rng.choices([1, 2, 3, 4], [55, 25, 12, 8])[0] if case_type == "entrapment" else None
    r = services.intake_alarm(e, channel=channel, case_type=case_type, received_at=now or timezone.now(),
                              trapped_count=trapped, injured_count=0 if trapped else None,
                              car_position=str(_rng.randint(1, 30)) + "F" if trapped else "",
                              caller_phone=f"1380013{_rng.randint(0, 9999):04d}" if channel in ("phone_96333", "transfer_12345") else "",
                              source_ref=f"sim-{_rng.getrandbits(32):08x}", details={"simulated": True})
    return r.case


def advance(case: EmergencyCase, now: dt.datetime) -> str | None:
    """Move one simulated case one step if its (per-case) delay has passed; returns the milestone recorded."""
    d = services.derive(case.milestones.all())
    last = max([t for t in (d.received_at, d.level_dispatched_at, d.responded_at, d.arrived_at, d.released_at) if t])
    waited = (now - last).total_seconds()
    pk = case.pk
    try:
        if d.state == State.RECEIVED:
            if case.case_type == "enquiry" and waited >= _delay(pk, "enq", 60, 240):
                services.record_milestone(None, case, "completed", now, note=encode(msg.SIM_ANSWERED))
                return "completed"
            if waited >= random.Random(f"{pk}:dispatch").uniform(10, 50):  # call-taker delay, real time
                for level in (1, 2, 3):
                    try:
                        services.dispatch_case(None, case, level, at=now)
                        return "dispatched"
                    except ValidationError:
                        continue
        elif d.state == State.DISPATCHED:
            if d.level < 3 and random.Random(f"{pk}:{d.level}:silent").random() < 0.1:
                return None  # this responder never acknowledges: the escalation job takes over
            if random.Random(f"{pk}:fa").random() < 0.05 and waited >= _delay(pk, "fa", 60, 180):
                services.record_milestone(None, case, "false_alarm", now, note=encode(msg.SIM_FALSE_ALARM))
                return "false_alarm"
            if waited >= _delay(pk, f"resp{d.level}", 20, 170):
                services.record_milestone(None, case, "responded", now)
                return "responded"
        elif d.state == State.RESPONDED and waited >= _delay(pk, f"arr{d.level}", 5 * 60, 25 * 60):
            services.record_milestone(None, case, "arrived", now)
            return "arrived"
        elif d.state == State.ARRIVED:
            if case.case_type == "entrapment" and waited >= _delay(pk, "rel", 2 * 60, 12 * 60):
                services.record_milestone(None, case, "released", now, released_count=case.trapped_count or 1)
                return "released"
            if case.case_type != "entrapment" and waited >= _delay(pk, "fix", 10 * 60, 40 * 60):
                services.record_milestone(None, case, "completed", now)
                return "completed"
        elif d.state == State.RELEASED and waited >= _delay(pk, "done", 60, 300):
            if not case.cause_class:
                cls, item = random.Random(f"{pk}:cause").choice([("external", "power_cut"), ("human", "rubbish_blocking_doors"),
                                                                 ("door_system", "door_operator"), ("control_system", "inverter"),
                                                                 ("human", "overload"), ("external", "auto_recovered")])
                services.report_cause(None, case, cls, item)
            services.record_milestone(None, case, "completed", now)
            return "completed"
    except ValidationError:
        return None
    return None


def step(now: dt.datetime | None = None, open_probability: float = 0.5) -> dict:
    """One tick of the demo stream: maybe open a case (while fewer than :data:`MAX_OPEN_SIMULATED` demo
    cases are open), then act as the operator for every open demo case, including the IoT feed's.
    Returns counts ``{"opened", "advanced"}``."""
    now = now or timezone.now()
    out = {"opened": 0, "advanced": 0}
    if (_rng.random() < open_probability and demo_cases().count() < MAX_OPEN_SIMULATED
            and open_one(now) is not None):
        out["opened"] += 1
    for case in demo_cases().select_related("elevator").order_by("received_at", "pk")[:500]:
        if advance(case, now):
            out["advanced"] += 1
    return out
