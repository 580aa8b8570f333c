"""Insurance writes: record a policy, suggest claims from 96333 entrapments, file / pay / refuse a claim.

Every write validates fully (``ValidationError`` {field: [reason]}, nothing written), checks the permission table
(``require``), runs in one transaction and keeps history (``save_with_history``). Server-side times and users only.
Sources: docs/domain §11 (one party insures, several benefit), §15.7 (trapped-passenger bands).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound, ValidationError
from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import local_date
from liftsafe.emergency.domain import trapped_at_least_q, trapped_duration_s
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import Organisation
from liftsafe.registry.selectors import scope_elevators
from liftsafe.rules import rule

from . import domain
from . import messages as msg
from .models import Claim, Policy
from .workflow import CLAIM_FLOW

#: who may hold a policy: "one party insures, several benefit" (docs/domain §11, §15.7 insurable parties)
INSURABLE_KINDS = (Organisation.Kind.USE_UNIT, Organisation.Kind.MAINTENANCE_UNIT, Organisation.Kind.MANUFACTURER,
                   Organisation.Kind.INSPECTION_AGENCY)
MAX_LIFTS_PER_POLICY = 10000
MAX_AMOUNT = Decimal("1000000000")


def _amount(field: str, value, *, required: bool) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise ValidationError({field: [_("This field is required.")]})
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("enter an amount in yuan")]}) from None
    if not d.is_finite() or d < 0 or d > MAX_AMOUNT:
        raise ValidationError({field: [_("enter an amount between 0 and 1,000,000,000 yuan")]})
    return d.quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- policies
def policy_record(user, *, insurer_id: int, policy_no: str, insured_party_id: int, start_date: dt.date, end_date: dt.date,
                  limit_per_person, limit_per_accident, elevator_ids: list[int], premium=None) -> Policy:
    """Record a policy reported by an insurer (regulator of the area or admin; ``policy.record``).

    ``elevator_ids`` are resolved through the caller's scope (a lift outside it is "not found", never covered).
    Raises ``ValidationError`` naming ``insurer``, ``policy_no``, ``insured_party``, ``end_date``, ``elevators``,
    ``limit_per_person``, ``limit_per_accident``, ``premium``; ``PermissionDenied`` for other roles."""
    require(user, "policy.record")
    errors: dict[str, list[str]] = {}
    insurer = Organisation.objects.filter(pk=insurer_id, kind=Organisation.Kind.INSURER).first() if insurer_id else None
    if insurer is None:
        errors["insurer"] = [_("choose an insurer")]
    party = Organisation.objects.filter(pk=insured_party_id, kind__in=INSURABLE_KINDS).first() if insured_party_id else None
    if party is None:
        errors["insured_party"] = [_("choose the insured party: a use unit, maintenance unit, manufacturer or inspection body")]
    policy_no = (policy_no or "").strip()
    if not policy_no or len(policy_no) > 64:
        errors["policy_no"] = [_("enter the policy number (at most 64 characters)")]
    elif insurer and Policy.objects.filter(insurer=insurer, policy_no=policy_no).exists():
        errors["policy_no"] = [_("this insurer already has a policy with this number")]
    if not isinstance(start_date, dt.date) or not isinstance(end_date, dt.date):
        errors["end_date"] = [_("enter the start and end dates")]
    elif end_date < start_date:
        errors["end_date"] = [_("the end date is before the start date")]
    elif (end_date - start_date).days > 5 * 366:
        errors["end_date"] = [_("a policy period longer than five years is not plausible")]
    ids = list(dict.fromkeys(int(i) for i in (elevator_ids or [])))
    if not ids:
        errors["elevators"] = [_("choose at least one lift")]
    elif len(ids) > MAX_LIFTS_PER_POLICY:
        errors["elevators"] = [_("at most %(n)s lifts per policy") % {"n": MAX_LIFTS_PER_POLICY}]
    lifts = list(scope_elevators(scope_of(user)).filter(pk__in=ids).values_list("pk", flat=True)) if ids else []
    missing = sorted(set(ids) - set(lifts))
    if ids and missing and "elevators" not in errors:
        errors["elevators"] = [_("lift not found: %(ids)s") % {"ids": ", ".join(map(str, missing[:10]))}]
    amounts = {}
    for name, value, req in (("limit_per_person", limit_per_person, True), ("limit_per_accident", limit_per_accident, True),
                             ("premium", premium, False)):
        try:
            amounts[name] = _amount(name, value, required=req)
        except ValidationError as e:
            errors.update(e.message_dict)
    if not errors and amounts["limit_per_accident"] < amounts["limit_per_person"]:
        errors["limit_per_accident"] = [_("the limit per accident is below the limit per person")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        p = Policy(insurer=insurer, policy_no=policy_no, insured_party=party, start_date=start_date, end_date=end_date, **amounts)
        save_with_history(p, user, encode(msg.POLICY_RECORDED))
        p.elevators.set(lifts)
    return p


# --------------------------------------------------------------------------- claim suggestions
@dataclass
class SuggestResult:
    created: int = 0
    existing: int = 0
    uninsured: int = 0  # long entrapments on lifts with no policy in force on the day


def _persons(case: EmergencyCase) -> int | None:
    """People trapped on the case: released (counted at release) else reported at intake; None if neither."""
    for n in (case.released_count, case.trapped_count):
        if n:
            return int(n)
    return None


def claim_suggest_for_case(case: EmergencyCase) -> tuple[int, int, bool]:
    """Suggest a claim under every policy in force on the entrapment's local day (the area's time zone) that
    covers the lift. Idempotent (one claim per case and policy). Returns ``(created, existing, uninsured)``;
    nothing for a case that is not a released entrapment or is below the first band."""
    seconds = trapped_duration_s(case.received_at, case.released_at)
    comp = domain.compensation(seconds, _persons(case))
    if comp is None or not EmergencyCase.objects.filter(trapped_at_least_q(0), pk=case.pk).exists():
        return 0, 0, False
    day = local_date(case.received_at, case.elevator.area)
    policies = list(Policy.objects.filter(elevators=case.elevator_id).filter(domain.in_force_q(day)))
    created = existing = 0
    for p in policies:
        if Claim.objects.filter(case=case, policy=p).exists():
            existing += 1
            continue
        c = Claim(policy=p, elevator_id=case.elevator_id, case=case, trapped_s=int(seconds), band=comp.band.key,
                  yuan_per_person=comp.yuan_per_person, persons=comp.persons, suggested_total=comp.total)
        try:
            with transaction.atomic():
                save_with_history(c, None, encode(msg.CLAIM_SUGGESTED, minutes=int(seconds // 60), band=comp.band.key,
                                                  yuan=str(comp.yuan_per_person)))
            created += 1
        except IntegrityError:  # a concurrent run got there first
            existing += 1
    return created, existing, not policies


def claims_suggest(now: dt.datetime | None = None, *, days: int | None = None) -> SuggestResult:
    """Suggest claims for entrapments released in the last ``days`` (rule ``insurance_suggest_window_days``) and
    trapped at least the first band's lower edge (docs/domain §15.7). Idempotent: a second run creates nothing."""
    now = now or timezone.now()
    days = rule("insurance_suggest_window_days") if days is None else days
    out = SuggestResult()
    min_s = domain.min_claimable_s()
    if min_s is None:
        return out
    cases = (EmergencyCase.objects.filter(trapped_at_least_q(min_s), released_at__gte=now - dt.timedelta(days=days),
                                          released_at__lte=now)
             .select_related("elevator__area").order_by("released_at"))
    for case in cases.iterator(chunk_size=500):
        c, e, u = claim_suggest_for_case(case)
        out.created += c
        out.existing += e
        out.uninsured += int(u)
    return out


# --------------------------------------------------------------------------- claim workflow
def _claim_for(user, claim_id: int, *, lock: bool = False) -> Claim:
    from .selectors import claims_for

    qs = claims_for(user)
    if lock:
        qs = qs.select_for_update(of=("self",))
    c = qs.filter(pk=claim_id).first()
    if c is None:
        raise NotFound(_("claim not found"))
    return c


def claim_transition(user, claim_id: int, action: str, *, persons: int | None = None, amount=None, reason: str = "") -> Claim:
    """Take ``action`` (:data:`CLAIM_FLOW`: ``file`` / ``pay`` / ``refuse``) on a claim.

    - file: ``persons`` (1..200; defaults to the suggestion's) and ``amount`` claimed (defaults to the suggested total);
      the amount may not exceed the policy's limit per accident;
    - pay: ``amount`` paid (defaults to the amount claimed), at most the policy's limit per accident;
    - refuse: ``reason`` (required, at most 1000 characters).

    Raises ``ValidationError`` (``action``, ``state``, ``persons``, ``amount``, ``reason``), ``NotFound``,
    ``PermissionDenied`` (not the policy's insurer)."""
    t = CLAIM_FLOW.get(action)
    with transaction.atomic():
        c = _claim_for(user, claim_id, lock=True)
        require(user, t.permission, c)
        CLAIM_FLOW.check(action, c.state)
        limit = c.policy.limit_per_accident
        now = timezone.now()
        if action == "file":
            n = c.persons if persons is None else persons
            if n is None or not isinstance(n, int) or not 1 <= n <= 200:
                raise ValidationError({"persons": [_("enter the number of people trapped (1 to 200)")]})
            amt = _amount("amount", amount, required=False)
            if amt is None:
                amt = c.yuan_per_person * n
            if amt > limit:
                raise ValidationError({"amount": [_("the amount exceeds the policy's limit per accident (%(limit)s yuan)") % {"limit": limit}]})
            c.persons, c.claimed_amount, c.filed_at, c.filed_by = n, amt, now, user
            reason_kind = msg.CLAIM_FILED
        elif action == "pay":
            amt = _amount("amount", amount, required=False)
            if amt is None:
                amt = c.claimed_amount
            if amt is None or amt <= 0:
                raise ValidationError({"amount": [_("enter the amount paid")]})
            if amt > limit:
                raise ValidationError({"amount": [_("the amount exceeds the policy's limit per accident (%(limit)s yuan)") % {"limit": limit}]})
            c.paid_amount, c.decided_at, c.decided_by = amt, now, user
            reason_kind = msg.CLAIM_PAID
        else:
            reason = (reason or "").strip()
            if not reason:
                raise ValidationError({"reason": [_("give the reason for refusing")]})
            if len(reason) > 1000:
                raise ValidationError({"reason": [_("at most 1000 characters")]})
            c.refusal_reason, c.decided_at, c.decided_by = reason, now, user
            reason_kind = msg.CLAIM_REFUSED
        c.state = t.target
        save_with_history(c, user, encode(reason_kind))
    return c

