"""``GET /api/history/{app_label}/{model}/{pk}``: the audit history of any model with history, scoped like its page
(:mod:`liftsafe.core.history`)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema

from .history import history_rows, object_for_history

router = Router(tags=["history"])


class ChangeOut(Schema):
    field: str
    label: str
    old: Any = None
    new: Any = None


class HistoryRowOut(Schema):
    at: dt.datetime
    user: str | None = None
    type: str
    reason: str
    changes: list[ChangeOut]


def _plain(v):
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)


@router.get("/{app_label}/{model}/{pk}", response=list[HistoryRowOut], operation_id="history_list",
            summary="Audit history of one object (newest first; 404 outside the caller's scope)")
def history_list(request, app_label: str, model: str, pk: str):
    obj = object_for_history(request.user, app_label, model, pk)
    return [HistoryRowOut(at=r.at, user=r.user, type=r.type, reason=r.reason,
                          changes=[ChangeOut(field=c.field, label=c.label, old=_plain(c.old), new=_plain(c.new)) for c in r.changes])
            for r in history_rows(obj)]
