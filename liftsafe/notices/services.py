"""Writes of official documents: issue (with a gap-free number), supersede, delivery read receipt.

Every write: ``require(user, action, obj)``, validation naming the field, one transaction, history.
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.models import Area, Role
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import area_zone
from liftsafe.registry.models import Elevator

from . import messages as msg
from .models import KIND_WORD, Delivery, Document, Kind, Series

FACTS_MAX = 4000
REQUIREMENTS_MAX = 4000


def authority_of(user, elevator: Elevator) -> Area:
    """The issuing authority of ``user``'s documents on ``elevator``: a regulator's own area (its bureau); an
    administrator issues in the name of the elevator's area."""
    scope = scope_of(user)
    if scope.role == Role.REGULATOR:
        area = Area.objects.filter(path=scope.area_path).first() if scope.area_path else None
        if area is not None:
            return area
    if elevator.area_id is None:
        raise ValidationError({"elevator": _("Elevator %(e)s has no area: no authority can issue for it.") % {"e": elevator.display_code}})
    return elevator.area


def authority_name(area: Area) -> str:
    """The bureau's name printed on the document (市场监督管理局 of the area; docs/domain §7)."""
    return f"{area.name}市场监督管理局"


def format_number(area: Area, kind: str, year: int, seq: int) -> str:
    """``320102特停用〔2026〕7号``: the authority's area code, the kind's word, the year, the number in the series."""
    return f"{area.code}特{KIND_WORD[kind]}〔{year}〕{seq}号"


def next_number(area: Area, year: int) -> int:
    """The next number of ``area``'s series of ``year``, taken under a row lock (call inside the issuing
    transaction: a rollback gives the number back, so there is never a gap, and two issuers wait for each other,
    so a number is never given twice)."""
    try:
        with transaction.atomic():
            Series.objects.get_or_create(area=area, year=year)
    except IntegrityError:  # another transaction created the series at the same moment
        pass
    series = Series.objects.select_for_update().get(area=area, year=year)
    series.last += 1
    series.save(update_fields=["last"])
    return series.last


def _clean_text(value, field: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({field: _("At most %(n)s characters.") % {"n": limit}})
    return text


@transaction.atomic
def document_issue(user, *, elevator: Elevator, kind: str, facts: str, requirements: str = "",
                   deadline: dt.date | None = None, hazard=None, supersedes: Document | None = None) -> Document:
    """Issue a numbered document on ``elevator`` and deliver it to the elevator's use unit.

    Args:
        kind: a :class:`~liftsafe.notices.models.Kind` value.
        facts / requirements: the regulator's text (facts required; at most 4000 characters each).
        deadline: the date by which the requirements are to be met (required for a rectification notice and an
            instruction; not before the date of issue).
        hazard: the hazard the document belongs to (must be of the same elevator).
        supersedes: a document this one corrects (same elevator, not already superseded); both are kept.

    Raises:
        PermissionDenied: not a regulator / admin. NotFound: elevator, hazard or superseded document out of scope.
        ValidationError: ``kind``, ``facts``, ``requirements``, ``deadline``, ``hazard``, ``supersedes``.
    """
    require(user, "notices.issue")
    from liftsafe.registry.selectors import elevator_get

    elevator = elevator_get(user, elevator.pk)  # NotFound outside the scope
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose a kind of document.")})
    facts = _clean_text(facts, "facts", FACTS_MAX, required=True)
    requirements = _clean_text(requirements, "requirements", REQUIREMENTS_MAX, required=False)
    area = authority_of(user, elevator)
    today = timezone.localtime(timezone.now(), area_zone(area)).date()
    if deadline is not None and deadline < today:
        raise ValidationError({"deadline": _("The deadline cannot be before the date of issue (%(d)s).") % {"d": today.isoformat()}})
    if deadline is None and kind in (Kind.RECTIFICATION, Kind.INSTRUCTION):
        raise ValidationError({"deadline": _("A rectification notice and an instruction need a deadline.")})
    if hazard is not None and hazard.elevator_id != elevator.pk:
        raise ValidationError({"hazard": _("The hazard concerns another elevator.")})
    if supersedes is not None:
        from .selectors import documents_for

        if not documents_for(user).filter(pk=supersedes.pk).exists():
            raise NotFound("document not found")
        old = Document.objects.select_for_update().get(pk=supersedes.pk)
        if old.elevator_id != elevator.pk:
            raise ValidationError({"supersedes": _("A correction concerns the same elevator as the document it corrects.")})
        if Document.objects.filter(supersedes=old).exists():
            raise ValidationError({"supersedes": _("Document %(n)s is already superseded; correct the newest document instead.") % {"n": old.number}})
        supersedes = old
    year = today.year
    seq = next_number(area, year)
    doc = Document(kind=kind, authority=area, authority_name=authority_name(area), year=year, seq=seq,
                   number=format_number(area, kind, year, seq), elevator=elevator, addressee=elevator.use_unit,
                   hazard=hazard, facts=facts, requirements=requirements, deadline=deadline, issued_on=today,
                   issued_by=user, supersedes=supersedes)
    reason = (encode(msg.SUPERSEDES, number=doc.number, old=supersedes.number) if supersedes is not None
              else encode(msg.ISSUED, number=doc.number))
    save_with_history(doc, user, reason)
    if elevator.use_unit_id:
        save_with_history(Delivery(document=doc, organisation_id=elevator.use_unit_id), user, encode(msg.DELIVERED))
    return doc


def document_mark_read(user, doc: Document) -> Delivery | None:
    """Record the first opening of ``doc`` by a user of its addressee (its reading); later openings and other
    readers change nothing. Returns the delivery (``None`` when the document has no addressee)."""
    scope = scope_of(user)
    if scope.role != Role.USE_UNIT or not doc.addressee_id or scope.organisation_id != doc.addressee_id:
        return getattr(doc, "delivery", None)
    require(user, "notices.read", doc)
    with transaction.atomic():
        d = Delivery.objects.select_for_update().filter(document=doc).first()
        if d is not None and d.read_at is None:
            d.read_at, d.read_by = timezone.now(), user
            save_with_history(d, user, encode(msg.READ))
    return d


def issue_for_stop_use(*, user, order) -> Document:
    """Handler of the flow ``hazards.stop_use_ordered``: the stop-use order of a hazard issues a numbered stop-use
    document with the order's reason and the hazard's title as its facts (in the order's transaction)."""
    hazard = order.hazard
    facts = "\n".join(x for x in (hazard.title, hazard.description, order.reason) if x)
    return document_issue(user, elevator=order.elevator, kind=Kind.STOP_USE, facts=facts[:FACTS_MAX], hazard=hazard)
