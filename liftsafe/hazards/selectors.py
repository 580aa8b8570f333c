"""Hazard reads, always scoped to the caller.

Visibility (issue 5): regulators, operators and rescue stations by area; a
responsible unit sees the hazards it is responsible for plus (as every other
role) the hazards of the elevators it may see under registry scoping
(:func:`liftsafe.registry.selectors.scope_elevators`). Out of scope = 404.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.models import Area, Role
from liftsafe.core.zones import before_local_today_q
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import OPEN_STATES, Campaign, Evidence, Hazard, Level, Recheck, State, StopUseOrder


def hazards_for(user) -> QuerySet[Hazard]:
    """All hazards ``user`` may see."""
    scope = scope_of(user)
    qs = Hazard.objects.all()
    if scope.is_admin:
        return qs
    if scope.sees_nothing:
        return qs.none()
    by_elevator = scope_elevators(scope, Hazard.objects.all(), prefix="elevator__")
    if scope.role in (Role.USE_UNIT, Role.MAINTENANCE_UNIT) and scope.organisation_id:
        return qs.filter(Q(responsible_unit_id=scope.organisation_id) | Q(pk__in=by_elevator.values("pk")))
    return by_elevator


def with_overdue(qs: QuerySet[Hazard], today: dt.date | None = None) -> QuerySet[Hazard]:
    """Annotate ``overdue_now`` (open and deadline < today), derived at read time; "today" is the date in the zone
    of each hazard's area unless ``today`` is given (issue 16)."""
    past = Q(deadline__lt=today) if today else before_local_today_q("deadline")
    return qs.annotate(overdue_now=Case(When(past, state__in=OPEN_STATES, then=Value(True)),
                                        default=Value(False), output_field=BooleanField()))


def overdue_q(today: dt.date | None = None) -> Q:
    """Open and past the deadline: ``today`` if given, else the date in the zone of each hazard's area."""
    past = Q(deadline__lt=today) if today else before_local_today_q("deadline")
    return Q(state__in=OPEN_STATES) & past


def hazard_get(user, pk: int) -> Hazard:
    """One hazard if visible. Raises Http404 otherwise (missing and out of scope look the same)."""
    obj = hazards_for(user).select_related("elevator", "area", "responsible_unit", "filed_by", "closed_by").filter(pk=pk).first()
    if obj is None:
        raise Http404("hazard not found")
    return obj


def hazard_search(user, *, q: str = "", state: str | None = None, level: str | None = None, area: str | None = None,
                  source: str | None = None, overdue: bool | None = None, listed: bool | None = None,
                  responsible_unit: int | None = None, elevator: int | None = None, open_only: bool = False) -> QuerySet[Hazard]:
    """Filter the caller's hazards; ``area`` is an area code (everything below it). Newest first."""
    qs = hazards_for(user)
    if q:
        q = q.strip()
        cond = Q(title__icontains=q) | Q(elevator__source_id=q) | Q(elevator__registration_code=q) | Q(source_ref=q)
        if q.lstrip("#").isdigit():
            cond |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(cond)
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if level:
        qs = qs.filter(level=level)
    if area:
        node = Area.objects.filter(code=area).only("path").first()
        qs = qs.filter(area__path__startswith=node.path) if node else qs.none()
    if source:
        qs = qs.filter(source=source)
    if overdue:
        qs = qs.filter(overdue_q())
    if listed:
        qs = qs.filter(listed=True)
    if responsible_unit:
        qs = qs.filter(responsible_unit_id=responsible_unit)
    if elevator:
        qs = qs.filter(elevator_id=elevator)
    return with_overdue(qs).select_related("elevator", "area", "responsible_unit").order_by("-filed_at", "-id")


def my_open_hazards(user) -> QuerySet[Hazard]:
    """The responsible unit's own open hazards, nearest deadline first."""
    scope = scope_of(user)
    if not scope.organisation_id:
        return Hazard.objects.none()
    return with_overdue(hazards_for(user).filter(responsible_unit_id=scope.organisation_id, state__in=OPEN_STATES)) \
        .select_related("elevator", "area").order_by("deadline", "id")


def evidence_for(user, hazard: Hazard) -> QuerySet[Evidence]:
    hazard_get(user, hazard.pk)
    return hazard.evidence.select_related("uploaded_by").order_by("uploaded_at", "id")


def evidence_get(user, pk: int) -> Evidence:
    """One evidence file, only if the caller may see its hazard (else Http404)."""
    ev = Evidence.objects.filter(pk=pk, hazard__in=hazards_for(user)).first()
    if ev is None:
        raise Http404("evidence not found")
    return ev


_REASONS = [
    (r"^filed$", _l("filed")), (r"^lead raised$", _l("lead raised")), (r"^lead accepted$", _l("lead accepted")),
    (r"^lead dismissed$", _l("lead dismissed")), (r"^edited$", _l("edited")),
    (r"^listed \((\w+)\)$", _l("listed for supervision (%s)")), (r"^stop-use ordered$", _l("stop-use ordered")),
    (r"^rectifying$", _l("rectification started")), (r"^evidence (.+)$", _l("evidence uploaded: %s")),
    (r"^submitted$", _l("submitted for verification")), (r"^sent back$", _l("sent back")),
    (r"^closed \(verified\)$", _l("verified and closed out")),
    (r"^reopened: recurrence in campaign (\d+)$", _l("reopened on recurrence (campaign %s)")),
    (r"^lifted by close-out of hazard #(\d+)$", _l("stop-use order lifted by the close-out of hazard #%s")),
    (r"^re-check (pass|recurrence)$", _l("re-check recorded: %s")), (r"^launched$", _l("campaign launched")),
    (r"^created$", _l("created")), (r"^changed$", _l("changed")), (r"^deleted$", _l("deleted")),
]
_REASONS = [(re.compile(rx), label) for rx, label in _REASONS]
KIND_LABELS = {"hazard": _l("Hazard"), "order": _l("Stop-use order"), "recheck": _l("Re-check")}


def reason_label(reason: str) -> str:
    """Display label of an audit reason in the active language: a note of :mod:`liftsafe.core.messages` (kind +
    parameters, or an old sentence a kind recognises), else the older short codes below, else the text as is."""
    from liftsafe.core.messages import parse, render

    if parse(reason) is not None:
        return render(reason)
    for rx, label in _REASONS:
        m = rx.match(reason)
        if m:
            arg = m.group(1) if m.groups() else None
            if arg in ("pass", "recurrence"):
                arg = str(dict(Recheck.Result.choices)[arg])
            elif arg in ("province", "city", "district"):
                from .models import AuthorityLevel

                arg = str(dict(AuthorityLevel.choices)[arg])
            return str(label) % arg if arg is not None else str(label)
    return reason


def _choices(field: str) -> dict:
    try:
        return dict(Hazard._meta.get_field(field).choices or [])
    except Exception:  # noqa: BLE001 - unknown field in an old history row
        return {}


_USER_FIELDS = {"closed_by": _l("closed by"), "filed_by": _l("filed by")}


def _change(field: str, old, new) -> tuple:
    """(field label, old, new) for display: verbose names, choice labels and user names instead of codes."""
    if field in _USER_FIELDS:
        from django.contrib.auth import get_user_model

        names = dict(get_user_model().objects.filter(pk__in=[x for x in (old, new) if x]).values_list("pk", "username"))
        return (str(_USER_FIELDS[field]), names.get(old, old), names.get(new, new))
    if field == "responsible_unit":
        from liftsafe.registry.models import Organisation

        names = dict(Organisation.objects.filter(pk__in=[x for x in (old, new) if x]).values_list("pk", "name"))
        old, new = names.get(old, old), names.get(new, new)
    try:
        label = str(Hazard._meta.get_field(field).verbose_name)
    except Exception:  # noqa: BLE001 - unknown field in an old history row
        label = field
    labels = _choices(field)
    if labels:
        old, new = labels.get(old, old), labels.get(new, new)
    yes_no = {True: str(_l("yes")), False: str(_l("no"))}
    old, new = (yes_no.get(x, x) if isinstance(x, bool) else x for x in (old, new))
    return (label, old, new)


def hazard_timeline(user, hazard: Hazard) -> list[dict]:
    """The hazard's audit history, newest first: ``{"at", "user", "reason", "changes": [(field, old, new)]}``."""
    hazard_get(user, hazard.pk)
    records = list(hazard.history.select_related("history_user").order_by("history_date", "history_id"))
    out, prev = [], None
    for rec in records:
        changes = []
        if prev is not None:
            changes = [_change(c.field, c.old, c.new) for c in rec.diff_against(prev).changes if c.field not in ("version",)]
        out.append({"at": rec.history_date, "user": rec.history_user.get_username() if rec.history_user else None,
                    "reason": rec.history_change_reason or "", "label": reason_label(rec.history_change_reason or ""), "changes": changes, "version": rec.version, "state": rec.state})
        prev = rec
    out.reverse()
    return out


@dataclass
class ElevatorFile:
    """A problem-elevator file (问题电梯档案): everything the hazards module knows about one elevator."""

    elevator: object
    hazards: list
    orders: list
    rechecks: list
    events: list  # merged audit history of all of the above, newest first
    active_order: object | None


def elevator_file(user, elevator_id: int) -> ElevatorFile:
    """The problem-elevator file of one elevator the caller may see (hazards, orders, re-checks, history)."""
    from liftsafe.registry.selectors import elevator_get

    hazards = list(with_overdue(hazards_for(user).filter(elevator_id=elevator_id)).select_related("responsible_unit").order_by("-filed_at", "-id"))
    if hazards:
        elevator = hazards[0].elevator
    else:
        elevator = elevator_get(user, elevator_id)
    ids = [h.pk for h in hazards]
    orders = list(StopUseOrder.objects.filter(elevator_id=elevator_id, hazard_id__in=ids).order_by("-ordered_at"))
    rechecks = list(Recheck.objects.filter(hazard_id__in=ids).select_related("campaign").order_by("-id"))
    events = []
    for model, objs, label in ((Hazard, ids, "hazard"), (StopUseOrder, [o.pk for o in orders], "order"),
                               (Recheck, [r.pk for r in rechecks], "recheck")):
        for rec in model.history.filter(id__in=objs).select_related("history_user").order_by("history_date")[:2000]:
            events.append({"at": rec.history_date, "kind": label, "kind_label": KIND_LABELS[label], "object_id": rec.id,
                           "hazard_id": rec.id if label == "hazard" else rec.hazard_id,
                           "user": rec.history_user.get_username() if rec.history_user else None,
                           "reason": reason_label(rec.history_change_reason or {"+": "created", "~": "changed", "-": "deleted"}[rec.history_type])})
    events.sort(key=lambda e: e["at"], reverse=True)
    active = next((o for o in orders if o.lifted_at is None), None)
    return ElevatorFile(elevator=elevator, hazards=hazards, orders=orders, rechecks=rechecks, events=events, active_order=active)


def problem_elevators(user, *, area: str | None = None) -> QuerySet:
    """Elevators with at least one visible hazard (not dismissed), with counts, most open hazards first."""
    qs = hazards_for(user).exclude(state=State.DISMISSED)
    if area:
        node = Area.objects.filter(code=area).only("path").first()
        qs = qs.filter(area__path__startswith=node.path) if node else qs.none()
    return (qs.values("elevator_id", "elevator__source", "elevator__source_id", "elevator__address", "elevator__status", "area__name")
            .annotate(total=Count("id"), open=Count("id", filter=Q(state__in=OPEN_STATES)),
                      leads=Count("id", filter=Q(state=State.LEAD)), major=Count("id", filter=Q(level=Level.MAJOR)))
            .order_by("-open", "-total", "elevator_id"))


def campaigns_for(user) -> QuerySet[Campaign]:
    """Campaigns over the caller's area (area roles), all (admin), or with re-checks on elevators it serves."""
    scope = scope_of(user)
    qs = Campaign.objects.select_related("area")
    if scope.is_admin:
        return qs
    if scope.sees_nothing:
        return qs.none()
    if scope.area_path:
        return qs.filter(area__path__startswith=scope.area_path)
    return qs.filter(pk__in=Recheck.objects.filter(hazard__in=hazards_for(user)).values("campaign_id"))


def campaign_get(user, pk: int) -> Campaign:
    obj = campaigns_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("campaign not found")
    return obj


def campaign_rechecks(user, campaign: Campaign) -> QuerySet[Recheck]:
    return (Recheck.objects.filter(campaign=campaign, hazard__in=hazards_for(user))
            .select_related("hazard__elevator", "checked_by").order_by("result", "stratum", "id"))


def campaign_summary(campaign: Campaign) -> dict:
    """Counts of the campaign's re-checks by stratum and result."""
    rows = Recheck.objects.filter(campaign=campaign).values("stratum", "result").annotate(n=Count("id"))
    out: dict = {"by_stratum": {}, "pass": 0, "recurrence": 0, "pending": 0, "listed": 0}
    for r in rows:
        out["by_stratum"].setdefault(r["stratum"], {"pass": 0, "recurrence": 0, "pending": 0})[r["result"]] = r["n"]
        out[r["result"]] += r["n"]
    out["listed"] = Recheck.objects.filter(campaign=campaign, listed=True).count()
    done = out["pass"] + out["recurrence"]
    out["recurrence_rate"] = (out["recurrence"] / done) if done else None
    return out


STAT_COLUMNS = ["area", "level", "filed", "closed", "closed_on_time", "open", "overdue", "listed_open",
                "rechecked", "recurrences", "rectification_rate", "on_time_rate", "recurrence_rate"]


def statistics(user, *, area: str | None = None, group_by_area: bool = True) -> list[dict]:
    """Rectification statistics of the caller's hazards by area (the hazard's filing area) and level.

    - rectification rate = closed ÷ filed (filed = accepted hazards: not leads or dismissed);
    - on-time rate = closed on or before the deadline ÷ closed;
    - recurrence rate = re-checks finding a recurrence ÷ re-checks done;
    - overdue backlog = open past the deadline; listed backlog = open and listed.
    Rates are None when the denominator is 0. The last row (area "*", level "*") is the total.
    """
    qs = hazards_for(user).filter(filed_q())
    if area:
        node = Area.objects.filter(code=area).only("path").first()
        qs = qs.filter(area__path__startswith=node.path) if node else qs.none()
    keys = ["area__code", "area__name", "level"] if group_by_area else ["level"]
    agg = dict(filed=Count("id"), closed=Count("id", filter=Q(state=State.CLOSED)),
               closed_on_time=Count("id", filter=Q(state=State.CLOSED, closed_on_time=True)),
               open=Count("id", filter=Q(state__in=OPEN_STATES)),
               overdue=Count("id", filter=overdue_q()),  # past the deadline where each lift is
               listed_open=Count("id", filter=Q(state__in=OPEN_STATES, listed=True)))
    rows = list(qs.values(*keys).annotate(**agg).order_by(*keys))
    rc = (Recheck.objects.filter(hazard__in=qs).exclude(result=Recheck.Result.PENDING)
          .values(*[f"hazard__{k}" for k in keys]).annotate(done=Count("id"), rec=Count("id", filter=Q(result=Recheck.Result.RECURRENCE))))
    rc_map = {tuple(r[f"hazard__{k}"] for k in keys): r for r in rc}
    level_rank = {lv: i for i, lv in enumerate([Level.MAJOR, Level.SIGNIFICANT, Level.GENERAL])}
    out = []
    total = {k: 0 for k in ("filed", "closed", "closed_on_time", "open", "overdue", "listed_open", "rechecked", "recurrences")}
    for r in rows:
        k = tuple(r[x] for x in keys)
        done = rc_map.get(k, {}).get("done", 0)
        rec = rc_map.get(k, {}).get("rec", 0)
        row = {"area": f"{r.get('area__name', '')}" if group_by_area else "*", "area_code": r.get("area__code", "*"),
               "level": r["level"], **{x: r[x] for x in agg}, "rechecked": done, "recurrences": rec}
        for x in total:
            total[x] += row[x]
        out.append(row)
    out.sort(key=lambda r: (r["area_code"], level_rank.get(r["level"], 9)))
    out.append({"area": "*", "area_code": "*", "level": "*", **total})
    for row in out:
        row["rectification_rate"] = row["closed"] / row["filed"] if row["filed"] else None
        row["on_time_rate"] = row["closed_on_time"] / row["closed"] if row["closed"] else None
        row["recurrence_rate"] = row["recurrences"] / row["rechecked"] if row["rechecked"] else None
    return out


# --------------------------------------------------------------------------- responsible units
RESPONSIBLE_UNIT_KINDS = ("use_unit", "maintenance_unit")
UNIT_SEARCH_LIMIT = 20


def responsible_unit_choices(user, elevator) -> list:
    """The default responsible-unit choices of ``elevator``: its use unit first (the use unit is responsible for
    the elevator's safety, docs/domain §7 / Special Equipment Safety Law art. 33), then its current maintenance unit
    (:func:`liftsafe.registry.selectors.maintenance_unit_on`). At most 2 organisations, no duplicates."""
    from liftsafe.registry.selectors import elevator_get, maintenance_unit_on

    elevator = elevator_get(user, elevator.pk)
    out = []
    for org in (elevator.use_unit, maintenance_unit_on(elevator)):
        if org is not None and org.kind in RESPONSIBLE_UNIT_KINDS and org not in out:
            out.append(org)
    return out


def responsible_unit_search(user, q: str, limit: int = UNIT_SEARCH_LIMIT) -> QuerySet:
    """Use and maintenance units in ``user``'s scope whose name contains ``q`` (case-insensitive), by name,
    at most ``limit`` (default 20). Empty ``q`` → nothing."""
    from liftsafe.registry.selectors import organisations_for

    q = " ".join((q or "").split())
    if not q:
        return organisations_for(user).none()
    return organisations_for(user).filter(kind__in=RESPONSIBLE_UNIT_KINDS, name__icontains=q).order_by("name", "id")[:limit]


def responsible_unit_allowed(user, unit, elevator=None) -> bool:
    """True if ``user`` may make ``unit`` responsible for a hazard on ``elevator``: the elevator's own use unit
    or current maintenance unit, or any organisation in the user's scope (``organisations_for``)."""
    from liftsafe.registry.selectors import maintenance_unit_on, organisations_for

    if elevator is not None:
        mu = maintenance_unit_on(elevator)
        if unit.pk in (elevator.use_unit_id, mu.pk if mu else None):
            return True
    return organisations_for(user).filter(pk=unit.pk).exists()


# --------------------------------------------------------------------------- record counts
def hazard_counts(user, *, area: str | None = None) -> dict:
    """What the hazard list (/hazards/) holds for ``user``, by kind of record — one definition per number:

    - ``records``: everything the list shows (leads, dismissed leads and hazards);
    - ``leads``: leads awaiting acceptance (state lead: e.g. imported incident reports, IoT patterns);
    - ``dismissed``: leads dismissed as not a hazard;
    - ``filed``: filed hazards = accepted (every state but lead and dismissed); the statistics' "filed".
    ``records == leads + dismissed + filed``.
    """
    qs = hazards_for(user)
    if area:
        node = Area.objects.filter(code=area).only("path").first()
        qs = qs.filter(area__path__startswith=node.path) if node else qs.none()
    c = qs.aggregate(records=Count("id"), leads=Count("id", filter=Q(state=State.LEAD)),
                     dismissed=Count("id", filter=Q(state=State.DISMISSED)), filed=Count("id", filter=filed_q()))
    return c


def filed_q() -> Q:
    """The definition of a filed hazard (accepted; not a lead, not a dismissed lead), used by statistics and counts."""
    return ~Q(state__in=[State.LEAD, State.DISMISSED])
