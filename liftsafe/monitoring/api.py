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
from typing import Annotated

from ninja import Field, Query, Router, Schema
from liftsafe.core.api import ErrorOut, Status
from liftsafe.core.pagination import OFFSET_MAX
from ninja.errors import HttpError

from liftsafe.core import permissions
from liftsafe.registry.selectors import elevator_get

from . import selectors, services

router = Router(tags=["monitoring"])
MAX_BATCH = 1000
Limit = Annotated[int, Field(ge=1, le=1000, description="rows, 1-1000")]
Offset = Annotated[int, Field(ge=0, le=OFFSET_MAX, description=f"rows to skip, 0-{OFFSET_MAX}")]


class MessageBatchOut(Schema):
    """Outcome of a batch of device messages (named apart from exchange's upload batch, so the OpenAPI keeps both)."""

    outcomes: list[str]
    accepted: int
    duplicates: int
    out_of_order: int
    dead: dict[str, int]
    alarms_raised: int
    backfilled: int = 0


#: the largest request body read, bytes (a batch of 1,000 messages at ``iot_max_message_bytes`` fits; one
#: oversized message inside is dead-lettered ``too_large`` on its own, the rest processed)
MAX_BODY_BYTES = 16 * 1024 * 1024


def _body(request) -> bytes | None:
    """The request body, at most :data:`MAX_BODY_BYTES` + 1 bytes (None when larger)."""
    if hasattr(request, "_body"):
        body = request._body
    else:
        body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@router.post("/messages", response={200: MessageBatchOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut},
             summary="Submit a batch of device messages (same schema and parser as MQTT)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["messages"],
                 "properties": {"messages": {"type": "array", "maxItems": MAX_BATCH, "items": {}}}}}}}})
def submit_messages(request, backfill: bool = False):
    """``{"messages": [...]}``: each message is parsed and validated by the MQTT path's own function
    (:func:`liftsafe.monitoring.services.split_batch`, then ``_parse``), so NaN, Infinity or 1e400 are
    dead-lettered ``schema`` per message, never a failed batch. ``?backfill=true``: historical intake
    (docs/monitoring.md "Backfill"; integrators, regulators, administrators).

    413: more than 1,000 messages or a body over 16 MiB; 422: a body that is not such a JSON object
    (stored as one ``malformed_json`` dead letter for an allowed submitter); 403: not a submitter."""
    # refused before anything is read or stored (PermissionDenied → 403 in the one error shape)
    if backfill:
        permissions.require(request.user, "device.backfill")
    else:
        permissions.require(request.user, "device.submit")
    body = _body(request)
    if body is None:
        services.dead_letter(services.RawMessage(b"", transport="http"), services.R.TOO_LARGE,
                             f"request body over {MAX_BODY_BYTES} bytes")
        raise HttpError(413, f"body: at most {MAX_BODY_BYTES} bytes")
    try:
        messages = services.split_batch(body)
    except ValueError as exc:
        services.dead_letter(services.RawMessage(body, transport="http"), services.R.MALFORMED_JSON, f"request body: {exc}")
        raise HttpError(422, f"body: not a JSON object {{\"messages\": [...]}}: {exc}")
    if len(messages) > MAX_BATCH:
        raise HttpError(413, f"messages: at most {MAX_BATCH} per batch, got {len(messages)}")
    r = services.submit_messages(request.user, messages, backfill=backfill)
    return {"outcomes": r.outcomes, "accepted": r.count("accepted"), "duplicates": r.count("duplicate"),
            "out_of_order": r.count("out_of_order"), "dead": dict(r.dead), "alarms_raised": len(r.alarms_raised),
            "backfilled": r.count("backfilled")}


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
def device_list(request, elevator_id: int | None = None, q: str = Query("", max_length=64), state: str = "all",
                limit: Limit = 200, offset: Offset = 0):
    """The same filters as the device list page (:func:`selectors.device_list`): ``q`` prefix of the device id or an
    elevator code, ``state`` all/online/offline (422 naming ``state`` otherwise), ``elevator_id``; ordered by
    device id (stable pages while devices go on and off line)."""
    qs = selectors.device_list(request.user, q=q, state=state)
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
