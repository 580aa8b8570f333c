"""Disclosure API (``/api/disclosure/``).

Public operations (``auth=None``) read only through :mod:`.public`: a lift's public projection by its public code
and a report's status by its ticket (Open311 GeoReport v2 "service request" shape, reduced). Staff operations are
scoped like the pages: the reports about the caller's lifts, the workflow actions, the publication settings.
Errors: the one contract of :mod:`liftsafe.core.errors` (404 unknown or out of scope, 403, 422 naming the field).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from liftsafe.core import permissions
from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut, NotFound
from liftsafe.core.pagination import BoundedPage

from . import public, selectors, services
from .domain import PublicField, normalise_code
from .throttle import throttled
from .workflow import STAFF_ACTIONS

router = Router(tags=["disclosure"])
ERR = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class UnitOut(Schema):
    name: str
    phone: str


class PublicLiftOut(Schema):
    code: str
    registration_code: str
    rescue_code: str
    emergency_number: str
    address: str
    area_name: str
    status: str
    in_service: bool
    page_published: bool
    accept_reports: bool
    fields: list[str]
    use_unit: UnitOut | None = None
    maintenance_unit: UnitOut | None = None
    last_maintenance_on: dt.date | None = None
    maintenance_overdue: bool | None = None
    inspection_valid_until: dt.date | None = None
    inspection_conclusion: str = ""
    insurance: str
    risk_colour: str | None = None
    as_of: dt.datetime


class TicketOut(Schema):
    """Open311-style status of a public report (no personal data)."""

    service_request_id: str
    service_code: str
    status: str
    status_notes: str
    agency_responsible: str
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    expected_datetime: dt.date | None
    merged_into: str


class ReportOut(Schema):
    id: int
    ticket: str
    elevator_id: int
    category: str
    text: str
    has_photo: bool
    phone: str
    state: str
    status_note: str
    expected_on: dt.date | None
    use_unit_id: int | None
    maintenance_unit_id: int | None
    duplicate_of_id: int | None
    hazard_id: int | None
    case_id: int | None
    reopen_count: int
    reopen_comment: str
    survey_fixed: bool | None
    survey_score: int | None
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_has_photo(obj) -> bool:
        return bool(obj.photo)


class ActionIn(Schema):
    note: str = Field("", max_length=500)
    expected_on: dt.date | None = None
    into: str = Field("", max_length=12, description="merge: the ticket of the report this one duplicates (same lift)")


class PublicationIn(Schema):
    page: bool = True
    accept_reports: bool = True
    fields: list[Literal[tuple(PublicField.values)]] = Field(default_factory=list, max_length=len(PublicField.values))  # type: ignore[valid-type]


class PublicationOut(Schema):
    area_code: str
    page: bool
    accept_reports: bool
    fields: list[str]


def _too_many():
    return Status(429, {"detail": _("Too many requests; try again in a minute."), "errors": None})


@router.get("/public/lifts/{code}", response={200: PublicLiftOut, 404: ErrorOut, 429: ErrorOut}, auth=None,
            summary="A lift's public page data by its public code (anyone)", operation_id="disclosure_public_lift")
def public_lift(request, code: str):
    if throttled(request):
        return _too_many()
    norm = normalise_code(code)
    elevator = public.lift_by_code(norm) if norm else None
    if elevator is None:
        raise NotFound("lift")
    lift = public.project(elevator, norm)
    return {**{k: getattr(lift, k) for k in PublicLiftOut.model_fields if k not in ("fields", "use_unit", "maintenance_unit")},
            "fields": sorted(lift.fields) if lift.page_published else [],
            "use_unit": lift.use_unit.__dict__ if lift.use_unit else None,
            "maintenance_unit": lift.maintenance_unit.__dict__ if lift.maintenance_unit else None}


@router.get("/public/requests/{ticket}", response={200: TicketOut, 404: ErrorOut, 429: ErrorOut}, auth=None,
            summary="A public report's status by its ticket number (Open311 service request, anyone)",
            operation_id="disclosure_public_request")
def public_request(request, ticket: str):
    if throttled(request):
        return _too_many()
    r = services.report_by_ticket(ticket)
    t = public.public_ticket(r)
    return {"service_request_id": r.ticket, "service_code": r.category, "status": r.state, "status_notes": r.status_note,
            "agency_responsible": t["responsible"], "requested_datetime": r.created_at, "updated_datetime": r.updated_at,
            "expected_datetime": r.expected_on, "merged_into": t["merged_into"]}


@router.get("/reports", response=list[ReportOut], summary="Public reports about the lifts in your scope",
            operation_id="disclosure_report_list")
@paginate(BoundedPage)
def report_list(request, state: str = "", elevator: int | None = None):
    permissions.require(request.user, "disclosure.reports")
    return selectors.report_list(request.user, state=state[:16], elevator_id=elevator)


@router.get("/reports/{report_id}", response={200: ReportOut, **ERR}, summary="One public report", operation_id="disclosure_report_get")
def report_get(request, report_id: int):
    permissions.require(request.user, "disclosure.reports")
    return selectors.report_get(request.user, report_id)


@router.post("/reports/{report_id}/{action}", response={200: ReportOut, **ERR},
             summary="Take a workflow action (acknowledge, progress, note, close, merge, reject, to_hazard, to_case)",
             operation_id="disclosure_report_action")
def report_action(request, report_id: int, action: Literal[STAFF_ACTIONS], payload: ActionIn):  # type: ignore[valid-type]
    permissions.require(request.user, "disclosure.reports")
    report = selectors.report_get(request.user, report_id)
    if action == "to_hazard":
        return services.report_to_hazard(request.user, report)
    if action == "to_case":
        return services.report_to_case(request.user, report)
    return services.report_act(request.user, report, action, note=payload.note, expected_on=payload.expected_on, into=payload.into)


@router.put("/publication/{area_code}", response={200: PublicationOut, **ERR}, summary="Set what the public page shows in an area",
            operation_id="disclosure_publication_set")
def publication_set(request, area_code: str, payload: PublicationIn):
    permissions.require(request.user, "disclosure.publication")
    area = selectors.publication_areas(request.user).filter(code=area_code[:32]).first()
    if area is None:
        raise NotFound("area")
    s = services.publication_set(request.user, area, page=payload.page, accept_reports=payload.accept_reports, fields=list(payload.fields))
    return {"area_code": area.code, "page": s.page, "accept_reports": s.accept_reports, "fields": s.fields}


__all__ = ["router", "ValidationError"]
