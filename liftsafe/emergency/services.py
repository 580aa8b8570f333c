"""Emergency writes and their invariants (docs/domain §3): intake, dispatch, milestones, cause, escalation.

Every function validates before writing and writes in one transaction.
Errors: :class:`django.core.exceptions.ValidationError` with a field dict
(``{"at": [...]}``) for bad input; ``PermissionDenied`` for a user who may
not do this to a case they can see; ``Http404`` for a case they cannot see.
``user``/``actor`` None means the platform itself (IoT, QR page, the
escalation job, replays).

Invariants:

- one open case per elevator — a partial unique index in the database
  (``emergency_one_open_case_per_elevator``); a concurrent second alarm that
  loses the insert race gets an IntegrityError and attaches to the winner;
- milestones are append-only and the case's state/level/responder are
  rewritten from them (:func:`liftsafe.emergency.selectors.derive`);
- an ``idempotency_key`` is recorded once (unique index); a repeat returns
  the first result;
- notifications go through the outbox (:func:`liftsafe.core.notifications.notify`)
  in the same transaction, so a failing channel never affects the case.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from liftsafe.core.errors import NotFound as Http404  # the domain "not found" (a Http404: pages still answer 404)
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.zones import local_date
from liftsafe.core import flows
from liftsafe.core.history import save_with_history, stamp
from liftsafe.core.messages import encode
from liftsafe.core.notifications import notify
from liftsafe.core.permissions import require, role_allowed
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry.selectors import maintenance_unit_on
from liftsafe.rules import rule

from . import causes, domain
from .domain import haversine_m  # noqa: F401 (re-exported: views and tests call services.haversine_m)
from . import messages as msg
from .models import CLOSED_STATES, ESCALATED_PREFIX, OPEN_STATES, CaseType, Channel, EmergencyCase, EscalationReason, Level, Milestone, State
from .selectors import derive, durations, scope_cases, upload_status_code  # noqa: F401 (re-exported)
from .workflow import CASE_FLOW, MILESTONE_TRANSITIONS
from .workflow import sources as transition_sources

K = Milestone.Kind
_OPEN = [s.value for s in OPEN_STATES]
_LEVEL_KIND = {1: Organisation.Kind.MAINTENANCE_UNIT, 2: Organisation.Kind.RESCUE_STATION, 3: Organisation.Kind.FIRE_BRIGADE}
# which progress milestone may follow which state (docs/domain §3.3 steps 3-6): declared once in workflow.CASE_FLOW
_ALLOWED = {name: set(CASE_FLOW.get(name).sources) for name in MILESTONE_TRANSITIONS}
RESPONDER_KINDS = (K.RESPONDED, K.ARRIVED, K.RELEASED, K.COMPLETED, K.FALSE_ALARM)


@dataclass(frozen=True)
class IntakeResult:
    """Result of :func:`intake_alarm`: the case, whether it was opened by this call, and whether the
    call was a repeat of an earlier submission with the same idempotency key."""

    case: EmergencyCase
    created: bool
    duplicate: bool = False


# --------------------------------------------------------------------------- helpers
def _require_aware(value, field: str) -> None:
    if not isinstance(value, dt.datetime):
        raise ValidationError({field: [_("A date and time is required.")]})
    if timezone.is_naive(value):
        raise ValidationError({field: [_("The time must carry a time zone.")]})


def _is_operator(user) -> bool:
    """The call-taking roles (``case.intake`` of the permission table): operators and admins."""
    return role_allowed(user, "case.intake")


def _require_operator_for(user, elevator: Elevator) -> None:
    """``user`` must be an operator (or admin) whose area covers ``elevator`` (else PermissionDenied / Http404)."""
    scope = scope_of(user)
    if scope.is_admin:
        return
    require(user, "case.intake")
    # same rule as scope_elevators(): the elevator's area lies under the operator's area
    if not (scope.area_path and elevator.area.path.startswith(scope.area_path)):
        raise Http404("elevator not found")


def _visible_case(user, case: EmergencyCase) -> None:
    if user is not None and not scope_cases(scope_of(user), EmergencyCase.objects.filter(pk=case.pk)).exists():
        raise Http404("case not found")


def _lock(case: EmergencyCase | int) -> EmergencyCase:
    pk = case.pk if isinstance(case, EmergencyCase) else case
    # of=("self",): lock the case row only, never the elevator / area rows it joins (on PostgreSQL
    # FOR UPDATE would otherwise serialise every case of an area on the area row)
    return EmergencyCase.objects.select_for_update(of=("self",)).select_related("elevator", "elevator__area").get(pk=pk)


TIME_CACHE_FIELDS = ("dispatched_at", "responded_at", "arrived_at", "released_at", "closed_at")


def apply_time_cache(case: EmergencyCase, d) -> None:
    """Copy the first-occurrence times of :class:`~liftsafe.emergency.selectors.Derived` ``d`` onto ``case`` (no save)."""
    for f in TIME_CACHE_FIELDS:
        setattr(case, f, getattr(d, f))


def _refresh(case: EmergencyCase, milestones: list[Milestone] | None = None) -> None:
    """Rewrite the case's cached columns from its milestones and save (records audit history)."""
    d = derive(case.milestones.all() if milestones is None else milestones)
    case.state, case.level, case.responder_id, case.level_dispatched_at = d.state, d.level, d.responder_id, d.level_dispatched_at
    apply_time_cache(case, d)
    if d.released_count is not None:
        case.released_count = d.released_count
    case.save()


def _after_last(case: EmergencyCase, at: dt.datetime, milestones: list[Milestone]) -> None:
    progress = [m for m in milestones if m.kind not in (K.CALL_ATTACHED, K.ESCALATED)]
    last = max(progress, key=lambda m: (m.at, m.pk)) if progress else None
    if last is not None and at < last.at:
        raise ValidationError({"at": [_("This time (%(at)s) is before the case's last milestone (%(kind)s at %(last)s).")
                                      % {"at": at.isoformat(), "kind": last.kind, "last": last.at.isoformat()}]})


def _existing_key(idempotency_key: str | None) -> Milestone | None:
    if not idempotency_key:
        return None
    pk = Milestone.objects.filter(idempotency_key=idempotency_key).values_list("pk", flat=True).first()
    if pk is None:
        return None
    return Milestone.objects.select_related("case", "case__elevator", "case__elevator__area", "case__responder").get(pk=pk)


def new_order_number(received_at: dt.datetime, area_id: int | None = None) -> str:
    """处置单号: local date of receipt in the case area's zone (``liftsafe.core.zones``; the deployment's for
    None), zero-padded ``YYYYMMDD``, + 8 random hex digits, e.g. ``20261129-3F9A0C21``."""
    day = local_date(received_at, area_id)
    return f"{day.year:04d}{day.month:02d}{day.day:02d}-{secrets.token_hex(4).upper()}"


# --------------------------------------------------------------------------- intake
def intake_alarm(elevator: Elevator, *, channel: str, case_type: str, received_at: dt.datetime, actor=None,
                 details: dict | None = None, source_ref: str = "", caller_phone: str = "",
                 trapped_count: int | None = None, injured_count: int | None = None,
                 idempotency_key: str | None = None, car_position: str = "",
                 special_circumstances: str = "", dispatch: bool = False) -> IntakeResult:
    """Open a case for ``elevator``, or attach this call/alarm to its open case (docs/domain §3.3 step 1).

    Args:
        elevator: the identified elevator (the caller resolved the rescue code / address).
        channel: a :class:`~liftsafe.emergency.models.Channel` value.
        case_type: a :class:`~liftsafe.emergency.models.CaseType` value. An
            entrapment alarm attached to an open fault report upgrades it.
        received_at: when the platform received the alarm (aware datetime).
        actor: the operator taking the call, or None for IoT / QR / replays.
        details: JSON snapshot of anything else the channel sent.
        trapped_count, injured_count: intake checklist (≥ 0); filled in on
            an open case when it did not know them yet.
        idempotency_key: the submission's key; a repeat returns the first
            result with ``duplicate=True`` and records nothing.
        dispatch: also dispatch level 1 (the contracted maintenance unit) in
            the same transaction when the case is not dispatched yet; if no
            level-1 responder is found the case stays ``received`` (the alarm
            is never refused for that) and the operator dispatches by hand.

    Returns:
        :class:`IntakeResult` ``(case, created, duplicate)``. An attached call
        is a ``call_attached`` milestone (counted, never lost). A new case's
        ``area`` is the elevator's area at intake and is never changed later
        (reports count the case in the area where it happened).

    Raises:
        ValidationError: unknown channel / case type, naive or future
            ``received_at``, or (live intake, ``actor`` given) one older than
            the ``intake_max_past_age_s`` rule; negative counts (field-named).
        PermissionDenied / Http404: ``actor`` is not an operator covering the elevator.
    """
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel %(v)r.") % {"v": channel}]
    if case_type not in CaseType.values:
        errors["case_type"] = [_("Unknown case type %(v)r.") % {"v": case_type}]
    for name, val in (("trapped_count", trapped_count), ("injured_count", injured_count)):
        if val is not None and (not isinstance(val, int) or val < 0 or val > 500):
            errors[name] = [_("Must be a whole number between 0 and 500.")]
    if errors:
        raise ValidationError(errors)
    _require_aware(received_at, "received_at")
    if received_at > timezone.now() + dt.timedelta(seconds=rule("intake_future_skew_s")):
        raise ValidationError({"received_at": [_("The time is in the future.")]})
    if actor is not None and received_at < timezone.now() - dt.timedelta(seconds=rule("intake_max_past_age_s")):
        raise ValidationError({"received_at": [_("The time is more than %(days)d days in the past.") % {
            "days": rule("intake_max_past_age_s") // 86400}]})  # live intake only: replays (no actor) keep history
    if actor is not None:
        _require_operator_for(actor, elevator)
    if (m := _existing_key(idempotency_key)) is not None:
        return IntakeResult(m.case, created=False, duplicate=True)
    details = dict(details or {})
    # read outside the write transaction (SQLite holds its write lock for the whole IMMEDIATE transaction)
    level1 = responder_for(elevator, 1, local_date(received_at, elevator.area_id)) if dispatch else None
    for attempt in range(5):
        try:
            with transaction.atomic():
                open_case = EmergencyCase.objects.select_for_update().filter(elevator=elevator, state__in=_OPEN).order_by().first()
                if open_case is not None:
                    open_case.elevator = elevator
                    _attach(open_case, channel=channel, case_type=case_type, received_at=received_at, actor=actor,
                            details=details, source_ref=source_ref, caller_phone=caller_phone,
                            trapped_count=trapped_count, injured_count=injured_count, car_position=car_position,
                            idempotency_key=idempotency_key)
                    if dispatch and open_case.level == 0:
                        responder = responder_for(elevator, 1, local_date(open_case.received_at, open_case.area_id))
                        if responder is not None:
                            _dispatch_locked(open_case, 1, responder, max(timezone.now(), open_case.received_at), actor, "")
                    return IntakeResult(open_case, created=False)
                # the case keeps the area where it happened: a later re-coding of the elevator's area does not move it
                case = EmergencyCase(elevator=elevator, area_id=elevator.area_id, order_number=new_order_number(received_at, elevator.area_id),
                                     channel=channel, case_type=case_type, received_at=received_at, trapped_count=trapped_count,
                                     injured_count=injured_count, car_position=car_position[:32],
                                     caller_phone=caller_phone[:32], special_circumstances=special_circumstances,
                                     details=details, source_ref=source_ref[:64], created_by=actor,
                                     state=State.RECEIVED)
                responder = level1
                dispatched_at = max(timezone.now(), received_at)
                if responder is not None:  # write the case once, already dispatched (cache = derive(both milestones))
                    case.state, case.level, case.responder, case.level_dispatched_at = State.DISPATCHED, 1, responder, dispatched_at
                save_with_history(case, actor, encode(msg.INTAKE_DISPATCHED if responder else msg.INTAKE, channel=channel))
                ms = [Milestone(case=case, kind=K.RECEIVED, at=received_at, actor=actor,
                                data={"channel": channel, "source_ref": source_ref}, idempotency_key=idempotency_key or "")]
                if responder is not None:
                    ms.append(Milestone(case=case, kind=K.DISPATCHED, at=dispatched_at, actor=actor, level=1, responder=responder))
                Milestone.objects.bulk_create(ms)
                case._ms_cache = ms  # the API answers from these (no re-read)
                if responder is not None:
                    _notify_dispatch(case, 1, responder)
                return IntakeResult(case, created=True)
        except IntegrityError:
            # lost a race: another alarm opened this elevator's case, or the same key was just recorded
            if (m := _existing_key(idempotency_key)) is not None:
                return IntakeResult(m.case, created=False, duplicate=True)
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _attach(case: EmergencyCase, *, channel, case_type, received_at, actor, details, source_ref, caller_phone,
            trapped_count, injured_count, car_position, idempotency_key) -> None:
    data = {"channel": channel, "case_type": case_type, "source_ref": source_ref}
    if caller_phone:
        data["caller_phone"] = caller_phone
    if details:
        data["details"] = details
    Milestone.objects.create(case=case, kind=K.CALL_ATTACHED, at=received_at, actor=actor, data=data,
                             idempotency_key=idempotency_key or "")
    changed = []
    if case_type == CaseType.ENTRAPMENT and case.case_type != CaseType.ENTRAPMENT:
        case.case_type = CaseType.ENTRAPMENT
        changed.append("case_type")
    for field, val in (("trapped_count", trapped_count), ("injured_count", injured_count),
                       ("car_position", car_position), ("caller_phone", caller_phone)):
        if val not in (None, "") and getattr(case, field) in (None, ""):
            setattr(case, field, val)
            changed.append(field)
    if changed:
        save_with_history(case, actor, encode(msg.CALL_ATTACHED, fields=list(changed)))
    else:  # bump updated_at so the live board sees the extra call
        EmergencyCase.objects.filter(pk=case.pk).update(updated_at=timezone.now())


@transaction.atomic
def update_intake(user, case: EmergencyCase, **fields) -> EmergencyCase:
    """Operator corrects the intake checklist (trapped_count, injured_count, car_position, caller_phone,
    special_circumstances) of an open case; audit history keeps the previous values.

    Raises:
        ValidationError: unknown field, bad count, or a trapped count below the released count.
    """
    allowed = {"trapped_count", "injured_count", "car_position", "caller_phone", "special_circumstances"}
    if bad := set(fields) - allowed:
        raise ValidationError({sorted(bad)[0]: [_("This field cannot be changed here.")]})
    _visible_case(user, case)
    case = _lock(case)
    _require_operator_for(user, case.elevator)
    for name in ("trapped_count", "injured_count"):
        val = fields.get(name)
        if val is not None and (not isinstance(val, int) or val < 0 or val > 500):
            raise ValidationError({name: [_("Must be a whole number between 0 and 500.")]})
    if fields.get("trapped_count") is not None and case.released_count is not None and fields["trapped_count"] < case.released_count:
        raise ValidationError({"trapped_count": [_("Fewer than the %(n)d people already released.") % {"n": case.released_count}]})
    for k, v in fields.items():
        setattr(case, k, v)
    save_with_history(case, user, encode(msg.INTAKE_CORRECTED))
    return case


# --------------------------------------------------------------------------- dispatch
def _nearest(elevator: Elevator, kind: str) -> Organisation | None:
    """Nearest organisation of ``kind`` in the elevator's jurisdiction: by distance when both have
    coordinates, else the one whose area is the closest ancestor of (or equal to) the elevator's area."""
    qs = Organisation.objects.filter(kind=kind, area__path__startswith=f"{elevator.jurisdiction}/").select_related("area")
    cands = list(qs)
    if not cands:
        return None
    if elevator.latitude is not None and elevator.longitude is not None:
        located = [o for o in cands if o.latitude is not None and o.longitude is not None]
        if located:
            return min(located, key=lambda o: (haversine_m(elevator.latitude, elevator.longitude, o.latitude, o.longitude), o.pk))
    path = elevator.area.path
    ancestors = [o for o in cands if path.startswith(o.area.path)]
    if ancestors:
        return max(ancestors, key=lambda o: (len(o.area.path), -o.pk))
    return min(cands, key=lambda o: o.pk)


def responder_for(elevator: Elevator, level: int, on: dt.date) -> Organisation | None:
    """The automatic responder of ``level`` (docs/domain §3.2): 1 = contracted maintenance unit on ``on``;
    2 = nearest rescue station (haversine) in the jurisdiction; 3 = the fire brigade."""
    if level == Level.MAINTENANCE_UNIT:
        return maintenance_unit_on(elevator, on)
    return _nearest(elevator, _LEVEL_KIND[level])


def _require_dispatcher(user, case: EmergencyCase) -> None:
    """Only the roles of action ``case.dispatch`` (operators, admins; and the platform, ``user`` None) dispatch:
    a role that sees the case gets PermissionDenied, any other Http404 (like a missing case)."""
    if user is not None and not role_allowed(user, "case.dispatch"):
        _visible_case(user, case)
        require(user, "case.dispatch")


def responder_in_scope(user, case: EmergencyCase, level: int, responder: Organisation) -> bool:
    """Whether ``user`` may name ``responder`` when dispatching ``case`` at ``level`` (a referenced id).

    True for the platform (``user`` None) and administrators; otherwise the
    organisation must be visible to the user (:func:`liftsafe.registry.selectors.organisations_for`),
    be the automatic choice (:func:`responder_for`), or serve an area that contains
    the elevator's (the city's fire brigade or rescue station).
    """
    if user is None or scope_of(user).is_admin:
        return True
    from liftsafe.registry.selectors import organisations_for

    if organisations_for(user).filter(pk=responder.pk).exists():
        return True
    area = Organisation.objects.filter(pk=responder.pk).values_list("area__path", flat=True).first()
    if area and case.elevator.area.path.startswith(area):
        return True
    auto = responder_for(case.elevator, level, timezone.localdate(case.received_at)) if level in (1, 2, 3) else None
    return auto is not None and auto.pk == responder.pk


def responder_get(user, case: EmergencyCase, level: int, pk: int) -> Organisation:
    """Resolve a responder id sent in a request through ``user``'s scope (:func:`responder_in_scope`).

    Raises:
        PermissionDenied / Http404: ``user`` may not dispatch ``case`` (checked first, as :func:`dispatch_case` does).
        Http404: no such organisation, or one the user may not name (indistinguishable on purpose).
    """
    _require_dispatcher(user, case)
    org = Organisation.objects.filter(pk=pk).first()
    if org is None or not responder_in_scope(user, case, level, org):
        raise Http404("responder not found")
    return org


def dispatch_case(user, case: EmergencyCase, level: int, responder: Organisation | None = None, *,
                  at: dt.datetime | None = None, reason: str = "") -> EmergencyCase:
    """Dispatch ``case`` at ``level`` (1-3) to ``responder`` (default: :func:`responder_for`).

    Idempotent: dispatching again at the case's current level (to the same
    or the default responder) changes nothing. Re-dispatch at a higher level
    is an escalation by hand; a lower level is refused. Queues a
    ``emergency.dispatched`` notification to the responder.

    Args:
        user: an operator/admin covering the elevator, or None (the platform).
        at: when the instruction was given (default now; aware; not before the last milestone).

    Raises:
        ValidationError: case closed (``state``), bad or lower level (``level``),
            responder of the wrong kind (``responder``), no responder found
            (``level``), time out of order (``at``).
        PermissionDenied: ``user`` is not an operator; Http404: case not visible, or
            ``responder`` outside the user's scope (:func:`responder_in_scope`).
    """
    _require_dispatcher(user, case)
    with transaction.atomic():
        case = _lock(case)
        if user is not None:
            _require_operator_for(user, case.elevator)
        at = at or timezone.now()
        _require_aware(at, "at")
        if case.state not in _OPEN:
            raise ValidationError({"state": [_("The case is closed (%(s)s).") % {"s": State(case.state).label}]})
        if level not in (1, 2, 3):
            raise ValidationError({"level": [_("The level must be 1, 2 or 3.")]})
        if responder is not None and not responder_in_scope(user, case, level, responder):
            raise Http404("responder not found")
        if responder is not None and responder.kind != _LEVEL_KIND[level]:
            raise ValidationError({"responder": [_("A level-%(l)d responder must be a %(k)s.") % {"l": level, "k": _LEVEL_KIND[level].label}]})
        if level == case.level and (responder is None or responder.pk == case.responder_id):
            return case
        if level < case.level:
            raise ValidationError({"level": [_("The case is already at level %(l)d.") % {"l": case.level}]})
        if responder is None:
            responder = responder_for(case.elevator, level, local_date(case.received_at, case.area_id))
            if responder is None:
                raise ValidationError({"level": [_("No level-%(l)d responder (%(k)s) found for this elevator.") % {"l": level, "k": _LEVEL_KIND[level].label}]})
        _dispatch_locked(case, level, responder, at, user, reason)
        return case


def _dispatch_locked(case: EmergencyCase, level: int, responder: Organisation, at: dt.datetime, user, reason: str) -> None:
    """Record the dispatch on a locked, open case (checks the time order), refresh its cache, notify."""
    milestones = list(case.milestones.all())
    _after_last(case, at, milestones)
    m = Milestone.objects.create(case=case, kind=K.DISPATCHED, at=at, actor=user, level=level, responder=responder,
                                 data={"reason": reason} if reason else {})
    milestones.append(m)
    stamp(case, user, encode(msg.DISPATCHED, level=level))
    _refresh(case, milestones)
    case.responder = responder
    _notify_dispatch(case, level, responder)


def _notify_dispatch(case: EmergencyCase, level: int, responder: Organisation) -> None:
    e = case.elevator
    notify(kind="emergency.dispatched", organisation=responder,
           subject=_("Case %(no)s: level-%(l)d dispatch, %(type)s at %(addr)s") % {
               "no": case.order_number, "l": level, "type": case.get_case_type_display(), "addr": e.address},
           body=_("Elevator %(code)s, %(addr)s. Trapped: %(t)s. Please respond now.") % {
               "code": e.display_code, "addr": e.address, "t": case.trapped_count if case.trapped_count is not None else "?"},
           payload={"case_id": case.pk, "order_number": case.order_number, "level": level, "elevator_id": e.pk},
           dedupe_key=f"emergency.dispatched:{case.pk}:{level}:{responder.pk}")


# --------------------------------------------------------------------------- milestones
def record_milestone(user, case: EmergencyCase, kind: str, at: dt.datetime | None = None, *,
                     idempotency_key: str | None = None, **data) -> Milestone:
    """Record a progress milestone: ``responded``, ``arrived``, ``released`` (``released_count=``),
    ``completed``, ``false_alarm`` or ``cancelled`` (docs/domain §3.3 steps 5-6).

    Who: operators/admins covering the elevator record any of them; a
    responder (maintenance unit / rescue station user) only on a case
    dispatched to its organisation, and not ``cancelled``. ``user`` None = platform (replays).
    Order: responded after dispatched; arrived after dispatched/responded;
    released after arrived, and only for an entrapment; completed after dispatch (or from ``received``
    for a fault report / enquiry closed on the phone); ``at`` not before the
    last milestone. Repeating the kind just recorded for the current dispatch
    returns that milestone (a double-tapped phone records once), as does a
    repeated ``idempotency_key``. Extra ``data`` keys (e.g. ``note``) are stored.

    Raises:
        ValidationError: unknown kind (``kind``), out of order (``kind``/``at``),
            release count missing, negative or above the trapped count (``released_count``).
        PermissionDenied: a responder acting on a case not dispatched to it.
        Http404: the case is not visible to ``user``.
    """
    if kind not in _ALLOWED:
        raise ValidationError({"kind": [_("Unknown milestone %(k)r; expected one of %(ks)s.") % {"k": kind, "ks": ", ".join(_ALLOWED)}]})
    if (m := _existing_key(idempotency_key)) is not None:
        if m.case_id != case.pk:
            raise ValidationError({"idempotency_key": [_("This key was already used for another case.")]})
        return m
    if user is not None:
        _visible_case(user, case)
    with transaction.atomic():
        case = _lock(case)
        scope = scope_of(user) if user is not None else None
        responder_id = None
        if scope is not None and not _is_operator(user):
            require(user, CASE_FLOW.get(kind).permission)  # a responder: progress, never cancel
            require(user, "case.progress", case, message=_("This case is not dispatched to your organisation."))
            responder_id = scope.organisation_id
        elif scope is not None:
            _require_operator_for(user, case.elevator)
        at = at or timezone.now()
        _require_aware(at, "at")
        milestones = list(case.milestones.all())
        d = derive(milestones)
        # idempotent repeat: same kind already recorded since the current dispatch
        since = d.level_dispatched_at or d.received_at
        for prev in reversed(milestones):
            if prev.kind == kind and (since is None or prev.at >= since):
                return prev
        allowed = transition_sources(case, kind)
        if d.state not in allowed:
            raise ValidationError({"kind": [_("Cannot record %(k)s now: the case is %(s)s.") % {
                "k": K(kind).label, "s": State(d.state).label}]})  # labels in the user's language, never codes
        _after_last(case, at, milestones)
        payload = {k: v for k, v in data.items() if v is not None}
        if kind == K.RELEASED:
            if case.case_type != CaseType.ENTRAPMENT:
                raise ValidationError({"kind": [_("Nobody is trapped in a %(t)s: record “completed” instead of a release.")
                                                % {"t": case.get_case_type_display()}]})
            n = payload.get("released_count")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValidationError({"released_count": [_("Give the number of people released (a whole number ≥ 0).")]})
            if case.trapped_count is not None and n > case.trapped_count:
                raise ValidationError({"released_count": [_("%(n)d released is more than the %(t)d trapped.") % {"n": n, "t": case.trapped_count}]})
        try:
            with transaction.atomic():
                m = Milestone.objects.create(case=case, kind=kind, at=at, actor=user, responder_id=responder_id or (
                    d.responder_id if kind in (K.RESPONDED, K.ARRIVED, K.RELEASED) else None),
                    data=payload, idempotency_key=idempotency_key or "")
        except IntegrityError:
            if (m := _existing_key(idempotency_key)) is not None:
                return m
            raise
        milestones.append(m)
        stamp(case, user, encode(msg.MILESTONE, kind=kind))
        _refresh(case, milestones)
        if case.state in CLOSED_STATES:  # inputs of other apps' facts changed (risk recomputes the lift)
            flows.send("emergency.case_closed", elevator_id=case.elevator_id, case_id=case.pk, state=case.state,
                       received_at=case.received_at)
        return m


def report_cause(user, case: EmergencyCase, cause_class: str, cause_item: str) -> EmergencyCase:
    """Record the trapping/fault cause (two-level code, docs/domain §4.3; :mod:`liftsafe.emergency.causes`).

    Who: operators/admins, or a responder the case was dispatched to (the
    level-1 maintenance unit feeds the cause back, docs/domain §3.3 step 7). The
    case must have been dispatched. A later report replaces the earlier one
    (audit history keeps it).

    Raises:
        ValidationError: unknown class (``cause_class``) or item not in that class (``cause_item``); not dispatched (``state``).
        PermissionDenied: a responder on a case not dispatched to it.
    """
    if cause_class not in causes.CAUSES:
        raise ValidationError({"cause_class": [_("Unknown cause class %(v)r.") % {"v": cause_class}]})
    if not causes.is_valid(cause_class, cause_item):
        raise ValidationError({"cause_item": [_("%(i)r is not an item of cause class %(c)r.") % {"i": cause_item, "c": cause_class}]})
    if user is not None:
        _visible_case(user, case)
    with transaction.atomic():
        case = _lock(case)
        if user is not None:
            if _is_operator(user):
                _require_operator_for(user, case.elevator)
            else:
                require(user, "case.report_cause")
                require(user, "case.report_cause", case, message=_("This case is not dispatched to your organisation."))
        if case.level == 0:
            raise ValidationError({"state": [_("The case has not been dispatched yet.")]})
        if (case.cause_class, case.cause_item) == (cause_class, cause_item):
            return case
        case.cause_class, case.cause_item, case.cause_reported_at = cause_class, cause_item, timezone.now()
        save_with_history(case, user, encode(msg.CAUSE_REPORTED))
        return case


# --------------------------------------------------------------------------- escalation
def arrival_limit_s(elevator: Elevator) -> int:
    """Arrival limit in seconds for ``elevator`` (:func:`liftsafe.emergency.domain.arrival_limit_s`: 30 min urban, 60 otherwise)."""
    return domain.arrival_limit_s(elevator.urban)


def escalate_late_cases(now: dt.datetime | None = None) -> int:
    """Escalate late entrapment cases one level and notify the area's regulators; returns escalations made.

    A case is late when, counted from the dispatch of its current level,
    there is no response within ``dispatch_response_limit_s`` (3 min,
    docs/domain §3.4) or no arrival within :func:`arrival_limit_s`. Late at level
    1 or 2 → an ``escalated`` milestone and a dispatch at the next level (a
    level with no responder found is skipped); late at level 3 → the
    regulator is notified once. Everything derives from stored timestamps,
    so a restart loses nothing; idempotent (the ``escalated`` milestone has
    the key ``escalate:<case>:<level>``, the case row is locked), so two
    workers or a repeated run escalate once. ``now`` is for tests (controlled clock).
    """
    now = now or timezone.now()
    resp = rule("dispatch_response_limit_s")
    shortest = min(resp, rule("rescue_arrival_limit_urban_s"), rule("rescue_arrival_limit_other_s"))
    ids = list(EmergencyCase.objects.filter(case_type=CaseType.ENTRAPMENT, state__in=[State.DISPATCHED, State.RESPONDED],
                                            level_dispatched_at__lte=now - dt.timedelta(seconds=shortest))
               .order_by("level_dispatched_at").values_list("pk", flat=True)[:1000])
    done = 0
    for pk in ids:
        try:
            done += _escalate_one(pk, now, resp)
        except ValidationError:
            continue
    return done


def _escalate_one(pk: int, now: dt.datetime, resp_limit: int) -> int:
    with transaction.atomic():
        qs = EmergencyCase.objects.select_related("elevator", "elevator__area")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))  # another worker has it: skip
        else:
            qs = qs.select_for_update(of=("self",))
        case = qs.filter(pk=pk).first()
        if case is None:
            return 0
        milestones = list(case.milestones.all())
        d = derive(milestones)
        if case.case_type != CaseType.ENTRAPMENT or d.state not in (State.DISPATCHED, State.RESPONDED) or d.level_dispatched_at is None:
            return 0
        waited = (now - d.level_dispatched_at).total_seconds()
        if d.state == State.DISPATCHED and waited >= resp_limit:
            reason, limit = EscalationReason.NO_RESPONSE.value, resp_limit
        elif waited >= arrival_limit_s(case.elevator):
            reason, limit = EscalationReason.NO_ARRIVAL.value, arrival_limit_s(case.elevator)
        else:
            return 0
        key = f"escalate:{case.pk}:{d.level}"
        if any(m.idempotency_key == key for m in milestones):
            return 0
        e = case.elevator
        deadline = d.level_dispatched_at + dt.timedelta(seconds=limit)
        nxt, responder = None, None
        for lvl in range(d.level + 1, 4):
            responder = responder_for(e, lvl, local_date(case.received_at, case.area_id))
            if responder is not None:
                nxt = lvl
                break
        Milestone.objects.create(case=case, kind=K.ESCALATED, at=now, level=d.level, responder_id=d.responder_id,
                                 data={"reason": reason, "limit_s": limit, "deadline": deadline.isoformat(), "to_level": nxt},
                                 idempotency_key=key)
        if nxt is not None:
            Milestone.objects.create(case=case, kind=K.DISPATCHED, at=now, level=nxt, responder=responder,
                                     data={"reason": f"{ESCALATED_PREFIX}{reason}"})
        stamp(case, None, encode(msg.ESCALATED, level=d.level, reason=reason))
        _refresh(case)
        what = EscalationReason(reason).label
        notify(kind="emergency.escalated", area=e.area,
               subject=_("Case %(no)s escalated: %(what)s at level %(l)d") % {"no": case.order_number, "what": what, "l": d.level},
               body=_("Elevator %(code)s, %(addr)s: %(what)s within %(lim)d s of the level-%(l)d dispatch; now level %(n)s.") % {
                   "code": e.display_code, "addr": e.address, "what": what, "lim": limit, "l": d.level, "n": nxt or "-"},
               payload={"case_id": case.pk, "order_number": case.order_number, "from_level": d.level, "to_level": nxt, "reason": reason},
               dedupe_key=f"emergency.escalated:{case.pk}:{d.level}")
        if nxt is not None:
            notify(kind="emergency.dispatched", organisation=responder,
                   subject=_("Case %(no)s: level-%(l)d dispatch (escalated), %(addr)s") % {"no": case.order_number, "l": nxt, "addr": e.address},
                   body=_("Elevator %(code)s, %(addr)s. Please respond now.") % {"code": e.display_code, "addr": e.address},
                   payload={"case_id": case.pk, "order_number": case.order_number, "level": nxt, "elevator_id": e.pk},
                   dedupe_key=f"emergency.dispatched:{case.pk}:{nxt}:{responder.pk}")
        return 1


# --------------------------------------------------------------------------- proof on site (issue 15)
def record_on_site(user, case: EmergencyCase, kind: str, at: dt.datetime | None = None, *,
                   latitude: float | None = None, longitude: float | None = None, accuracy_m: float | None = None,
                   photo=None, confirmed_by: str = "", idempotency_key: str | None = None, **data) -> Milestone:
    """Record ``arrived`` or ``released`` (:func:`record_milestone`, same rules) with its on-site proof, in one
    transaction: the phone's location and accuracy, an optional photo, and on ``released`` the name of the use
    unit's person who confirmed the release (``confirmed_by``). Other kinds are passed to :func:`record_milestone`
    unchanged (their proof arguments must be empty).

    The location is judged by :func:`liftsafe.emergency.domain.assess_location` against the lift's coordinates
    (rules ``arrival_far_radius_m``, ``arrival_accuracy_max_m``): a far-away, missing or unreliable location is
    *recorded and flagged*, never refused — nothing blocks a rescue. A repeat (double tap, same idempotency key)
    returns the first milestone and keeps its first proof.

    Raises: what :func:`record_milestone` raises; ValidationError ``photo`` (not a JPEG/PNG/WebP image, empty,
    too large — :func:`liftsafe.emergency.photos.clean_photo`), ``confirmed_by`` (longer than 64 characters, or
    given on a milestone other than ``released``).
    """
    from .models import FieldRecord
    from .photos import clean_photo

    confirmed_by = (confirmed_by or "").strip()
    if kind not in (K.ARRIVED, K.RELEASED):
        if photo is not None or confirmed_by or latitude is not None or longitude is not None or accuracy_m is not None:
            raise ValidationError({"kind": [_("A location, photo or confirmation goes with “arrived” or “released” only.")]})
        return record_milestone(user, case, kind, at, idempotency_key=idempotency_key, **data)
    if confirmed_by and kind != K.RELEASED:
        raise ValidationError({"confirmed_by": [_("The use unit confirms a release, not an arrival.")]})
    if len(confirmed_by) > 64:
        raise ValidationError({"confirmed_by": [_("At most 64 characters.")]})
    clean = clean_photo(photo) if photo is not None else None  # validated before anything is written
    stored = None
    try:
        with transaction.atomic():
            m = record_milestone(user, case, kind, at, idempotency_key=idempotency_key, **data)
            if FieldRecord.objects.filter(milestone=m).exists():
                return m  # a repeat: the first proof stays
            e = case.elevator
            a = domain.assess_location(latitude, longitude, accuracy_m, e.latitude, e.longitude,
                                       radius_m=float(rule("arrival_far_radius_m")),
                                       max_accuracy_m=float(rule("arrival_accuracy_max_m")))
            org_id = scope_of(user).organisation_id if user is not None else None
            rec = FieldRecord(milestone=m, case_id=m.case_id, organisation_id=org_id or m.responder_id, recorded_by=user,
                              latitude=a.latitude, longitude=a.longitude, accuracy_m=a.accuracy_m,
                              location_check=a.check, location_reason=a.reason, distance_m=a.distance_m,
                              confirmed_by=confirmed_by)
            if clean is not None:
                rec.photo.save(clean.name, clean.content, save=False)
                stored = rec.photo.name
                rec.photo_sha256 = clean.sha256
            save_with_history(rec, user, encode(msg.ON_SITE, kind=kind, check=a.check))
            return m
    except Exception:
        if stored:
            rec.photo.storage.delete(stored)
        raise


def field_photo_add(user, case: EmergencyCase, milestone_id: int, photo) -> "FieldRecord":  # noqa: F821
    """Attach a photo to the on-site record of ``milestone_id`` (an ``arrived``/``released`` of ``case``) after the
    fact — a photo taken once the passengers are safe. Only the unit that recorded it (or an admin) may add it,
    and only one photo per record (the first stays).

    Raises: Http404 (case or record not visible), PermissionDenied (another unit), ValidationError ``photo``
    (not an image, too large, a photo already stored)."""
    from .models import FieldRecord
    from .photos import clean_photo

    _visible_case(user, case)
    require(user, "case.progress", case, message=_("This case is not dispatched to your organisation."))
    clean = clean_photo(photo)
    scope = scope_of(user)
    stored = None
    try:
        with transaction.atomic():
            rec = FieldRecord.objects.select_for_update().filter(case_id=case.pk, milestone_id=milestone_id).first()
            if rec is None:
                raise Http404("on-site record not found")
            if not scope.is_admin and rec.organisation_id != scope.organisation_id:
                raise Http404("on-site record not found")  # another unit's record (personal data): like a missing one
            if rec.photo:
                raise ValidationError({"photo": [_("A photo is already stored for this milestone.")]})
            rec.photo.save(clean.name, clean.content, save=False)
            stored = rec.photo.name
            rec.photo_sha256 = clean.sha256
            save_with_history(rec, user, encode(msg.ON_SITE_PHOTO))
            return rec
    except Exception:
        if stored:
            FieldRecord._meta.get_field("photo").storage.delete(stored)
        raise


# --------------------------------------------------------------------------- call-backs (issue 15)
def callback_record(user, case: EmergencyCase, *, party: str, outcome: str, called_at: dt.datetime | None = None,
                    name: str = "", phone: str = "", note: str = "") -> "CallBack":  # noqa: F821
    """Record an operator's call-back on ``case``: who was called (``party``, ``name``, ``phone``), when
    (``called_at``, aware, not before the case was received nor in the future beyond ``intake_future_skew_s``)
    and the ``outcome``. Append-only.

    Raises: Http404 (case not visible), PermissionDenied (not an operator), ValidationError ``party``,
    ``outcome``, ``called_at``, ``name``, ``phone``, ``note`` (unknown value / too long / out of range)."""
    from .models import CallBack

    _visible_case(user, case)
    require(user, "case.callback", case)
    errs: dict[str, list[str]] = {}
    if party not in CallBack.Party.values:
        errs["party"] = [_("Choose who was called.")]
    if outcome not in CallBack.Outcome.values:
        errs["outcome"] = [_("Choose the outcome of the call.")]
    called_at = called_at or timezone.now()
    if timezone.is_naive(called_at):
        errs["called_at"] = [_("Give a time with its time zone.")]
    elif called_at < case.received_at:
        errs["called_at"] = [_("A call-back cannot be before the case was received.")]
    elif called_at > timezone.now() + dt.timedelta(seconds=int(rule("intake_future_skew_s"))):
        errs["called_at"] = [_("A call-back cannot be in the future.")]
    name, phone, note = (name or "").strip(), (phone or "").strip(), (note or "").strip()
    for field, value, limit in (("name", name, 64), ("phone", phone, 32), ("note", note, 500)):
        if len(value) > limit:
            errs[field] = [_("At most %(n)d characters.") % {"n": limit}]
    if phone and not any(c.isdigit() for c in phone):
        errs["phone"] = [_("Enter a phone number.")]
    if errs:
        raise ValidationError(errs)
    cb = CallBack(case_id=case.pk, party=party, outcome=outcome, called_at=called_at, name=name, phone=phone,
                  note=note, recorded_by=user)
    with transaction.atomic():
        return save_with_history(cb, user, encode(msg.CALLBACK, outcome=outcome))
