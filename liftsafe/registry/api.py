"""Registry API: search, detail, contracts, lifecycle and audit history (all scoped)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from . import selectors

router = Router(tags=["registry"])


class ElevatorOut(Schema):
    id: int
    source: str
    source_id: str
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


class ElevatorFilter(Schema):
    q: str = ""
    area: str | None = None
    category: str | None = None
    status: str | None = None
    place_type: int | None = None
    use_unit: int | None = None
    maintenance_unit: int | None = None
    source: str | None = None


@router.get("/elevators", response=list[ElevatorOut], summary="Search elevators by code or address, with filters")
@paginate(LimitOffsetPagination)
def elevator_list(request, filters: Query[ElevatorFilter]):
    return selectors.elevator_search(request.user, **filters.dict()).select_related("area")


@router.get("/elevators/{elevator_id}", response=ElevatorOut, summary="One elevator")
def elevator_detail(request, elevator_id: int):
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


@router.get("/elevators/{elevator_id}/contracts", response=list[ContractOut], summary="Maintenance contract history")
def elevator_contracts(request, elevator_id: int):
    return list(selectors.contracts_for(request.user, selectors.elevator_get(request.user, elevator_id)))


class LifecycleOut(Schema):
    kind: str
    occurred_on: dt.date
    note: str
    source: str


@router.get("/elevators/{elevator_id}/lifecycle", response=list[LifecycleOut], summary="Lifecycle (traceability) events")
def elevator_lifecycle(request, elevator_id: int):
    return list(selectors.lifecycle_for(request.user, selectors.elevator_get(request.user, elevator_id)))


class ChangeOut(Schema):
    field: str
    old: str | None
    new: str | None


class HistoryOut(Schema):
    at: dt.datetime
    user: str | None
    type: str
    reason: str
    changes: list[ChangeOut]


@router.get("/elevators/{elevator_id}/history", response=list[HistoryOut], summary="Audit history: who, when, before/after")
def elevator_history(request, elevator_id: int):
    rows = selectors.history_for(request.user, selectors.elevator_get(request.user, elevator_id))
    for row in rows:
        row["changes"] = [{"field": c["field"], "old": None if c["old"] is None else str(c["old"]),
                           "new": None if c["new"] is None else str(c["new"])} for c in row["changes"]]
    return rows
