"""Inspection API: validity, records, findings loop, the due list. One route per operation, typed in/out.

Reads are scoped (an elevator outside the scope is 404); writes go through :mod:`liftsafe.inspection.services`;
errors use the one shape of :mod:`liftsafe.core.errors` (422 naming the field, 403, 404, 409).
"""
from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.registry.models import Organisation

from . import selectors, services
from liftsafe.core.permissions import require
from .models import InspectionRecord

router = Router(tags=["inspection"])


class ValidityOut(Schema):
    elevator: int
    policy: str
    base_date: dt.date | None
    base_estimated: bool
    last_inspected_on: dt.date | None
    last_conclusion: str
    next_due: dt.date | None
    next_kind: str
    valid_until: dt.date | None
    state: str


class FindingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    clause: str = Field("", max_length=32)
    text: str = Field(..., max_length=4000)
    finding_class: str = Field("minor", description="major | minor")
    reinspection_required: bool | None = None
    deadline: dt.date | None = Field(None, description="a date, or give deadline_days")
    deadline_days: int | None = Field(None, ge=1, le=3650)
    deadline_basis: str = Field("calendar", description="calendar | working (official Chinese calendar)")


class FindingOut(Schema):
    id: int
    clause: str
    text: str
    finding_class: str
    reinspection_required: bool
    deadline: dt.date
    deadline_basis: str
    deadline_note: str
    state: str
    evidence_note: str
    version: int


class RecordIn(Schema):
    model_config = ConfigDict(extra="forbid")
    elevator: int
    kind: str = Field(..., description="supervision | periodic | reinspection | self_test")
    inspected_on: dt.date
    conclusion: str = Field(..., description="pass | fail | pass_on_reinspection | fail_on_reinspection")
    agency: int | None = Field(None, description="organisation id (an agency user records for its own agency)")
    inspectors: str = Field("", max_length=200)
    report_no: str = Field("", max_length=64)
    after_long_stop: bool = False
    reinspection_of: int | None = None
    findings: list[FindingIn] = Field(default_factory=list, max_length=200)


class RecordOut(Schema):
    id: int
    elevator: int
    kind: str
    inspected_on: dt.date
    conclusion: str
    agency: str | None
    inspectors: str
    report_no: str
    source: str
    source_disposition: str
    findings: list[FindingOut]


class RectifyIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int | None = None
    evidence_note: str = Field(..., max_length=4000)


class ConfirmIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int | None = None
    monitored: bool = Field(False, description="put the lift under monitored use (监护使用) instead of confirming")


class MonthLoad(Schema):
    month: str
    count: int


class DueItem(Schema):
    elevator: int
    code: str
    address: str
    next_due: dt.date | None
    next_kind: str
    state: str


class DueOut(Schema):
    months: list[MonthLoad]
    items: list[DueItem]


def _validity_out(elevator, v) -> dict:
    if v is None:
        return {"elevator": elevator.pk, "policy": "", "base_date": None, "base_estimated": False, "last_inspected_on": None,
                "last_conclusion": "", "next_due": None, "next_kind": "", "valid_until": None, "state": "unknown"}
    return {"elevator": elevator.pk, **{k: getattr(v, k) for k in ValidityOut.model_fields if k != "elevator"}}


def _record_out(r: InspectionRecord) -> dict:
    return {"id": r.pk, "elevator": r.elevator_id, "kind": r.kind, "inspected_on": r.inspected_on, "conclusion": r.conclusion,
            "agency": r.agency.name if r.agency_id else None, "inspectors": r.inspectors, "report_no": r.report_no,
            "source": r.source, "source_disposition": r.source_disposition,
            "findings": [_finding_out(f) for f in r.findings.all()]}


def _finding_out(f) -> dict:
    return {k: getattr(f, k) for k in ("clause", "text", "finding_class", "reinspection_required", "deadline", "deadline_basis",
                                       "deadline_note", "state", "evidence_note", "version")} | {"id": f.pk}


@router.get("/elevators/{elevator_id}/validity", response={200: ValidityOut, 404: ErrorOut},
            summary="An elevator's inspection validity (derived)", operation_id="inspection_validity")
def validity(request, elevator_id: int):
    e, v = selectors.validity_of(request.user, elevator_id)
    return _validity_out(e, v)


@router.get("/elevators/{elevator_id}/records", response={200: list[RecordOut], 404: ErrorOut},
            summary="An elevator's inspection records, newest first", operation_id="inspection_records")
def records(request, elevator_id: int):
    return [_record_out(r) for r in selectors.records_of(request.user, elevator_id)[:200]]


@router.post("/records", response={201: RecordOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Record an inspection (agency) with its findings", operation_id="inspection_record")
def record_create(request, payload: RecordIn):
    e = selectors.elevator_for(request.user, payload.elevator) if not _agency_user(request.user) else _agency_elevator(request.user, payload.elevator)
    agency = Organisation.objects.filter(pk=payload.agency).first() if payload.agency else None
    if payload.agency and agency is None:
        from django.core.exceptions import ValidationError
        raise ValidationError({"agency": [f"no organisation with id {payload.agency}"]})
    reinspection_of = None
    if payload.reinspection_of:
        reinspection_of = InspectionRecord.objects.filter(pk=payload.reinspection_of, elevator=e).first()
        if reinspection_of is None:
            from django.core.exceptions import ValidationError
            raise ValidationError({"reinspection_of": [f"no inspection record {payload.reinspection_of} of this elevator"]})
    rec = services.inspection_record(request.user, elevator=e, kind=payload.kind, inspected_on=payload.inspected_on,
                                     conclusion=payload.conclusion, agency=agency, inspectors=payload.inspectors,
                                     report_no=payload.report_no, after_long_stop=payload.after_long_stop,
                                     reinspection_of=reinspection_of, findings=[f.dict() for f in payload.findings])
    return Status(201, _record_out(rec))


def _agency_user(user) -> bool:
    from liftsafe.core.models import Role
    from liftsafe.core.scoping import scope_of

    return scope_of(user).role == Role.INSPECTION_AGENCY


def _agency_elevator(user, elevator_id: int):
    """An agency records the lifts assigned to it, and lifts of its area that have no agency yet; any other is 404
    (like a missing one: another agency's lifts are not revealed)."""
    from django.db.models import Q

    from liftsafe.core.scoping import scope_of
    from liftsafe.registry.models import Elevator

    org = Organisation.objects.select_related("area").get(pk=scope_of(user).organisation_id)
    mine = Q(inspection_agency=org)
    if org.area_id:
        mine |= Q(inspection_agency__isnull=True, area__path__startswith=org.area.path)
    return get_object_or_404(Elevator.objects.select_related("area").filter(mine), pk=elevator_id)


@router.post("/findings/{finding_id}/rectify", response={200: FindingOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Record a finding's rectification with evidence (use or maintenance unit)", operation_id="inspection_finding_rectify")
def finding_rectify(request, finding_id: int, payload: RectifyIn):
    return _finding_out(services.finding_rectify(request.user, finding_id, evidence_note=payload.evidence_note, version=payload.version))


@router.post("/findings/{finding_id}/confirm", response={200: FindingOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
             summary="Confirm a minor finding's rectification, or monitored use (use unit)", operation_id="inspection_finding_confirm")
def finding_confirm(request, finding_id: int, payload: ConfirmIn):
    return _finding_out(services.finding_confirm(request.user, finding_id, monitored=payload.monitored, version=payload.version))


class DueQuery(Schema):
    months: int = Field(3, ge=1, le=24)
    limit: int = Field(200, ge=1, le=1000)


@router.get("/due", response={200: DueOut, 403: ErrorOut}, summary="Lifts due in the next months and the workload per month",
            operation_id="inspection_due")
def due(request, q: Query[DueQuery]):
    require(request.user, "inspection.view")
    qs, months = selectors.due_list(request.user, months=q.months)
    items = [{"elevator": v.elevator_id, "code": v.elevator.display_code, "address": v.elevator.address, "next_due": v.next_due,
              "next_kind": v.next_kind, "state": v.state} for v in qs[:q.limit]]
    return {"months": [{"month": m, "count": c} for m, c in months], "items": items}


@router.get("/findings", response={200: list[FindingOut], 403: ErrorOut}, summary="Open findings on the caller's lifts, by deadline",
            operation_id="inspection_findings")
def findings(request):
    require(request.user, "inspection.view")
    return [_finding_out(f) for f in selectors.findings_for(request.user)[:500]]


class WhatIfQuery(Schema):
    candidate: str = Field(..., description="policy code: t7001_2023 | legacy_annual | shanxi_2020_pilot | nyc_annual")
    years: int = Field(10, ge=1, le=30)
    grades: str | None = Field(None, max_length=32, description="maintenance-unit grades the candidate applies to, e.g. 'A,B'")
    iot: bool | None = Field(None, description="only lifts with (true) / without (false) IoT monitoring")
    max_age_years: int | None = Field(None, ge=0, le=100)
    crowded_place: bool | None = None
    limit: int = Field(50, ge=0, le=500)


class WhatIfLift(Schema):
    elevator: int
    code: str
    address: str
    crowded_place: bool
    age_years: int
    current: int
    candidate: int
    delta: int


class WhatIfOut(Schema):
    lifts: int
    touched: int
    years: int
    current_per_year: float
    candidate_per_year: float
    delta_per_year: float
    top: list[WhatIfLift]


@router.get("/whatif", response={200: WhatIfOut, 403: ErrorOut, 422: ErrorOut},
            summary="Classified-cycle what-if: inspections per year a candidate policy saves or adds on the caller's fleet",
            operation_id="inspection_whatif")
def whatif(request, q: Query[WhatIfQuery]):
    from django.core.exceptions import ValidationError

    from . import schedule
    from .whatif import Criteria, what_if

    require(request.user, "inspection.whatif")
    if q.candidate not in schedule.POLICIES:
        raise ValidationError({"candidate": [f"unknown policy; one of {', '.join(sorted(schedule.POLICIES))}"]})
    grades = {g.strip() for g in q.grades.split(",") if g.strip()} if q.grades else None
    r = what_if(request.user, candidate=q.candidate, years=q.years, limit=q.limit,
                criteria=Criteria(grades=grades, iot=q.iot, max_age_years=q.max_age_years, crowded_place=q.crowded_place))
    return r.__dict__
