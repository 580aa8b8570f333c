"""The public read path: a frozen, whitelisted projection of one lift for anyone who scans its code.

Public pages and the public API read ONLY through this module. It never calls a staff selector and never
impersonates a user: it reads the few fields listed in :class:`PublicLift` straight from their owning records
and nothing else reaches the template (no worker names, no caller or reporter phones, no hazard details).
What is shown follows the area's publication setting (:func:`published_fields`). Sources: docs/domain §10
(one QR code per lift as the public entry), §15.6 (the fields a city's QR page showed; degrade to a phone call).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from liftsafe.core.zones import area_zone
from liftsafe.insurance.domain import in_force
from liftsafe.insurance.models import Policy
from liftsafe.maintenance.domain import is_overdue
from liftsafe.publicity.selectors import public_notices_for
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry.selectors import maintenance_unit_on
from liftsafe.risk.models import RiskScore

from .domain import DEFAULT_FIELDS, EMERGENCY_NUMBER, PublicField
from .models import PublicationSetting, PublicCode

UNKNOWN = "unknown"


@dataclass(frozen=True)
class PublicUnit:
    """An organisation as the public sees it: its name and its public duty phone (an organisation's line, never a person's)."""

    name: str
    phone: str


@dataclass(frozen=True)
class PublicLift:
    """Everything the public page may show about one lift. Dates are local dates of the lift's area;
    ``None`` means unknown (the page says so). ``fields`` are the published optional sections."""

    code: str
    registration_code: str
    rescue_code: str
    emergency_number: str
    address: str
    area_name: str
    category: str
    status: str
    status_label: str
    in_service: bool
    page_published: bool
    accept_reports: bool
    fields: frozenset = field(default_factory=frozenset)
    use_unit: PublicUnit | None = None
    maintenance_unit: PublicUnit | None = None
    last_maintenance_on: dt.date | None = None
    maintenance_overdue: bool | None = None
    inspection_valid_until: dt.date | None = None
    inspection_conclusion: str = ""
    inspection_state: str = ""
    insurance: str = UNKNOWN
    risk_colour: str | None = None
    campaigns: tuple = ()
    as_of: dt.datetime | None = None

    def shows(self, name: str) -> bool:
        return self.page_published and name in self.fields


def published_fields(area) -> tuple[bool, bool, frozenset]:
    """``(page, accept_reports, fields)`` for a lift in ``area``: the setting of the nearest area on its path
    (itself, then its parents) or, with none, page and reports on and :data:`DEFAULT_FIELDS`."""
    codes = [c for c in (area.path or "").split("/") if c]
    settings = {s.area.code: s for s in PublicationSetting.objects.filter(area__code__in=codes).select_related("area")}
    for code in reversed(codes):
        s = settings.get(code)
        if s is not None:
            return s.page, s.accept_reports, frozenset(s.fields) & {f.value for f in PublicField}
    return True, True, DEFAULT_FIELDS


def _unit(org: Organisation | None) -> PublicUnit | None:
    return None if org is None else PublicUnit(name=org.name, phone=org.phone)


def last_maintenance(elevator: Elevator) -> dt.datetime | None:
    """End of the lift's last completed maintenance visit (checked out or countersigned), or None."""
    from liftsafe.maintenance.models import Visit

    return Visit.objects.filter(elevator=elevator, state__in=[Visit.State.CHECKED_OUT, Visit.State.COUNTERSIGNED]) \
        .aggregate(m=Max("checked_out_at"))["m"]


def inspection_facts(elevator: Elevator) -> tuple[dt.date | None, str, str]:
    """``(valid_until, conclusion label, validity state)`` from the inspection app's derived validity record,
    else the registry's last conclusion and next due date."""
    from liftsafe.inspection.models import Validity

    v = Validity.objects.filter(elevator=elevator).first()
    if v is not None and (v.valid_until or v.last_conclusion):
        return v.valid_until, v.get_last_conclusion_display() if v.last_conclusion else "", v.state
    return elevator.next_inspection_due, elevator.get_last_inspection_conclusion_display() if elevator.last_inspection_conclusion else "", ""


def insurance_status(elevator: Elevator, today: dt.date) -> str:
    """Whether elevator liability insurance is in force on ``today`` (the lift's local date): ``"in_force"``,
    ``"none"`` (policies on record, none in force: lapsed) or ``"unknown"`` (the platform holds no policy for the
    lift; never guessed). Source: the insurance module's policies (:func:`liftsafe.insurance.domain.in_force`,
    docs/domain §11)."""
    if in_force([elevator.pk], on=today):
        return "in_force"
    if Policy.elevators.through.objects.filter(elevator_id=elevator.pk).exists():
        return "none"
    return UNKNOWN


def risk_colour(elevator: Elevator) -> str | None:
    """The lift's current risk colour (``"red"``/``"orange"``/``"yellow"``/``"blue"``) from the risk module's score
    (:class:`liftsafe.risk.models.RiskScore`), or None when none is computed yet. Shown only where the area
    publishes :attr:`PublicField.RISK` (off by default); the public page shows the colour, never the factors."""
    return RiskScore.objects.filter(elevator_id=elevator.pk).values_list("colour", flat=True).first()


def campaign_notices(elevator: Elevator, today: dt.date) -> list[dict]:
    """Safety-campaign notices for this lift now: ``[{"campaign_id": int, "title": str, "text": str, "url": str}]``
    from the publicity module's public projection (:func:`liftsafe.publicity.selectors.public_notices_for`:
    campaigns running on the lift's local date whose place types include the lift's, docs/domain §15.8)."""
    del today  # public_notices_for takes the instant and applies the lift's local date itself
    return [{"campaign_id": n.campaign_id, "title": n.title, "text": n.text, "url": n.url}
            for n in public_notices_for(elevator)]


STATUS_PUBLIC = {
    Elevator.Status.IN_USE: _("In use"),
    Elevator.Status.STOPPED: _("Out of service"),
    Elevator.Status.SEALED: _("Sealed (out of service)"),
    Elevator.Status.SCRAPPED: _("Scrapped"),
}


def lift_by_code(code: str) -> Elevator | None:
    """The lift with public code ``code`` (already normalised), or None."""
    pc = PublicCode.objects.filter(code=code).select_related("elevator", "elevator__area", "elevator__use_unit").first()
    return None if pc is None else pc.elevator


def project(elevator: Elevator, code: str, *, now: dt.datetime | None = None) -> PublicLift:
    """The public projection of ``elevator`` (see :class:`PublicLift`). A scrapped lift shows only its codes and
    96333. Sections the area does not publish are not even read."""
    from django.utils import timezone

    now = now or timezone.now()
    zone = area_zone(elevator.area)
    today = now.astimezone(zone).date()
    page, accept, fields = published_fields(elevator.area)
    scrapped = elevator.status == Elevator.Status.SCRAPPED
    base = dict(code=code, registration_code=elevator.registration_code, rescue_code=elevator.rescue_code,
                emergency_number=EMERGENCY_NUMBER, address=elevator.address, area_name=elevator.area.name,
                category=elevator.get_category_display(), status=elevator.status,
                status_label=str(STATUS_PUBLIC.get(elevator.status, elevator.get_status_display())),
                in_service=elevator.status == Elevator.Status.IN_USE, page_published=page and not scrapped,
                accept_reports=accept and page and not scrapped, fields=fields, as_of=now)
    if not base["page_published"]:
        return PublicLift(**base)
    extra: dict = {}
    if PublicField.UNITS in fields:
        extra["use_unit"] = _unit(elevator.use_unit)
        extra["maintenance_unit"] = _unit(maintenance_unit_on(elevator, today))
    if PublicField.MAINTENANCE in fields:
        last = last_maintenance(elevator)
        last_day = last.astimezone(zone).date() if last else None
        extra["last_maintenance_on"] = last_day
        extra["maintenance_overdue"] = is_overdue(last_day, today) if elevator.status == Elevator.Status.IN_USE else None
    if PublicField.INSPECTION in fields:
        until, conclusion, state = inspection_facts(elevator)
        extra.update(inspection_valid_until=until, inspection_conclusion=conclusion, inspection_state=state)
    if PublicField.INSURANCE in fields:
        extra["insurance"] = insurance_status(elevator, today)
    if PublicField.RISK in fields:
        extra["risk_colour"] = risk_colour(elevator)
    if PublicField.CAMPAIGNS in fields:
        extra["campaigns"] = tuple(campaign_notices(elevator, today))
    return PublicLift(**base, **extra)


def public_ticket(report) -> dict:
    """What a ticket holder sees of a report: category, status and its note, expected date, times, the lift's
    codes and the responsible unit names. Never the phone, never the reporter's address hash."""
    return {
        "ticket": report.ticket, "category": report.get_category_display(), "category_value": report.category,
        "state": report.state, "state_label": report.get_state_display(), "status_note": report.status_note,
        "expected_on": report.expected_on, "created_at": report.created_at, "updated_at": report.updated_at,
        "closed_at": report.closed_at, "text": report.text, "has_photo": bool(report.photo),
        "registration_code": report.elevator.registration_code, "rescue_code": report.elevator.rescue_code,
        "address": report.elevator.address,
        "responsible": ", ".join(o.name for o in (report.use_unit, report.maintenance_unit) if o is not None),
        "merged_into": report.duplicate_of.ticket if report.duplicate_of_id else "",
        "survey_done": report.survey_fixed is not None,
    }


def lookup(q: str, *, limit: int = 20) -> list[dict]:
    """The public lift lookup: by registration code or rescue code (exact) or by address (prefix of the
    normalised address, at least 4 characters). Returns ``[{"code", "address", "registration_code",
    "rescue_code", "area"}]`` for lifts that have a public code and are not scrapped; at most ``limit``."""
    from liftsafe.registry.models import normalize_address

    q = (q or "").strip()
    if not q:
        return []
    qs = PublicCode.objects.exclude(elevator__status=Elevator.Status.SCRAPPED).select_related("elevator", "elevator__area")
    if q.isdigit() and len(q) in (5, 6):
        qs = qs.filter(elevator__rescue_code=q)
    elif q.isdigit() and len(q) >= 17:
        qs = qs.filter(elevator__registration_code=q)
    elif len(q) >= 4:
        qs = qs.filter(elevator__search_address__startswith=normalize_address(q))
    else:
        return []
    return [{"code": pc.code, "address": pc.elevator.address, "registration_code": pc.elevator.registration_code,
             "rescue_code": pc.elevator.rescue_code, "area": pc.elevator.area.name}
            for pc in qs.order_by("elevator__search_address", "elevator_id")[:limit]]
