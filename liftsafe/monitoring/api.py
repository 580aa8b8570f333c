"""Monitoring API (mounted at /api/monitoring/): HTTP batch intake of device messages, devices, alarms.

The batch endpoint accepts the same JSON messages as MQTT (schema
``liftsafe/monitoring/schema/message-v1.schema.json``) for devices that cannot
speak MQTT. Who may do what is decided in :mod:`liftsafe.monitoring.services`
(docs/monitoring.md "Roles"): an integrator (the elevators' maintenance unit,
usually with an API token) or an administrator submits messages for devices of
its own elevators and binds/unbinds devices; operators, the maintenance unit and
administrators acknowledge and clear alarms; everyone reads within their scope.
Processing is idempotent by message id.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Router, Schema
from liftsafe.core.api import ErrorOut, Status
from liftsafe.core.pagination import OFFSET_MAX
from ninja.errors import HttpError

from liftsafe.registry.selectors import elevator_get

from . import selectors, services

router = Router(tags=["monitoring"])
MAX_BATCH = 1000
Limit = Annotated[int, Field(ge=1, le=1000, description="rows, 1-1000")]
Offset = Annotated[int, Field(ge=0, le=OFFSET_MAX, description=f"rows to skip, 0-{OFFSET_MAX}")]


class BatchIn(Schema):
    messages: list[Any]


class MessageBatchOut(Schema):
    """Outcome of a batch of device messages (named apart from exchange's upload batch, so the OpenAPI keeps both)."""

    outcomes: list[str]
    accepted: int
    duplicates: int
    out_of_order: int
    dead: dict[str, int]
    alarms_raised: int


@router.post("/messages", response={200: MessageBatchOut, 413: ErrorOut}, summary="Submit a batch of device messages (same schema as MQTT)")
def submit_messages(request, payload: BatchIn):
    if len(payload.messages) > MAX_BATCH:
        raise HttpError(413, f"messages: at most {MAX_BATCH} per batch, got {len(payload.messages)}")
    r = services.submit_messages(request.user, payload.messages)
    return {"outcomes": r.outcomes, "accepted": r.count("accepted"), "duplicates": r.count("duplicate"),
            "out_of_order": r.count("out_of_order"), "dead": dict(r.dead), "alarms_raised": len(r.alarms_raised)}


class DeviceOut(Schema):
    id: int
    device_id: str
    elevator_id: int
    vendor: str
    active: bool
    online: bool
    last_seen: dt.datetime | None
    last_device_time: dt.datetime | None
    last_status: dict
    last_stats: dict


class BindIn(Schema):
    elevator_id: int
    device_id: str
    vendor: str = ""


@router.get("/devices", response=list[DeviceOut], summary="Monitoring devices of the caller's elevators")
def device_list(request, elevator_id: int | None = None, limit: Limit = 200, offset: Offset = 0):
    qs = selectors.devices_for(request.user)
    if elevator_id is not None:
        qs = qs.filter(elevator_id=elevator_id)
    return list(qs.order_by("device_id")[offset: offset + min(limit, 1000)])


@router.post("/devices", response={201: DeviceOut}, summary="Bind a device to an elevator (its maintenance unit or an admin; refused for a scrapped one)")
def device_bind(request, payload: BindIn):
    elevator = elevator_get(request.user, payload.elevator_id)
    return Status(201, services.device_bind(request.user, elevator, payload.device_id, vendor=payload.vendor))


@router.post("/devices/{device_pk}/unbind", response=DeviceOut, summary="Unbind a device (its elevator's maintenance unit or an admin)")
def device_unbind(request, device_pk: int):
    return services.device_unbind(request.user, selectors.device_get(request.user, device_pk))


class AlarmOut(Schema):
    id: int
    elevator_id: int
    device_id: int | None
    type: str
    code: str
    detail: str
    snapshot: dict
    device_time: dt.datetime | None
    raised_at: dt.datetime
    occurrences: int
    cleared_at: dt.datetime | None
    cleared_reason: str
    acknowledged_at: dt.datetime | None
    incident_id: int | None
    case_id: int | None


@router.get("/alarms", response=list[AlarmOut], summary="Alarms of the caller's elevators, newest first")
def alarm_list(request, elevator_id: int | None = None, active: bool | None = None, limit: Limit = 100, offset: Offset = 0):
    return list(selectors.alarms_for(request.user, elevator_id=elevator_id, active=active)[offset: offset + min(limit, 1000)])


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmOut, summary="Acknowledge an alarm (operator, maintenance unit, admin)")
def alarm_ack(request, alarm_id: int):
    return services.acknowledge_alarm(request.user, selectors.alarm_get(request.user, alarm_id))


class ClearIn(Schema):
    reason: str


@router.post("/alarms/{alarm_id}/clear", response=AlarmOut, summary="Clear an active alarm by hand, with a reason (operator, maintenance unit, admin)")
def alarm_clear(request, alarm_id: int, payload: ClearIn):
    return services.clear_alarm(request.user, selectors.alarm_get(request.user, alarm_id), reason=payload.reason)
