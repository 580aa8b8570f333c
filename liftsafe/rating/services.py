"""Rating writes: one function per action, permission first, full validation naming the field, one transaction,
history on every save (docs/domain §9, §15.4).

Errors: ``ValidationError({field: [reason]})`` for bad input, ``NotFound`` outside the scope, ``PermissionDenied``
for a role or condition refused (the reviewer was the scorer), ``ValidationError({"state": …})`` for a transition
the rating's state does not allow (:data:`~liftsafe.rating.workflow.RATING_FLOW`).
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.models import Area
from liftsafe.core.notifications import notify
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import local_date
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.rules import rule

from . import domain, facts, messages as msg, selectors
from .models import CreditEntry, Objection, Rating, RatingState, Sheet
from .sheets import SHIPPED_SHEETS
from .workflow import RATING_FLOW

TEXT_MAX = 4000


def ensure_shipped_sheets() -> list[Sheet]:
    """Install the shipped example sheets (docs/domain §15.4) once; an edited copy is never overwritten."""
    out = []
    for code, cfg in SHIPPED_SHEETS.items():
        domain.validate_sheet(cfg)
        s, _created = Sheet.objects.get_or_create(code=code, defaults={"name": cfg["name"], "config": cfg, "shipped": True})
        out.append(s)
    return out


@transaction.atomic
def sheet_save(user, config: dict) -> Sheet:
    """Create or replace the sheet ``config["code"]`` after :func:`~liftsafe.rating.domain.validate_sheet`
    (errors name the field, e.g. ``bands[1].min``). Ratings keep the configuration they were computed with."""
    require(user, "rating.sheet")
    domain.validate_sheet(config)
    s = Sheet.objects.filter(code=config["code"]).first() or Sheet(code=config["code"])
    s.name, s.config, s.active = config["name"], config, True
    return save_with_history(s, user, encode(msg.SHEET_SAVED))


def _text(value, field: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > TEXT_MAX:
        raise ValidationError({field: [_("At most %(n)d characters.") % {"n": TEXT_MAX}]})
    return text


def _rating_area(user, unit: Organisation) -> Area:
    scope = scope_of(user)
    if scope.area_path:
        return Area.objects.get(path=scope.area_path)
    if unit.area_id:
        return unit.area
    raise ValidationError({"unit": [_("%(unit)s has no area; a rating belongs to an area.") % {"unit": unit.name}]})


@transaction.atomic
def rating_run(user, *, sheet_code: str, on: dt.date, unit_ids: list[int] | None = None,
               now: dt.datetime | None = None) -> list[Rating]:
    """Draft the ratings of ``sheet_code`` for the period containing ``on`` (the sheet's window), one per maintenance
    unit of the caller's area (or the given ``unit_ids``, each inside it). An existing draft is recomputed; a
    published rating is left alone (its changes go through an objection). A unit with no lifts in the period is
    drafted as *not rated* (docs/domain §15.4 minimum sample), never a perfect score.

    Raises:
        ValidationError: ``sheet`` unknown or inactive; ``on`` in the future; ``unit_ids`` not maintenance units.
        NotFound: a unit outside the caller's scope.
    """
    require(user, "rating.run")
    ensure_shipped_sheets()
    sheet = Sheet.objects.filter(code=sheet_code, active=True).first()
    if sheet is None:
        raise ValidationError({"sheet": [_("Unknown or inactive scoring sheet.")]})
    cfg = domain.validate_sheet(sheet.config)
    today = timezone.localdate()
    if on > today:
        raise ValidationError({"on": [_("A period in the future cannot be rated.")]})
    start, end = domain.period_for(cfg["window"], on)
    units = selectors.units_to_rate(user)
    if unit_ids is not None:
        found = {u.pk: u for u in units.filter(pk__in=unit_ids)}
        missing = [i for i in unit_ids if i not in found]
        if missing:
            from liftsafe.core.errors import NotFound

            raise NotFound("maintenance unit not found")
        units = [found[i] for i in unit_ids]
    out = []
    for unit in units:
        r = Rating.objects.filter(unit=unit, sheet=sheet, period_start=start).first()
        if r is not None and r.state != RatingState.DRAFT:
            continue
        values, evidence = facts.compute(unit.pk, start, end, now=now)
        res = domain.evaluate(cfg, values, evidence)
        fresh = r is None
        if fresh:
            r = Rating(unit=unit, sheet=sheet, period_start=start, period_end=end, area=_rating_area(user, unit))
        else:
            r.version += 1
        r.sheet_config, r.period_end = cfg, end
        r.rated, r.score, r.grade, r.veto = res.rated, res.score, res.grade or "", res.veto
        r.sample, r.unknown_items, r.unknown_points = res.sample, res.unknown_items, res.unknown_points
        r.items = [{"code": i.code, "label": i.label, "metric": i.metric, "value": i.value, "points": i.points,
                    "veto_hit": i.veto_hit, "evidence": i.evidence} for i in res.items]
        r.hard_hits = res.hard_hits
        r.scored_by = user if getattr(user, "is_authenticated", False) else None
        save_with_history(r, user, encode(msg.DRAFTED if fresh else msg.REDRAFTED))
        out.append(r)
    return out


def _lock(user, pk: int, action: str) -> Rating:
    """The rating, locked, after the role check (403 first), then the scope (NotFound, like a missing rating),
    then the action's object condition."""
    require(user, action)
    selectors.rating_get(user, pk)
    r = Rating.objects.select_for_update().select_related("unit", "area").get(pk=pk)
    require(user, action, r)
    return r


@transaction.atomic
def rating_publish(user, pk: int, *, today: dt.date | None = None) -> Rating:
    """Publish a draft: the publication date, the objection window's last day (rule ``rating_objection_days`` in
    ``rating_objection_day_basis`` days, docs/domain §15.4), and the hard rules met put the unit on the bad-credit
    list or the blacklist (docs/domain §9); a blacklist entry notifies the use units of the unit's lifts."""
    r = _lock(user, pk, "rating.publish")
    t = RATING_FLOW.check("publish", r.state)
    today = today or local_date(timezone.now(), r.area)
    basis = rule("rating_objection_day_basis")
    r.objection_until, _known = domain.objection_deadline(today, basis=basis)
    r.objection_basis = basis
    r.state, r.published_on, r.published_by, r.version = t.target, today, user, r.version + 1
    save_with_history(r, user, encode(msg.PUBLISHED))
    for hit in r.hard_hits:
        _list_unit(user, r, hit, today)
    return r


def _list_unit(user, r: Rating, hit: dict, today: dt.date) -> CreditEntry | None:
    if CreditEntry.objects.filter(rating=r, rule_code=hit["code"]).exists():
        return None
    e = CreditEntry(unit=r.unit, kind=hit["list"], rule_code=hit["code"], rating=r, listed_on=today,
                    params={"metric": hit["metric"], "value": hit["value"], "threshold": hit["threshold"]})
    reason = encode(msg.LISTED, rule=e.rule_code)
    save_with_history(e, user, reason)
    if e.kind == CreditEntry.Kind.BLACKLIST:
        use_units = Organisation.objects.filter(pk__in=Elevator.objects.filter(pk__in=facts.unit_lift_ids(r.unit_id, r.period_start, r.period_end))
                                                .exclude(use_unit__isnull=True).values("use_unit_id").distinct())
        for uu in use_units:
            notify(kind="rating.blacklisted", organisation=uu, dedupe_key=f"rating.blacklist.{e.pk}.{uu.pk}",
                   subject=_("Your lifts' maintenance unit %(unit)s is on the blacklist") % {"unit": r.unit.name},
                   body=_("%(unit)s was put on the blacklist on %(day)s (rule %(rule)s). You may choose another maintenance unit.")
                   % {"unit": r.unit.name, "day": today.isoformat(), "rule": hit["code"]},
                   payload={"unit": r.unit_id, "entry": e.pk, "rule": hit["code"]})
    return e


@transaction.atomic
def objection_file(user, pk: int, *, text: str, file=None, today: dt.date | None = None) -> Objection:
    """The rated unit objects (申诉) to a published rating, with its grounds and optional evidence file, within the
    window (docs/domain §15.4). The reviewer must decide by ``rating_review_days`` working days.

    Raises:
        ValidationError: ``text`` empty; ``filed_at`` after the window's last day; ``state`` not published.
    """
    r = _lock(user, pk, "rating.object")
    t = RATING_FLOW.check("object", r.state)
    text = _text(text, "text")
    today = today or local_date(timezone.now(), r.area)
    if r.objection_until is None or today > r.objection_until:
        raise ValidationError({"filed_at": [_("The objection window closed on %(day)s.") % {
            "day": r.objection_until.isoformat() if r.objection_until else "—"}]})
    if file is not None and getattr(file, "size", 0) > 10 * 1024 * 1024:
        raise ValidationError({"file": [_("At most 10 MB.")]})
    decide_by, _known = domain.add_days(today, int(rule("rating_review_days")), "working")
    o = Objection(rating=r, text=text, filed_by=user, filed_at=timezone.now(), decide_by=decide_by)
    if file is not None:
        o.file = file
    save_with_history(o, user, encode(msg.OBJECTED))
    r.state, r.version = t.target, r.version + 1
    save_with_history(r, user, encode(msg.OBJECTED))
    notify(kind="rating.objection_filed", area=r.area, dedupe_key=f"rating.objection.{o.pk}",
           subject=_("Objection to the rating of %(unit)s") % {"unit": r.unit.name},
           body=_("%(unit)s objects to its rating for %(start)s – %(end)s; a regulator who did not score it decides by %(day)s.")
           % {"unit": r.unit.name, "start": r.period_start.isoformat(), "end": r.period_end.isoformat(), "day": decide_by.isoformat()},
           payload={"rating": r.pk, "objection": o.pk})
    return o


@transaction.atomic
def objection_decide(user, pk: int, *, decision: str, reasons: str, revised_grade: str = "") -> Objection:
    """Decide the open objection of rating ``pk``: ``upheld`` or ``revised`` (with ``revised_grade``, one of the
    sheet's grades), with reasons. Refused (``PermissionDenied``) for the regulator who scored or published it.

    Raises:
        ValidationError: ``decision`` unknown, ``reasons`` empty, ``revised_grade`` missing/unknown/unchanged or the
            unit not rated; ``state`` not objected.
    """
    r = _lock(user, pk, "rating.review")
    t = RATING_FLOW.check("decide", r.state)
    o = r.objections.filter(decision="").order_by("-filed_at").first()
    if decision not in Objection.Decision.values:
        raise ValidationError({"decision": [_("Choose upheld or revised.")]})
    reasons = _text(reasons, "reasons")
    if decision == Objection.Decision.REVISED:
        grades = r.sheet_config.get("grades", [])
        if not r.rated:
            raise ValidationError({"revised_grade": [_("A unit that is not rated has no grade to revise.")]})
        if revised_grade not in grades:
            raise ValidationError({"revised_grade": [_("One of %(g)s.") % {"g": ", ".join(grades)}]})
        if revised_grade == r.grade:
            raise ValidationError({"revised_grade": [_("The revised grade is the current grade; choose upheld instead.")]})
        r.grade = revised_grade
    elif revised_grade:
        raise ValidationError({"revised_grade": [_("Only a revised decision changes the grade.")]})
    o.decision, o.reasons, o.revised_grade = decision, reasons, revised_grade
    o.decided_by, o.decided_at = user, timezone.now()
    save_with_history(o, user, encode(msg.DECIDED, decision=decision))
    r.state, r.version = t.target, r.version + 1
    save_with_history(r, user, encode(msg.DECIDED, decision=decision))
    notify(kind="rating.objection_decided", organisation=r.unit, dedupe_key=f"rating.decision.{o.pk}",
           subject=_("Your objection was decided"),
           body=_("Decision: %(decision)s. Grade: %(grade)s. You may publish a reply next to the grade.")
           % {"decision": o.get_decision_display(), "grade": r.grade or "—"},
           payload={"rating": r.pk, "objection": o.pk, "decision": decision})
    return o


@transaction.atomic
def rating_reply(user, pk: int, *, text: str) -> Rating:
    """The unit's reply, published with its grade (docs/domain §15.4 right to reply); a new reply replaces the shown
    one and the old stays in the history."""
    r = _lock(user, pk, "rating.reply")
    RATING_FLOW.check("reply", r.state)
    r.reply, r.replied_at, r.version = _text(text, "text"), timezone.now(), r.version + 1
    return save_with_history(r, user, encode(msg.REPLIED))


def _lock_entry(user, pk: int, action: str) -> CreditEntry:
    from liftsafe.core.errors import NotFound

    require(user, action)
    if not selectors.credit_entries_for(user).filter(pk=pk).exists():
        raise NotFound("credit entry not found")
    e = CreditEntry.objects.select_for_update().select_related("unit").get(pk=pk)
    require(user, action, e)
    return e


def lift_possible_from(e: CreditEntry) -> dt.date:
    """The first day a lifting application is admissible: listed on + ``rating_credit_lift_after_days`` (docs/domain §9)."""
    return e.listed_on + dt.timedelta(days=int(rule("rating_credit_lift_after_days")))


@transaction.atomic
def credit_apply_lift(user, pk: int, *, text: str, today: dt.date | None = None) -> CreditEntry:
    """The listed unit applies for lifting, after the management period and with no repeat since (a newer entry of
    the same list for the unit is a repeat; docs/domain §9)."""
    e = _lock_entry(user, pk, "credit.apply_lift")
    if e.state != CreditEntry.State.ACTIVE:
        raise ValidationError({"state": [_("Only an active entry can be applied for.")]})
    text = _text(text, "text")
    today = today or timezone.localdate()
    if today < lift_possible_from(e):
        raise ValidationError({"applied_at": [_("Lifting may be applied for from %(day)s.") % {"day": lift_possible_from(e).isoformat()}]})
    if CreditEntry.objects.filter(unit=e.unit, kind=e.kind, listed_on__gt=e.listed_on).exists():
        raise ValidationError({"applied_at": [_("The unit was listed again since; the management period restarts.")]})
    e.state, e.application, e.applied_at = CreditEntry.State.LIFT_REQUESTED, text, timezone.now()
    return save_with_history(e, user, encode(msg.LIFT_APPLIED))


@transaction.atomic
def credit_decide_lift(user, pk: int, *, approve: bool, reasons: str, today: dt.date | None = None) -> CreditEntry:
    """A regulator lifts the entry (kept, marked lifted) or refuses the application (back to active), with reasons."""
    e = _lock_entry(user, pk, "credit.decide_lift")
    if e.state != CreditEntry.State.LIFT_REQUESTED:
        raise ValidationError({"state": [_("No lifting application to decide.")]})
    e.decision_reasons, e.decided_by = _text(reasons, "reasons"), user
    if approve:
        e.state, e.lifted_on = CreditEntry.State.LIFTED, today or timezone.localdate()
    else:
        e.state = CreditEntry.State.ACTIVE
    reason = encode(msg.LIFT_DECIDED, decision=e.state if approve else "refused")
    return save_with_history(e, user, reason)
