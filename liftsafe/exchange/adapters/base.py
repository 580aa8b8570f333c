"""The adapter interface and the reply shape shared by every receiver format."""
from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone


@dataclass
class Reply:
    """A receiver's answer to one batch.

    ``code``: the receiver's own status code (0 = accepted), None when it sent none.
    ``results``: ``{record key: (accepted, reason)}`` for the records it answered per record;
    records it did not name follow the whole-batch ``code``.
    """

    code: int | None
    message: str = ""
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def batch_ok(self) -> bool:
        return self.code in (0, None)


def wire_time(value: dt.datetime | None) -> str | None:
    """A datetime on the wire: local time of the deployment (``LIFTSAFE_TIME_ZONE``, not the viewer's active
    zone), ``YYYY-MM-DD HH:MM:SS``."""
    if value is None:
        return None
    return value.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M:%S")


class Adapter(ABC):
    """Maps records to one receiver's format: an interface; subclasses set the attributes and implement
    the four abstract methods (instantiating an incomplete adapter raises TypeError).

    Attributes:
        key: registry key (stored in ``Destination.adapter``).
        label: human name.
        kind: the destination kind it is meant for (``national`` / ``provincial``).
        record_types: which :class:`~liftsafe.exchange.models.RecordType` values it can send.
        content_type: the HTTP ``Content-Type`` of a batch body.
    """

    key = ""
    label = ""
    kind = ""
    record_types: tuple[str, ...] = ()
    content_type = "application/json"

    @abstractmethod
    def map_case(self, case, milestones: list) -> dict | None:
        """The row for an emergency case, or None when this receiver takes no such case."""
        ...

    @abstractmethod
    def map_elevator(self, elevator) -> dict | None:
        """The row for an elevator register entry, or None."""
        ...

    @abstractmethod
    def record_key(self, record_type: str, payload: dict) -> str:
        """The id by which the receiver names this row in its reply."""
        ...

    @abstractmethod
    def encode(self, record_type: str, payloads: list[dict]) -> bytes:
        """The HTTP body of a batch."""
        ...

    def parse_reply(self, record_type: str, status: int, content: bytes, payloads: list[dict]) -> Reply:
        """Read the receiver's JSON reply. Raises ValueError when it is not the documented shape."""
        try:
            data: Any = json.loads(content.decode("utf-8-sig") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"reply is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("reply is not a JSON object")
        code = data.get("code")
        try:
            code = None if code is None else int(code)
        except (TypeError, ValueError):
            raise ValueError(f"reply code {code!r} is not a number")
        results: dict[str, tuple[bool, str]] = {}
        raw = data.get("results") or []
        if not isinstance(raw, list):
            raise ValueError("reply results is not a list")
        keys = [self.record_key(record_type, p) for p in payloads]
        for item in raw:
            if not isinstance(item, dict):
                continue
            key = self.result_key(item, keys)
            if key is None:
                continue
            ok = str(item.get("status", "")).lower() in ("ok", "accepted", "success", "0")
            results[key] = (ok, "" if ok else str(item.get("reason") or item.get("message") or "rejected"))
        return Reply(code=code, message=str(data.get("message") or ""), results=results)

    def result_key(self, item: dict, keys: list[str]) -> str | None:
        """The record key a reply item names (by id field, or by 1-based ``row`` in the batch)."""
        for name in self.result_id_fields:
            if item.get(name) not in (None, ""):
                return str(item[name])
        row = item.get("row")
        if isinstance(row, int) and 1 <= row <= len(keys):
            return keys[row - 1]
        return None

    result_id_fields: tuple[str, ...] = ("id",)
