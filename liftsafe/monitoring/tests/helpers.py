"""Message builders for monitoring tests."""
from __future__ import annotations

import datetime as dt
import itertools
import json

from django.utils import timezone

from liftsafe.monitoring.services import RawMessage, topic_for

_ids = itertools.count(1)
T0 = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)

STATUS_OK = {"mode": 1, "running": 0, "dir": 0, "door_zone": 1, "floor": 3, "door": 2, "passenger": 2, "power": 1,
             "up_limit": 2, "down_limit": 2, "speed": 0.0}


def msg(device: str, type_: str, data: dict | None = None, *, ts: dt.datetime | None = None, mid: str | None = None) -> dict:
    body = {"v": 1, "type": type_, "device": device, "id": mid or f"m{next(_ids)}", "ts": (ts or timezone.now()).isoformat()}
    if data is not None:
        body["data"] = data
    return body


def raw(body, *, topic: str | None = None, received_at: dt.datetime | None = None, transport: str = "mqtt") -> RawMessage:
    if isinstance(body, dict):
        t = topic if topic is not None else topic_for(body.get("device", "x"), body.get("type", "x"))
        payload = json.dumps(body).encode()
    else:
        t, payload = topic or "", body
    return RawMessage(payload, topic=t, received_at=received_at, transport=transport)


def status(device: str, *, ts: dt.datetime, mid: str | None = None, **over) -> dict:
    return msg(device, "status", {**STATUS_OK, **over}, ts=ts, mid=mid)
