"""Registry API: search, detail, exports, contracts, lifecycle, audit history, organisations.

Thin: every read goes through :mod:`liftsafe.registry.selectors` (scoped to the
caller: an elevator outside the scope is 404, exactly like a missing one) and
every write through :mod:`liftsafe.registry.services` (validation, audit
history, one transaction). Writes: a regulator in the elevator's area or an
administrator; another role that can see the elevator gets 403. Bad input is
422 ``{"detail": …, "errors": {field: [reason]}}`` (see liftsafe.core.api).
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import ConfigDict, field_validator

from liftsafe.core.api import ErrorOut, Status
from liftsafe.core.pagination import OFFSET_MAX
from liftsafe.core.messages import encode

from . import exports, selectors, services
from . import filters as elevator_filters
from .codes import CATEGORY_CODES
from .models import Elevator, LifecycleEvent, Organisation

router = Router(tags=["registry"])

PAGE_MAX = 500


COUNT_CAP = 10_000


class Page(LimitOffsetPagination):
    """``?limit=`` (1-500, default 50) and ``?offset=``; response ``{"items": […], "count": n, "count_exact": bool}``.

    ``count`` is exact up to 10,000 matches; above that it is 10,000 and ``count_exact`` is false:
    counting a whole 1,000,000-row registry costs 0.3-1 s on PostgreSQL, the first page ~10 ms
    (bench/RESULTS.md "Elevator search"). Page on with ``offset`` as usual.
    """

    class Input(Schema):
        limit: int = Field(50, ge=1, le=PAGE_MAX)
        offset: int = Field(0, ge=0, le=OFFSET_MAX)

    class Output(Schema):
        items: list
        count: int
        count_exact: bool = True

    def __init__(self, **kwargs):
        super().__init__(max_limit=PAGE_MAX, **kwargs)

    def paginate_queryset(self, queryset, pagination, request, **params):
        offset, limit = pagination.offset, min(pagination.limit, PAGE_MAX)
        # no ORDER BY inside the capped count: PostgreSQL stops after COUNT_CAP + 1 rows instead of sorting them all
        capped = queryset.order_by()[: COUNT_CAP + 1].count() if hasattr(queryset, "query") else len(queryset)
        exact = capped <= COUNT_CAP
        if not exact and offset + limit > COUNT_CAP:  # paging past the cap: the caller asked for it, count for real
            capped, exact = queryset.order_by().count(), True
        return {"items": queryset[offset: offset + limit], "count": min(capped, COUNT_CAP) if not exact else capped,
                "count_exact": exact}


# --- schemas ---------------------------------------------------------------------------


class OrgRef(Schema):
    id: int
    kind: str
    name: str


class AreaRef(Schema):
    code: str
    name: str


class ElevatorOut(Schema):
    id: int
    source: str
    source_id: str
    display_code: str
    registration_code: str
    equipment_code: str
    use_certificate_no: str
    rescue_code: str
    category: str
    status: str
    address: str
    area_code: str
    urban: bool
    crowded_place: bool
    place_type: int | None
    latitude: float | None
    longitude: float | None
    use_unit_id: int | None
    manufacturer_id: int | None
    installation_date: dt.date | None
    rated_load_kg: Decimal | None
    rated_speed_mps: Decimal | None
    last_inspection_date: dt.date | None
    next_inspection_due: dt.date | None

    @staticmethod
    def resolve_area_code(obj) -> str:
        return obj.area.code


class ElevatorDetailOut(ElevatorOut):
    jurisdiction: str
    source_type: str
    postal_code: str
    area: AreaRef
    building_id: int | None
    use_unit: OrgRef | None
    manufacturer: OrgRef | None
    manufacturer_name_raw: str
    inspection_agency: OrgRef | None
    insurer: OrgRef | None
    maintenance_unit: OrgRef | None = Field(None, description="the contracted maintenance unit today (level-1 responder)")
    model: str
    factory_number: str
    floors: int | None
    stops: int | None
    floor_from: str
    floor_to: str
    travel_height_m: Decimal | None
    status_date: dt.date | None
    last_inspection_conclusion: str
    extra: dict
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_maintenance_unit(obj):
        return selectors.maintenance_unit_on(obj)


class ElevatorFilter(Schema):
    q: str = Field("", description="any identity code (exact) or an address prefix")
    area: str | None = Field(None, description="area code; everything below it")
    category: str | None = None
    status: str | None = None
    place_type: int | None = None
    use_unit: int | None = Field(None, description="use unit id")
    maintenance_unit: int | None = Field(None, description="maintenance unit id (current contract)")
    use_unit_name: str | None = Field(None, description="use units whose name starts with this")
    source: str | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, v):
        if v and v not in Elevator.Status.values:
            raise ValueError(f"unknown status {v!r}; one of {', '.join(Elevator.Status.values)}")
        return v or None

    @field_validator("category")
    @classmethod
    def _category(cls, v):
        if v and v not in CATEGORY_CODES:
            raise ValueError(f"unknown category {v!r}")
        return v or None


class ExportOptions(Schema):
    header: str = Field("labels", pattern="^(labels|keys)$",
                        description="labels: translated headers and choice labels; keys: field names and codes")


# --- elevators ----------------------------------------------------------------------------


@router.get("/elevators", response=list[ElevatorOut], summary="Search elevators by code or address, with filters",
            operation_id="registry_elevator_list")
@paginate(Page)
def elevator_list(request, filters: Query[ElevatorFilter]):
    return elevator_filters.apply(request.user, filters.dict()).select_related("area")  # as the page and the exports


@router.get("/elevators/export.csv", response={200: None, 422: ErrorOut}, operation_id="registry_elevator_export_csv",
            summary="The search result as CSV (streamed; same filters and scope as the search)")
def elevator_export_csv(request, filters: Query[ElevatorFilter], options: Query[ExportOptions]):
    return exports.csv_response(request.user, filters.dict(), human=options.header == "labels")


@router.get("/elevators/export.xlsx", response={200: None, 422: ErrorOut}, operation_id="registry_elevator_export_xlsx",
            summary="The search result as XLSX (same filters and scope; capped, see the 422 message)")
def elevator_export_xlsx(request, filters: Query[ElevatorFilter], options: Query[ExportOptions]):
    return exports.xlsx_response(request.user, filters.dict(), human=options.header == "labels")


@router.get("/elevators/{elevator_id}", response={200: ElevatorDetailOut, 404: ErrorOut}, summary="One elevator",
            operation_id="registry_elevator_detail")
def elevator_detail(request, elevator_id: int):
    return selectors.elevator_get(request.user, elevator_id)


class ElevatorPatch(Schema):
    """Fields to change (only those sent). Status changes go through ``POST …/status``."""

    model_config = ConfigDict(extra="forbid")

    registration_code: str | None = None
    equipment_code: str | None = None
    use_certificate_no: str | None = None
    rescue_code: str | None = None
    category: str | None = None
    source_type: str | None = None
    place_type: int | None = None
    crowded_place: bool | None = None
    urban: bool | None = None
    address: str | None = None
    postal_code: str | None = None
    area: str | None = Field(None, description="area code (must be inside the caller's area)")
    latitude: float | None = None
    longitude: float | None = None
    use_unit: int | None = Field(None, description="organisation id (kind use_unit)")
    manufacturer: int | None = None
    inspection_agency: int | None = None
    insurer: int | None = None
    model: str | None = None
    factory_number: str | None = None
    installation_date: dt.date | None = None
    floors: int | None = None
    stops: int | None = None
    floor_from: str | None = None
    floor_to: str | None = None
    rated_load_kg: Decimal | None = Field(None, description="kg")
    rated_speed_mps: Decimal | None = Field(None, description="m/s")
    travel_height_m: Decimal | None = Field(None, description="m")
    # last_inspection_date / last_inspection_conclusion / next_inspection_due are derived from the
    # inspection records (liftsafe.inspection.services.validity_recompute): not editable here (422 if sent).
    supervision_pass_date: dt.date | None = None
    supervision_pass_estimated: bool | None = None
    reason: str = Field("", description="why (kept in the audit history)")


_ORG_FIELDS = {"use_unit": "use_unit", "manufacturer": "manufacturer", "inspection_agency": "inspection_agency", "insurer": "insurer"}


def _resolve_changes(user, raw: dict) -> dict:
    """Turn API values into model values: codes/ids → objects the caller may see; null text → "".

    Raises:
        ValidationError: naming each field whose area/organisation is unknown or outside the scope,
            or that may not be empty.
    """
    changes: dict = {}
    errors: dict[str, str] = {}
    for field, value in raw.items():
        if field == "area":
            if value is None:
                errors["area"] = "an elevator must have an area"
                continue
            area = selectors.areas_for(user).filter(code=value).first()
            if area is None:
                errors["area"] = f"unknown area code {value!r} or outside your area"
                continue
            changes["area"] = area
            changes["jurisdiction"] = area.jurisdiction_code
        elif field in _ORG_FIELDS:
            if value is None:
                changes[field] = None
                continue
            org = selectors.organisations_for(user, kind=_ORG_FIELDS[field]).filter(pk=value).first()
            if org is None:
                errors[field] = f"no {_ORG_FIELDS[field].replace('_', ' ')} with id {value} in your scope"
                continue
            changes[field] = org
        else:
            model_field = Elevator._meta.get_field(field)
            if value is None and not model_field.null:
                if model_field.get_internal_type() in ("CharField", "TextField"):
                    value = ""
                else:
                    errors[field] = "may not be null"
                    continue
            changes[field] = value
    if errors:
        raise ValidationError(errors)
    return changes


@router.patch("/elevators/{elevator_id}", response={200: ElevatorDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
              summary="Change an elevator's data (regulator in the area, or administrator)",
              operation_id="registry_elevator_update")
def elevator_update(request, elevator_id: int, payload: ElevatorPatch):
    elevator = selectors.elevator_get(request.user, elevator_id)
    services.require_registry_editor(request.user)
    raw = payload.dict(exclude_unset=True)
    reason = raw.pop("reason", "") or ""
    if not raw:
        raise ValidationError({"__all__": "nothing to change: send at least one field"})
    changes = _resolve_changes(request.user, raw)
    services.elevator_update(request.user, elevator, changes, reason=reason or encode("core.via_api"))
    return selectors.elevator_get(request.user, elevator_id)


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str
    on: dt.date | None = Field(None, description="date of the change (default today)")
    reason: str = Field(..., min_length=1)


@router.post("/elevators/{elevator_id}/status", response={200: ElevatorDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Stop, seal, scrap or resume an elevator (records a lifecycle event)",
             operation_id="registry_elevator_set_status")
def elevator_set_status(request, elevator_id: int, payload: StatusIn):
    elevator = selectors.elevator_get(request.user, elevator_id)
    services.require_registry_editor(request.user)
    services.elevator_set_status(request.user, elevator, payload.status, on=payload.on or timezone.localdate(),
                                 reason=payload.reason)
    return selectors.elevator_get(request.user, elevator_id)


class ContractOut(Schema):
    id: int
    maintenance_unit_id: int
    maintenance_unit_name: str
    contract_no: str
    start_date: dt.date
    end_date: dt.date | None

    @staticmethod
    def resolve_maintenance_unit_name(obj) -> str:
        return obj.maintenance_unit.name


@router.get("/elevators/{elevator_id}/contracts", response={200: list[ContractOut], 404: ErrorOut},
            summary="Maintenance contract history (newest first)", operation_id="registry_elevator_contracts")
def elevator_contracts(request, elevator_id: int):
    return list(selectors.contracts_for(request.user, selectors.elevator_get(request.user, elevator_id)))


class ContractIn(Schema):
    model_config = ConfigDict(extra="forbid")

    maintenance_unit: int = Field(..., description="organisation id (kind maintenance_unit)")
    start_date: dt.date
    end_date: dt.date | None = None
    contract_no: str = ""


@router.post("/elevators/{elevator_id}/contracts", response={201: ContractOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Record a maintenance contract (an open earlier contract is closed the day before)",
             operation_id="registry_elevator_contract_create")
def elevator_contract_create(request, elevator_id: int, payload: ContractIn):
    elevator = selectors.elevator_get(request.user, elevator_id)
    services.require_registry_editor(request.user)
    unit = selectors.organisations_for(request.user).filter(pk=payload.maintenance_unit).first()
    if unit is None:
        raise ValidationError({"maintenance_unit": f"no organisation with id {payload.maintenance_unit} in your scope"})
    with transaction.atomic():
        contract = services.contract_create(request.user, elevator=elevator, maintenance_unit=unit, start_date=payload.start_date,
                                            end_date=payload.end_date, contract_no=payload.contract_no)
    return Status(201, contract)


class LifecycleOut(Schema):
    id: int
    kind: str
    occurred_on: dt.date
    note: str = Field(..., description="the note in the caller's language (the platform's translated, a person's as typed)")
    note_kind: str = Field("", description="the platform note's kind (liftsafe.core.messages), '' for a person's note")
    note_params: dict = Field(default_factory=dict, description="the platform note's parameters")
    source: str

    @staticmethod
    def resolve_note(obj) -> str:
        return obj.note_display


@router.get("/elevators/{elevator_id}/lifecycle", response={200: list[LifecycleOut], 404: ErrorOut},
            summary="Lifecycle (traceability) events, oldest first", operation_id="registry_elevator_lifecycle")
def elevator_lifecycle(request, elevator_id: int):
    return list(selectors.lifecycle_for(request.user, selectors.elevator_get(request.user, elevator_id)))


class LifecycleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(..., description=", ".join(LifecycleEvent.Kind.values))
    occurred_on: dt.date
    note: str = Field("", max_length=255)


@router.post("/elevators/{elevator_id}/lifecycle", response={201: LifecycleOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Add a lifecycle event (recorded once per kind, date and source)",
             operation_id="registry_elevator_lifecycle_add")
def elevator_lifecycle_add(request, elevator_id: int, payload: LifecycleIn):
    elevator = selectors.elevator_get(request.user, elevator_id)
    services.require_registry_editor(request.user)
    event = services.lifecycle_event_add(request.user, elevator, payload.kind, payload.occurred_on, note=payload.note, source="api")
    return Status(201, event)


class ChangeOut(Schema):
    field: str
    old: str | None
    new: str | None


class HistoryOut(Schema):
    at: dt.datetime
    user: str | None
    type: str = Field(..., description="+ created, ~ changed, - deleted")
    reason: str
    changes: list[ChangeOut]


@router.get("/elevators/{elevator_id}/history", response={200: list[HistoryOut], 404: ErrorOut},
            summary="Audit history: who, when, before/after (newest first)", operation_id="registry_elevator_history")
def elevator_history(request, elevator_id: int):
    rows = selectors.history_for(request.user, selectors.elevator_get(request.user, elevator_id))
    for row in rows:
        row["changes"] = [{"field": c["field"], "old": None if c["old"] is None else str(c["old"]),
                           "new": None if c["new"] is None else str(c["new"])} for c in row["changes"]]
    return rows


# --- organisations ------------------------------------------------------------------------


class OrganisationOut(Schema):
    id: int
    kind: str
    name: str
    credit_code: str
    licence_no: str
    grade: str
    address: str
    area_code: str | None
    latitude: float | None
    longitude: float | None
    phone: str
    generated: bool

    @staticmethod
    def resolve_area_code(obj) -> str | None:
        return obj.area.code if obj.area_id else None


class OrganisationFilter(Schema):
    kind: str | None = None
    q: str = Field("", description="name contains")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v and v not in Organisation.Kind.values:
            raise ValueError(f"unknown kind {v!r}; one of {', '.join(Organisation.Kind.values)}")
        return v or None


@router.get("/organisations", response=list[OrganisationOut], summary="Organisations the caller may see",
            operation_id="registry_organisation_list")
@paginate(Page)
def organisation_list(request, filters: Query[OrganisationFilter]):
    qs = selectors.organisations_for(request.user, kind=filters.kind).select_related("area")
    if filters.q.strip():
        qs = qs.filter(name__icontains=filters.q.strip())
    return qs.order_by("kind", "name", "id")


@router.get("/organisations/{organisation_id}", response={200: OrganisationOut, 404: ErrorOut}, summary="One organisation",
            operation_id="registry_organisation_detail")
def organisation_detail(request, organisation_id: int):
    from django.http import Http404

    org = selectors.organisations_for(request.user).select_related("area").filter(pk=organisation_id).first()
    if org is None:
        raise Http404("organisation not found")
    return org



# --- areas (mounted at /api/core/ by liftsafe/api.py: the areas a caller may filter by depend on the elevators
# they see, which the registry owns; core imports no domain app) ------------------------------------------------
areas_router = Router(tags=["core"])


class AreaOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    path: str
    urban: bool

    @staticmethod
    def resolve_parent_code(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None


@areas_router.get("/areas", response=list[AreaOut], summary="Areas the caller may filter by (scoped)", operation_id="core_area_list")
def area_list(request, level: str | None = None):
    qs = selectors.areas_for(request.user).select_related("parent").order_by("path")
    if level:
        qs = qs.filter(level=level)
    return list(qs)
