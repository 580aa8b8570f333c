"""Emergency reads, always scoped to the caller, and the one derivation of state and durations.

Visibility (one rule, used by pages, API and exports):

- admin: every case; regulator / 96333 operator: cases of elevators in their
  area (``scope_elevators(scope, qs, prefix="elevator__")``);
- maintenance unit / rescue station (responders): cases *dispatched* to
  their organisation (at any level);
- use unit, inspection agency, insurer: cases of the elevators they may see;
- anyone else: nothing. Out of scope = 404, like missing.

Personal data (caller phone numbers, passenger details) is visible only to
operators, admins and the responders the case was dispatched to; everyone
else gets it masked (``138****5678``). Masking happens here, in
:func:`mask_case` applied by every selector that returns cases, so every
page and API schema shows what the selector gives it.
"""
from __future__ import annotations

import datetime as dt
import re as _re
from dataclasses import dataclass
from typing import Iterable

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.query import ModelIterable
from django.http import Http404
from django.utils import timezone

from liftsafe.core.models import Role
from liftsafe.core.scoping import Scope, scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import CLOSED_STATES, OPEN_STATES, CaseType, EmergencyCase, Milestone, State

K = Milestone.Kind
RESPONDER_ROLES = (Role.MAINTENANCE_UNIT, Role.RESCUE_STATION)
PERSONAL_KEYS = {"caller_phone", "phone", "caller_name", "passengers", "passenger", "contact", "name"}


# --------------------------------------------------------------------------- derivation
@dataclass(frozen=True)
class Derived:
    """Everything that follows from a case's milestones (times are aware datetimes or None).

    ``dispatched_at`` is the *first* dispatch (the platform's clock);
    ``level_dispatched_at`` the dispatch of the current ``level``.
    """

    state: str
    level: int
    responder_id: int | None
    received_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    level_dispatched_at: dt.datetime | None
    responded_at: dt.datetime | None
    arrived_at: dt.datetime | None
    released_at: dt.datetime | None
    closed_at: dt.datetime | None
    released_count: int | None
    escalations: int
    calls: int

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


_PROGRESS = {K.RECEIVED: State.RECEIVED, K.DISPATCHED: State.DISPATCHED, K.RESPONDED: State.RESPONDED,
             K.ARRIVED: State.ARRIVED, K.RELEASED: State.RELEASED, K.COMPLETED: State.COMPLETED,
             K.FALSE_ALARM: State.FALSE_ALARM, K.CANCELLED: State.CANCELLED}


def derive(milestones: Iterable[Milestone]) -> Derived:
    """Fold a case's milestones (any order; sorted here by ``at`` then id) into its :class:`Derived` facts.

    The state is the latest progress milestone (escalated / call_attached do
    not change it); a new dispatch sets the state back to ``dispatched`` for
    the new level. First occurrences give the times used by the durations.
    """
    ms = sorted(milestones, key=lambda m: (m.at, m.pk or 0))
    state, level, responder_id = State.RECEIVED, 0, None
    first: dict[str, dt.datetime] = {}
    level_dispatched_at = closed_at = None
    released_count = None
    escalations = calls = 0
    for m in ms:
        first.setdefault(m.kind, m.at)
        if m.kind == K.ESCALATED:
            escalations += 1
            continue
        if m.kind in (K.CALL_ATTACHED, K.RECEIVED):
            calls += 1
            if m.kind == K.CALL_ATTACHED:
                continue
        if m.kind == K.DISPATCHED:
            level, responder_id, level_dispatched_at = m.level or 0, m.responder_id, m.at
        if m.kind == K.RELEASED:
            released_count = (m.data or {}).get("released_count")
        if m.kind in (K.COMPLETED, K.FALSE_ALARM, K.CANCELLED):
            closed_at = m.at
        state = _PROGRESS[m.kind]
    return Derived(state=state, level=level, responder_id=responder_id, received_at=first.get(K.RECEIVED),
                   dispatched_at=first.get(K.DISPATCHED), level_dispatched_at=level_dispatched_at,
                   responded_at=first.get(K.RESPONDED), arrived_at=first.get(K.ARRIVED),
                   released_at=first.get(K.RELEASED), closed_at=closed_at, released_count=released_count,
                   escalations=escalations, calls=calls)


def _secs(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def durations(case: EmergencyCase, milestones: Iterable[Milestone] | None = None) -> dict[str, float | None]:
    """The case's durations in seconds (None when a milestone is missing), per docs/domain §3.3-§3.4 / issue 3:

    - ``response`` = responded − dispatched (first dispatch; Shandong 3-minute KPI)
    - ``arrival`` = arrived − dispatched (TSG T5002 Art. 5 30/60-minute limit)
    - ``on_site_rescue`` = released − arrived (现场实施救援用时)
    - ``total`` = released − received
    """
    d = derive(case.milestones.all() if milestones is None else milestones)
    return {
        "response": _secs(d.dispatched_at, d.responded_at),
        "arrival": _secs(d.dispatched_at, d.arrived_at),
        "on_site_rescue": _secs(d.arrived_at, d.released_at),
        "total": _secs(d.received_at, d.released_at),
    }


# docs/domain §3.5 deal_status: 00 处置完成, 01 故障发生, 02 处置响应, 04 处置到场, 05 误报 (no 03 in the source)
_UPLOAD_CODES = {State.RECEIVED: "01", State.DISPATCHED: "01", State.RESPONDED: "02", State.ARRIVED: "04",
                 State.RELEASED: "04", State.COMPLETED: "00", State.FALSE_ALARM: "05", State.CANCELLED: "05"}


def upload_status_code(case: EmergencyCase, milestones: Iterable[Milestone] | None = None) -> str:
    """Regulator-upload ``deal_status`` of the case, derived from its milestones (docs/domain §3.5).

    ``"01"`` occurred (received or dispatched), ``"02"`` responded, ``"04"``
    arrived (also after release until completed), ``"00"`` completed,
    ``"05"`` false alarm; a cancelled case (caller withdrew, nothing to
    handle) is reported as ``"05"`` since the source list has no cancel code.
    """
    return _UPLOAD_CODES[derive(case.milestones.all() if milestones is None else milestones).state]


# --------------------------------------------------------------------------- masking
def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only the last two digits."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    if len(phone) >= 8:
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(len(phone) - 2, 1) + phone[-2:]


def _mask_value(value):
    if isinstance(value, str):
        return mask_phone(value) if any(c.isdigit() for c in value) else "***"
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    return "***" if value not in (None, "") else value


def mask_details(details: dict) -> dict:
    """Copy of ``details`` with personal keys (:data:`PERSONAL_KEYS`, at any depth) masked."""
    if not isinstance(details, dict):
        return details
    out = {}
    for k, v in details.items():
        if k in PERSONAL_KEYS:
            out[k] = _mask_value(v)
        elif isinstance(v, dict):
            out[k] = mask_details(v)
        else:
            out[k] = v
    return out


def mask_case(case: EmergencyCase) -> EmergencyCase:
    """Mask ``case``'s personal data in place (never saved: ``save()`` is refused afterwards)."""
    case.caller_phone = mask_phone(case.caller_phone)
    case.details = mask_details(case.details)
    case._personal_masked = True
    return case


class _MaskedIterable(ModelIterable):
    def __iter__(self):
        for obj in super().__iter__():
            yield mask_case(obj)


def sees_personal_data(scope: Scope) -> bool:
    """Operators and admins, and responders (who only ever see cases dispatched to them)."""
    return scope.sees_personal_data or scope.role in RESPONDER_ROLES


# --------------------------------------------------------------------------- reads
def scope_cases(scope: Scope, qs: QuerySet[EmergencyCase] | None = None) -> QuerySet[EmergencyCase]:
    """Narrow ``qs`` (default all cases) to ``scope`` (see the module docstring); masks when needed."""
    qs = EmergencyCase.objects.all() if qs is None else qs
    if scope.role in RESPONDER_ROLES and not scope.is_admin:
        qs = qs.filter(Exists(Milestone.objects.filter(case=OuterRef("pk"), kind=K.DISPATCHED,
                                                       responder_id=scope.organisation_id)))
    else:
        qs = scope_elevators(scope, qs, prefix="elevator__")
    if not sees_personal_data(scope):
        qs._iterable_class = _MaskedIterable
    return qs


def cases_for(user) -> QuerySet[EmergencyCase]:
    """All cases ``user`` may see (newest first), personal data masked unless allowed."""
    return scope_cases(scope_of(user)).select_related("elevator", "elevator__area", "responder").order_by("-received_at", "-pk")


def open_cases_for(user) -> QuerySet[EmergencyCase]:
    """``user``'s open cases (received … released), oldest first (the board's order)."""
    return cases_for(user).filter(state__in=[s.value for s in OPEN_STATES]).order_by("received_at", "pk")


def case_get(user, pk: int) -> EmergencyCase:
    """One case ``user`` may see (masked as needed).

    Raises:
        Http404: missing or out of scope (indistinguishable on purpose).
    """
    obj = cases_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("case not found")
    return obj


def case_timeline(user, case: EmergencyCase) -> list[dict]:
    """The case's milestones oldest first, as dicts: kind, at, recorded_at, actor (username), level,
    responder (id, name), data (personal keys masked unless ``user`` may see them).

    Raises:
        Http404: if ``user`` may not see the case.
    """
    scope = scope_of(user)
    if not scope_cases(scope).filter(pk=case.pk).exists():
        raise Http404("case not found")
    personal = sees_personal_data(scope)
    out = []
    for m in case.milestones.select_related("actor", "responder").order_by("at", "id"):
        out.append({
            "id": m.pk, "kind": m.kind, "at": m.at, "recorded_at": m.recorded_at,
            "actor": m.actor.get_username() if m.actor else None,
            "level": m.level, "responder_id": m.responder_id,
            "responder": m.responder.name if m.responder else None,
            "data": dict(m.data or {}) if personal else mask_details(m.data or {}),
        })
    return out


def board_row(case: EmergencyCase) -> dict:
    """Compact board row (short keys keep a 2,000-case delta small): times as epoch seconds."""
    e = case.elevator
    return {
        "id": case.pk, "no": case.order_number, "el": e.display_code, "eid": e.pk,
        "ad": (e.address or "")[:48], "ty": case.case_type, "ch": case.channel, "st": case.state,
        "lv": case.level, "rs": case.responder.name[:24] if case.responder_id else None,
        "tr": case.trapped_count, "rc": int(case.received_at.timestamp()),
        "ld": int(case.level_dispatched_at.timestamp()) if case.level_dispatched_at else None,
        "ur": e.urban,
    }


#: A board poll re-sends cases changed in the last 2 s before its cursor, so a write committed late is not missed.
BOARD_OVERLAP = dt.timedelta(seconds=2)


def board_delta(user, since: dt.datetime | None = None, *, limit: int = 5000) -> dict:
    """Cases changed since ``since`` for the live board: ``{"cursor": iso, "cases": [row…], "closed": [id…]}``.

    Without ``since``: every open case. With it: open cases changed since
    (re-sending a 2 s overlap, so a write committed late is not missed; the
    board replaces rows by id) and the ids of cases closed since. The cursor
    is the server time of the query; send it back as ``since``.
    """
    now = timezone.now()
    qs = cases_for(user)
    if since is None:
        changed = qs.filter(state__in=[s.value for s in OPEN_STATES])
        closed: list[int] = []
    else:
        changed_all = qs.filter(updated_at__gte=since - BOARD_OVERLAP)
        changed = changed_all.filter(state__in=[s.value for s in OPEN_STATES])
        closed = list(changed_all.filter(state__in=[s.value for s in CLOSED_STATES]).values_list("pk", flat=True)[:limit])
    rows = [board_row(c) for c in changed.order_by("received_at", "pk")[:limit]]
    return {"cursor": now.isoformat(), "cases": rows, "closed": closed}


TIMED_STATES = (State.RECEIVED, State.DISPATCHED, State.RESPONDED)


def board_limits(state: str, urban: bool) -> tuple[int, int]:
    """Limits (s) of a board row's two timers: ``(since-received limit, since-dispatch limit)``, 0 = not timed.

    The one definition of "late" on the live board (:func:`liftsafe.emergency.board.render_board_rows`
    colours with it, :func:`late_q` counts with it). Received (nobody dispatched yet): the case timer
    against ``dispatch_delay_warning_s`` (liftsafe design default). Dispatched: the case timer against the
    arrival limit (30 / 60 min, docs/domain §3.4) and the dispatch timer against ``dispatch_response_limit_s``
    (3 min, docs/domain §3.4). Responded: both against the arrival limit. Other states: untimed.
    """
    from liftsafe.rules import rule

    from .domain import arrival_limit_s, response_limit_s

    arrival = arrival_limit_s(urban)
    if state == State.RECEIVED:
        return int(rule("dispatch_delay_warning_s")), 0
    if state == State.DISPATCHED:
        return arrival, response_limit_s()
    if state == State.RESPONDED:
        return arrival, arrival
    return 0, 0


def is_late(state: str, urban: bool, received_at: dt.datetime, level_dispatched_at: dt.datetime | None,
            now: dt.datetime) -> bool:
    """Whether a board row shows red at ``now``: a timer has reached its :func:`board_limits` limit."""
    rl, dl = board_limits(state, urban)
    if rl and (now - received_at).total_seconds() >= rl:
        return True
    return bool(dl and level_dispatched_at and (now - level_dispatched_at).total_seconds() >= dl)


def late_q(now: dt.datetime):
    """Q of the open cases :func:`is_late` at ``now`` (same limits, evaluated in the database)."""
    from django.db.models import Q

    q = Q(pk__in=[])
    for st in TIMED_STATES:
        for urban in (True, False):
            rl, dl = board_limits(st, urban)
            cond = Q(pk__in=[])
            if rl:
                cond |= Q(received_at__lte=now - dt.timedelta(seconds=rl))
            if dl:
                cond |= Q(level_dispatched_at__lte=now - dt.timedelta(seconds=dl))
            q |= Q(state=st, elevator__urban=urban) & cond
    return q


def case_counts(user, now: dt.datetime | None = None) -> dict[str, int]:
    """Open cases of ``user`` by state, plus ``late``: the open cases the live board shows red
    (:func:`late_q` / :func:`is_late`, any case type; undispatched ones included)."""
    from django.db.models import Count

    now = now or timezone.now()
    qs = cases_for(user).filter(state__in=[s.value for s in OPEN_STATES])
    out = {row["state"]: row["n"] for row in qs.order_by().values("state").annotate(n=Count("pk"))}
    out["late"] = qs.filter(late_q(now)).count()
    return out


# --------------------------------------------------------------------------- case search and history
#: an order number (处置单号, ``services.new_order_number``) or its beginning: ``20230131-3F9A0C21``, ``20230131-3F``
ORDER_NUMBER_RE = _re.compile(r"^\d{8}-[0-9A-F]{0,8}$")
#: identity codes of an elevator a case search matches exactly (after trimming; codes upper-cased)
ELEVATOR_CODE_FIELDS = ("rescue_code", "registration_code", "equipment_code", "use_certificate_no", "source_id")


def looks_like_order_number(text: str) -> bool:
    """Whether ``text`` (trimmed, upper-cased) is an order number or its beginning (date, dash, hex digits)."""
    return bool(ORDER_NUMBER_RE.match(_normalise(text).upper()))


def _normalise(text) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", str(text or "")).split())


def _elevator_code_q(code: str):
    """Cases of the elevators carrying ``code`` (as typed or upper-cased) in any identity field (a subquery)."""
    from django.db.models import Q

    from liftsafe.registry.models import Elevator

    q = Q(pk__in=[])
    for f in ELEVATOR_CODE_FIELDS:
        q |= Q(**{f: code}) | Q(**{f: code.upper()})
    return Q(elevator_id__in=Elevator.objects.filter(q).values("pk"))


def search_cases(user, *, q: str = "", number: str = "", elevator: str = "", address: str = "",
                 date_from: dt.date | None = None, date_to: dt.date | None = None, case_type: str = "",
                 state: str = "", channel: str = "", elevator_id: int | None = None) -> QuerySet[EmergencyCase]:
    """The cases ``user`` may see (:func:`cases_for`: scoped, personal data masked) matching every given filter,
    newest first.

    Args:
        q: free text: an order number (or its beginning, see :data:`ORDER_NUMBER_RE`) searches order numbers
            only — a case number is never taken for an elevator code; anything else matches an elevator's
            identity code exactly (:data:`ELEVATOR_CODE_FIELDS`), the sender's ``source_ref`` exactly, or a part
            of the elevator's address.
        number: order number, exact or its beginning (case-insensitive).
        elevator: any elevator identity code, exact (rescue code, 注册代码, 设备代码, certificate no., source id).
        address: part of the elevator's address (case-insensitive).
        date_from, date_to: local dates of receipt, inclusive, in the zone of each case's area
            (``liftsafe.core.zones``; bounds are taken in the zone of the user's area, else the deployment's).
        case_type, state, channel: a value of :class:`CaseType` / :class:`State` / :class:`Channel`, or
            ``"open"`` / ``"closed"`` for ``state``.
        elevator_id: one elevator's cases.

    Raises:
        ValidationError: ``{field: [reason]}`` for an unknown type/state/channel or ``date_to`` before
            ``date_from``.
    """
    from django.core.exceptions import ValidationError
    from django.db.models import Q
    from django.utils.translation import gettext as _

    from liftsafe.core.zones import zone_for_path

    from .models import Channel

    errors: dict[str, list[str]] = {}
    for field, value, choices in (("case_type", case_type, CaseType), ("channel", channel, Channel)):
        if value and value not in choices.values:
            errors[field] = [_("Unknown value “%(v)s”.") % {"v": str(value)[:32]}]
    if state and state not in State.values and state not in ("open", "closed"):
        errors["state"] = [_("Unknown value “%(v)s”.") % {"v": str(state)[:32]}]
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = [_("The end date is before the start date.")]
    if errors:
        raise ValidationError(errors)
    qs = cases_for(user)
    q, number, elevator, address = (_normalise(v) for v in (q, number, elevator, address))
    if q:
        if looks_like_order_number(q):
            qs = qs.filter(order_number__startswith=q.upper())
        else:
            qs = qs.filter(_elevator_code_q(q) | Q(source_ref=q) | Q(elevator__address__icontains=q))
    if number:
        qs = qs.filter(order_number__startswith=number.upper())
    if elevator:
        qs = qs.filter(_elevator_code_q(elevator))
    if address:
        qs = qs.filter(elevator__address__icontains=address)
    if date_from or date_to:
        tz = zone_for_path(scope_of(user).area_path)
        if date_from:
            qs = qs.filter(received_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
        if date_to:
            qs = qs.filter(received_at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    if case_type:
        qs = qs.filter(case_type=case_type)
    if channel:
        qs = qs.filter(channel=channel)
    if state == "open":
        qs = qs.filter(state__in=[s.value for s in OPEN_STATES])
    elif state == "closed":
        qs = qs.filter(state__in=[s.value for s in CLOSED_STATES])
    elif state:
        qs = qs.filter(state=state)
    if elevator_id is not None:
        qs = qs.filter(elevator_id=elevator_id)
    return qs.order_by("-received_at", "-pk")


#: the false-alarm predicate of the case history (today: the case closed as a false alarm)
def false_alarm_q():
    from django.db.models import Q

    return Q(state=State.FALSE_ALARM)


def elevator_case_history(user, elevator_id: int, *, show: str = "") -> tuple[QuerySet[EmergencyCase], dict[str, int]]:
    """One elevator's 96333 cases ``user`` may see, newest first, and their counts.

    Args:
        show: ``""`` every case, ``"false_alarm"`` only false alarms, ``"real"`` every case but false alarms
            (anything else: every case).

    Returns:
        ``(cases, {"total": n, "false_alarms": m})`` — the counts over every case of the elevator the user may
        see, whatever ``show`` is (so "176 cases, of which 120 false alarms" stands out).
    """
    from django.db.models import Count

    qs = cases_for(user).filter(elevator_id=elevator_id)
    counts = qs.order_by().aggregate(total=Count("pk"), false_alarms=Count("pk", filter=false_alarm_q()))
    if show == "false_alarm":
        qs = qs.filter(false_alarm_q())
    elif show == "real":
        qs = qs.exclude(false_alarm_q())
    return qs.order_by("-received_at", "-pk"), {"total": counts["total"] or 0, "false_alarms": counts["false_alarms"] or 0}


# --------------------------------------------------------------------------- proof on site, call-backs, caller lookup (issue 15)
def field_records_for(user, case: EmergencyCase):
    """The on-site records (:class:`~liftsafe.emergency.models.FieldRecord`) of ``case`` that ``user`` may read,
    oldest first: the regulator of the area and admins all of them; a responder unit only its own workers'
    (the worker's personal data, issue 15); everyone else none (an empty queryset, never an error).
    ``case`` must already be visible to ``user`` (from :func:`case_get`)."""
    from liftsafe.core.permissions import allowed

    from .models import FieldRecord

    qs = FieldRecord.objects.filter(case_id=case.pk).select_related("milestone", "recorded_by", "organisation")
    if not allowed(user, "case.on_site_view"):
        return qs.none()
    scope = scope_of(user)
    if scope.is_admin:
        return qs
    if scope.role in RESPONDER_ROLES:
        return qs.filter(organisation_id=scope.organisation_id) if scope.organisation_id else qs.none()
    # the regulator: the case's elevator in its area (the case is visible, so it is)
    return qs if scope_cases(scope, EmergencyCase.objects.filter(pk=case.pk)).exists() else qs.none()


def field_record_get(user, case: EmergencyCase, pk: int):
    """One on-site record of ``case`` readable by ``user``. Raises Http404 otherwise."""
    rec = field_records_for(user, case).filter(pk=pk).first()
    if rec is None:
        raise Http404("on-site record not found")
    return rec


def flagged_arrivals(user, *, limit: int = 200):
    """Arrivals recorded far from the lift, without a location or with an unreliable one, newest first — the
    regulator's oversight list (the regulator's cases in scope; admins all; other roles nothing)."""
    from liftsafe.core.permissions import allowed

    from .models import FieldRecord, LocationCheck

    scope = scope_of(user)
    if not allowed(user, "case.on_site_view") or scope.role in RESPONDER_ROLES:
        return FieldRecord.objects.none()
    cases = scope_cases(scope).values("pk")
    return (FieldRecord.objects.filter(case_id__in=cases, milestone__kind=K.ARRIVED,
                                       location_check__in=[LocationCheck.FAR, LocationCheck.MISSING, LocationCheck.UNRELIABLE])
            .select_related("case", "case__elevator", "organisation", "milestone").order_by("-created_at", "-pk")[:limit])


def callbacks_for(user, case: EmergencyCase) -> list:
    """The call-backs of ``case`` (visible to ``user``), oldest first; ``phone`` masked unless ``user`` sees personal data."""
    from .models import CallBack

    rows = list(CallBack.objects.filter(case_id=case.pk).select_related("recorded_by"))
    if not sees_personal_data(scope_of(user)):
        for cb in rows:
            cb.phone = mask_phone(cb.phone)
            cb.save = None  # a masked row must never be written back
    return rows


def phone_key(phone: str) -> str:
    """The comparable part of a phone number: its digits without an international prefix, last 10 digits at most
    (``+86 138-1234-5678`` and ``13812345678`` → ``3812345678``; ``+1 (212) 555-0100`` → ``2125550100``).
    ``""`` when fewer than 7 digits (too short to identify a caller)."""
    digits = "".join(c for c in str(phone or "") if c.isdigit())
    if len(digits) < 7:
        return ""
    return digits[-10:]


@dataclass
class CallerLookup:
    """Result of :func:`caller_lookup`: ``phone`` (as typed, masked unless the user sees personal data),
    ``cases`` (the caller's earlier cases in scope, newest first, masked as needed, at most ``limit``),
    ``total`` (how many such cases), ``elevators`` (the lifts in scope at the addresses of those cases'
    lifts: same building, else same address), ``masked`` (phones masked for this user)."""

    phone: str
    cases: list
    total: int
    elevators: list
    masked: bool


def caller_lookup(user, phone: str, *, limit: int | None = None) -> CallerLookup:
    """Who is calling? A caller's earlier cases (by the case's caller phone or a call attached to it) and the
    lifts at their address, all within ``user``'s scope (issue 15, the operator's pop-up).

    Raises: PermissionDenied (role may not look up callers); ValidationError ``phone`` (fewer than 7 digits)."""
    from django.core.exceptions import ValidationError
    from django.db.models import Q
    from django.utils.translation import gettext as _

    from liftsafe.core.permissions import require
    from liftsafe.registry.models import Elevator
    from liftsafe.rules import rule

    require(user, "caller.lookup")
    key = phone_key(phone)
    if not key:
        raise ValidationError({"phone": [_("Enter a phone number of at least 7 digits.")]})
    limit = limit or int(rule("telephony_lookup_max_cases"))
    scope = scope_of(user)
    tail = key[-4:]
    base = scope_cases(scope, EmergencyCase.objects.all())
    base._iterable_class = ModelIterable  # match on the real numbers; masking happens on the way out
    attached = Milestone.objects.filter(kind=K.CALL_ATTACHED, data__caller_phone__icontains=tail).values("case_id", "data")
    attached_ids = {row["case_id"] for row in attached if phone_key((row["data"] or {}).get("caller_phone", "")) == key}
    candidates = base.filter(Q(caller_phone__contains=tail) | Q(pk__in=attached_ids)).values_list("pk", "caller_phone")
    ids = [pk for pk, p in candidates if phone_key(p) == key or pk in attached_ids]
    matched = scope_cases(scope, EmergencyCase.objects.filter(pk__in=ids)).select_related(
        "elevator", "elevator__area", "elevator__building", "responder").order_by("-received_at", "-pk")
    cases = list(matched[:limit])
    total = len(ids)
    lifts = {c.elevator for c in cases}
    building_ids = {e.building_id for e in lifts if e.building_id}
    addresses = {e.address for e in lifts if not e.building_id and e.address}
    elevators = []
    if building_ids or addresses:
        elevators = list(scope_elevators(scope, Elevator.objects.filter(Q(building_id__in=building_ids) | Q(address__in=addresses)))
                         .select_related("area", "building").order_by("address", "pk")[:100])
    masked = not sees_personal_data(scope)
    shown = mask_phone(phone) if masked else phone.strip()
    return CallerLookup(shown, cases, total, elevators, masked)
