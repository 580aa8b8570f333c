"""Hazards API (mounted at /api/hazards/): scoped reads, the rectification workflow, look-back re-checks.

Errors (the API's one shape, liftsafe.core.errors): 422 ``{"detail", "errors": {field: [messages]}}``
for bad input, 409 (same shape) for a stale ``version`` (optimistic concurrency), 403 for a caller
without the right, 404 outside the caller's scope.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from liftsafe.core.pagination import BoundedPage

from liftsafe.core.errors import ErrorOut
from liftsafe.registry.models import Organisation
from liftsafe.registry.selectors import elevator_get

from . import selectors, services

router = Router(tags=["hazards"])


class HazardOut(Schema):
    id: int
    elevator_id: int
    area_code: str
    source: str
    source_ref: str
    title: str
    level: str
    state: str
    cause_class: str
    responsible_unit_id: int | None
    deadline: dt.date | None
    overdue: bool
    listed: bool
    listed_authority: str
    recurrence_count: int
    closed_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_area_code(obj) -> str:
        return obj.area.code

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.is_overdue()


class HazardFilter(Schema):
    q: str = ""
    state: str | None = None
    level: str | None = None
    area: str | None = None
    source: str | None = None
    overdue: bool | None = None
    listed: bool | None = None
    open: bool | None = None
    responsible_unit: int | None = None
    elevator: int | None = None


class HazardIn(Schema):
    elevator_id: int
    source: str
    title: str
    level: str
    responsible_unit_id: int
    deadline: dt.date | None = None
    description: str = ""
    cause_class: str = ""


class ActionIn(Schema):
    version: int
    note: str = ""
    reason: str = ""
    authority: str = ""


class RecheckIn(Schema):
    hazard_id: int
    result: str
    note: str = ""


def _call(fn):
    """Run a write in one transaction; its errors (ValidationError, HazardConflict, PermissionDenied, NotFound)
    are answered by the API's one error handler (liftsafe.core.errors), in the one error shape."""
    with transaction.atomic():
        return Status(200, fn())


ERRS = {409: ErrorOut, 422: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("/hazards", response=list[HazardOut], summary="Hazards the caller may see, with filters")
@paginate(BoundedPage)
def hazard_list(request, filters: Query[HazardFilter]):
    """The same filter declaration as the page and its exports (hazards/filters.py); a bad value is a 422 naming it."""
    from . import filters as hazard_filters

    params = {k: v for k, v in filters.dict().items() if v is not None}
    return hazard_filters.apply(request.user, hazard_filters.parse(params))


@router.get("/hazards/{hazard_id}", response=HazardOut, summary="One hazard")
def hazard_detail(request, hazard_id: int):
    return selectors.hazard_get(request.user, hazard_id)


@router.post("/hazards", response={200: HazardOut, **ERRS}, summary="File a hazard (regulator)")
def hazard_create(request, data: HazardIn):
    def run():
        unit = Organisation.objects.filter(pk=data.responsible_unit_id).first()
        return services.hazard_file(request.user, elevator=elevator_get(request.user, data.elevator_id), source=data.source,
                                    title=data.title, level=data.level, responsible_unit=unit, deadline=data.deadline,
                                    description=data.description, cause_class=data.cause_class)
    return _call(run)


class SelfReportIn(Schema):
    elevator_id: int
    title: str
    level: str
    description: str = ""
    occurred_on: dt.date | None = None


@router.post("/self-reports", response={200: HazardOut, **ERRS},
             summary="Report a hazard on one of the caller's own lifts (use unit / maintenance unit / inspection agency; a lead for the regulator)")
def self_report(request, data: Form[SelfReportIn], files: File[list[UploadedFile]] = None):
    """Multipart form: the fields plus optional ``files`` (photos / PDF). A lift the caller does not hold is 404."""
    def run():
        return services.hazard_self_report(request.user, elevator=elevator_get(request.user, data.elevator_id), title=data.title,
                                           level=data.level, description=data.description, occurred_on=data.occurred_on,
                                           files=files or [])
    return _call(run)


_ACTIONS = {
    "list": lambda u, h, d: services.hazard_list(u, h, version=d.version, authority=d.authority),
    "start": lambda u, h, d: services.rectification_start(u, h, version=d.version, note=d.note),
    "submit": lambda u, h, d: services.rectification_submit(u, h, version=d.version, note=d.note),
    "send-back": lambda u, h, d: services.hazard_send_back(u, h, version=d.version, reason=d.reason),
    "close": lambda u, h, d: services.hazard_close(u, h, version=d.version, note=d.note),
}


class EvidenceOut(Schema):
    id: int
    original_name: str
    content_type: str
    size: int
    kind: str


@router.post("/hazards/{hazard_id}/evidence", response={200: EvidenceOut, **ERRS}, summary="Upload an evidence file")  # before the {action} route, which would shadow it
def evidence_upload(request, hazard_id: int, file: File[UploadedFile]):
    h = selectors.hazard_get(request.user, hazard_id)
    return _call(lambda: services.evidence_add(request.user, h, file))


@router.post("/hazards/{hazard_id}/{action}", response={200: HazardOut, **ERRS},
             summary="Workflow action: list, stop-use, start, submit, send-back, close")
def hazard_action(request, hazard_id: int, action: str, data: ActionIn):
    h = selectors.hazard_get(request.user, hazard_id)
    if action not in _ACTIONS and action != "stop-use":
        raise ValidationError({"action": [f"unknown action {action!r}"]})

    def run():
        if action == "stop-use":
            services.stop_use_order(request.user, h, version=data.version, reason=data.reason)
            return selectors.hazard_get(request.user, hazard_id)
        return _ACTIONS[action](request.user, h, data)
    return _call(run)


@router.post("/campaigns/{campaign_id}/rechecks", response={200: dict, **ERRS}, summary="Record a re-check result")
def recheck(request, campaign_id: int, data: RecheckIn):
    c = selectors.campaign_get(request.user, campaign_id)
    h = selectors.hazard_get(request.user, data.hazard_id)

    def run():
        rc = services.recheck_record(request.user, c, h, result=data.result, note=data.note)
        return {"id": rc.pk, "result": rc.result}
    return _call(run)


@router.get("/statistics", response=list[dict], summary="Rectification statistics by area and level")
def statistics(request, area: str | None = None):
    return selectors.statistics(request.user, area=area)
