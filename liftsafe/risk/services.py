"""Risk writes: key periods, recomputes and red-list tasks. Each takes the user first, checks the action of
:data:`liftsafe.core.permissions.ACTIONS`, validates naming the field and runs in one transaction.

Flow handlers (``on_*``) are registered in :class:`~liftsafe.risk.apps.RiskConfig` and recompute one lift
incrementally when an owning app reports a changed input.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.errors import Conflict
from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.models import Area
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.hazards.models import Level, Source
from liftsafe.hazards.services import lead_raise
from liftsafe.registry.codes import PLACE_TYPE_CHOICES
from liftsafe.registry.models import Elevator

from . import messages as msg
from .compute import lifts_of_period, recompute
from .config import model
from .models import Colour, KeyPeriod, RiskScore, RiskTask, UpliftKind

PLACE_TYPES = {k for k, _v in PLACE_TYPE_CHOICES}
MAX_UPLIFT_POINTS = 100.0


# --------------------------------------------------------------------------- key periods
def _areas_in_scope(user, area_ids) -> list[Area]:
    """The areas named by ``area_ids`` that the user may declare key periods for (its area and below)."""
    errs = []
    if not isinstance(area_ids, (list, tuple)) or not area_ids:
        raise ValidationError({"areas": [_("Choose at least one area.")]})
    ids = []
    for a in area_ids:
        try:
            ids.append(int(a))
        except (TypeError, ValueError):
            errs.append(_("%(v)r is not an area id.") % {"v": a})
    if errs:
        raise ValidationError({"areas": errs})
    scope = scope_of(user)
    qs = Area.objects.filter(pk__in=ids)
    if not scope.is_admin:
        qs = qs.filter(path__startswith=scope.area_path or "\x00")
    found = list(qs)
    missing = set(ids) - {a.pk for a in found}
    if missing:
        raise ValidationError({"areas": [_("Unknown area or outside your area: %(ids)s.") % {"ids": ", ".join(map(str, sorted(missing)))}]})
    return found


def _clean_period(values: dict) -> dict:
    errs: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errs["name"] = [_("A name is required.")]
    elif len(name) > 120:
        errs["name"] = [_("At most 120 characters.")]
    start, end = values.get("starts_at"), values.get("ends_at")
    for field, v in (("starts_at", start), ("ends_at", end)):
        if not isinstance(v, dt.datetime):
            errs.setdefault(field, []).append(_("A date and time is required."))
        elif timezone.is_naive(v):
            errs.setdefault(field, []).append(_("Give the time with its time zone."))
    if "starts_at" not in errs and "ends_at" not in errs and end <= start:
        errs["ends_at"] = [_("The end must be after the start.")]
    pts = values.get("place_types") or []
    if not isinstance(pts, (list, tuple)) or any(isinstance(p, bool) or not isinstance(p, int) or p not in PLACE_TYPES for p in pts):
        errs["place_types"] = [_("Unknown place type; expected codes %(all)s.") % {"all": ", ".join(map(str, sorted(PLACE_TYPES)))}]
    kind = values.get("uplift_kind") or UpliftKind.BAND
    if kind not in UpliftKind.values:
        errs["uplift_kind"] = [_("Choose “points” or “band”.")]
    points = values.get("uplift_points") or 0
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 <= points <= MAX_UPLIFT_POINTS:
        errs["uplift_points"] = [_("Give points between 0 and %(max)s.") % {"max": int(MAX_UPLIFT_POINTS)}]
    elif kind == UpliftKind.POINTS and points <= 0:
        errs["uplift_points"] = [_("A points uplift needs points above 0.")]
    note = str(values.get("note") or "")
    if len(note) > 255:
        errs["note"] = [_("At most 255 characters.")]
    if errs:
        raise ValidationError(errs)
    return {"name": name, "starts_at": start, "ends_at": end, "place_types": sorted(set(pts)), "uplift_kind": kind,
            "uplift_points": float(points) if kind == UpliftKind.POINTS else 0.0, "note": note}


def key_period_create(user, *, areas: list[int], **values: Any) -> KeyPeriod:
    """Declare a key period (regulator of the areas). ``values``: ``name``, ``starts_at``/``ends_at`` (aware),
    ``place_types`` (codes, empty = all), ``uplift_kind`` (``band``/``points``), ``uplift_points``, ``note``.

    A period already in force starts its uplift at once (recorded as ``key_period_start``).
    Raises: PermissionDenied; ValidationError naming the field (end before start, unknown place type, area
    outside the caller's)."""
    require(user, "risk.manage_key_periods")
    errs = {}
    try:
        clean = _clean_period(values)
    except ValidationError as e:
        errs.update(e.message_dict)
    try:
        area_objs = _areas_in_scope(user, areas)
    except ValidationError as e:
        errs.update(e.message_dict)
    if errs:
        raise ValidationError(errs)
    with transaction.atomic():
        p = KeyPeriod(created_by=user, **clean)
        save_with_history(p, user, encode(msg.KEY_PERIOD_CREATED))
        p.areas.set(area_objs)
    apply_key_periods()
    return p


def key_period_update(user, period: KeyPeriod, *, version: int | None, areas: list[int], **values: Any) -> KeyPeriod:
    """Change a key period (same fields as :func:`key_period_create`). A stale ``version`` raises ``Conflict``.
    Lifts affected before or after the change are recomputed when the period is in force."""
    require(user, "risk.manage_key_periods", period)
    errs = {}
    try:
        clean = _clean_period(values)
    except ValidationError as e:
        errs.update(e.message_dict)
    try:
        area_objs = _areas_in_scope(user, areas)
    except ValidationError as e:
        errs.update(e.message_dict)
    if errs:
        raise ValidationError(errs)
    with transaction.atomic():
        p = KeyPeriod.objects.select_for_update().get(pk=period.pk)
        if version is not None and version != p.version:
            raise Conflict({"version": [_("The key period changed since you opened it (now version %(v)d); reload and redo your change.") % {"v": p.version}]})
        before = set(lifts_of_period(p))
        changed = [k for k, v in clean.items() if getattr(p, k) != v]
        for k, v in clean.items():
            setattr(p, k, v)
        p.version += 1
        now = timezone.now()
        # moved back into the future or extended: the start/end are re-armed
        if p.starts_at > now:
            p.applied_at = None
        if p.ends_at > now:
            p.expired_at = None
        save_with_history(p, user, encode(msg.KEY_PERIOD_UPDATED, fields=changed))
        p.areas.set(area_objs)
        if p.applied_at and not p.expired_at:
            recompute(before | set(lifts_of_period(p)), trigger="key_period_changed", user=user, key_period=p)
    apply_key_periods()
    return p


def apply_key_periods(now: dt.datetime | None = None) -> dict[str, int]:
    """Start and end key-period uplifts that are due (the scheduled job; idempotent).

    A period whose start has passed and whose uplift has not started: its lifts are recomputed (trigger
    ``key_period_start``) and ``applied_at`` set; one whose end has passed: recomputed again (``key_period_end``)
    and ``expired_at`` set. Both show in each lift's colour history. Returns ``{"started": n, "ended": n}``."""
    now = now or timezone.now()
    out = {"started": 0, "ended": 0}
    for pk in KeyPeriod.objects.filter(starts_at__lte=now, applied_at__isnull=True, ends_at__gt=now).values_list("pk", flat=True):
        with transaction.atomic():
            p = KeyPeriod.objects.select_for_update(skip_locked=True).filter(pk=pk, applied_at__isnull=True).first()
            if p is None:
                continue
            recompute(lifts_of_period(p), trigger="key_period_start", now=now, key_period=p)
            p.applied_at = now
            save_with_history(p, None, encode(msg.KEY_PERIOD_STARTED))
            out["started"] += 1
    for pk in KeyPeriod.objects.filter(ends_at__lte=now, expired_at__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            p = KeyPeriod.objects.select_for_update(skip_locked=True).filter(pk=pk, expired_at__isnull=True).first()
            if p is None:
                continue
            if p.applied_at is not None:  # a period that never started (declared after its end) has nothing to undo
                recompute(lifts_of_period(p), trigger="key_period_end", now=now, key_period=p)
            p.expired_at = now
            save_with_history(p, None, encode(msg.KEY_PERIOD_ENDED))
            out["ended"] += 1
    return out


# --------------------------------------------------------------------------- recompute
def recompute_all(user=None, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Full recompute of every lift (the nightly job with ``user`` None; a regulator/admin on demand).
    Raises PermissionDenied when ``user`` may not ``risk.recompute``."""
    if user is not None:
        require(user, "risk.recompute")
    return recompute(None, trigger="manual" if user is not None else "nightly", user=user, now=now)


def recompute_elevator(user, elevator: Elevator) -> RiskScore:
    """Recompute one lift on demand (``risk.recompute`` on the elevator, in scope)."""
    require(user, "risk.recompute", elevator)
    recompute([elevator.pk], trigger="manual", user=user)
    return RiskScore.objects.get(elevator=elevator)


def on_input_changed(flow: str, elevator_ids) -> None:
    """Incremental recompute of the lifts an owning app reports changed (a flow handler)."""
    ids = [int(i) for i in elevator_ids if i is not None]
    if ids:
        recompute(ids, trigger=f"flow:{flow}")


def on_case_closed(*, elevator_id: int, received_at: dt.datetime | None = None, **_kw) -> None:
    """Handler of ``emergency.case_closed``. A case received before the scoring window cannot change the score
    (cases count by ``received_at``), so it recomputes nothing — replays of old tickets stay cheap."""
    if received_at is not None and received_at < timezone.now() - dt.timedelta(days=model().window_days):
        return
    on_input_changed("emergency.case_closed", [elevator_id])


def on_hazard_changed(*, elevator_id: int, **_kw) -> None:
    """Handler of ``hazards.changed``."""
    on_input_changed("hazards.changed", [elevator_id])


def on_validity_changed(*, elevator_ids, **_kw) -> None:
    """Handler of ``inspection.validity_changed``."""
    on_input_changed("inspection.validity_changed", elevator_ids)


# --------------------------------------------------------------------------- red-list tasks
def red_tasks_create(user, *, elevator_ids: list[int] | None = None) -> list[RiskTask]:
    """Create the supervision task (a hazard lead, source spot check) of each red lift in the caller's scope that
    has none for its current red episode. Idempotent: a second call creates nothing; a lift that turns red again
    later gets a new task. ``elevator_ids`` narrows to those lifts (ids outside the scope are refused).
    Returns the tasks created."""
    require(user, "risk.create_tasks")
    from .selectors import scores_for

    qs = scores_for(user).filter(colour=Colour.RED).select_related("elevator")
    if elevator_ids is not None:
        ids = {int(i) for i in elevator_ids}
        found = set(qs.filter(elevator_id__in=ids).values_list("elevator_id", flat=True))
        if ids - found:
            raise ValidationError({"elevator_ids": [_("Not red or not in your area: %(ids)s.") % {"ids": ", ".join(map(str, sorted(ids - found)))}]})
        qs = qs.filter(elevator_id__in=ids)
    created = []
    for s in qs.order_by("-score", "elevator_id"):
        if RiskTask.objects.filter(elevator_id=s.elevator_id, red_since=s.colour_since).exists():
            continue
        try:
            with transaction.atomic():
                ref = f"risk:{s.elevator_id}:{s.colour_since:%Y%m%dT%H%M%S}"
                top = sorted(((k, f["points"]) for k, f in s.factors.items() if f.get("points")), key=lambda x: -x[1])[:3]
                hazard = lead_raise(elevator=s.elevator, source=Source.SPOT_CHECK, source_ref=ref[:64],
                                    title=_("Red risk: supervise lift %(code)s") % {"code": s.elevator.display_code},
                                    level=Level.SIGNIFICANT, occurred_on=timezone.localdate(),
                                    extra={"risk_score": s.score, "risk_factors": [k for k, _p in top]})
                t = RiskTask(elevator_id=s.elevator_id, red_since=s.colour_since, score=s.score, hazard=hazard, created_by=user)
                save_with_history(t, user, encode(msg.TASK_CREATED, score=round(s.score, 1)))
                created.append(t)
        except IntegrityError:  # a concurrent call made it first
            continue
    return created


def recompute_scope(user) -> dict[str, int]:
    """Recompute every lift in the caller's scope now (``risk.recompute``; an admin: every lift)."""
    require(user, "risk.recompute")
    from liftsafe.registry.selectors import elevators_for

    return recompute(list(elevators_for(user).values_list("pk", flat=True)), trigger="manual", user=user)
