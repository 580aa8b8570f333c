"""Generic audit history (issue 10, "Generic audit history"): who and why on every save, and one history page
and API for any model with ``history = HistoricalRecords()`` (django-simple-history).

Writing — services never set simple-history's private attributes by hand::

    save_with_history(hazard, user, "stop-use ordered")          # sets who and why, then saves
    stamp(case, user, f"milestone {kind}"); _refresh(case)       # when another function does the save

``reason`` is a note of :mod:`liftsafe.core.messages` (``encode(kind, **params)``: stored as a kind and
parameters, translated when shown) or a person's own words; at most 100 characters, the column's size (an encoded
note is shortened keeping it valid, :func:`liftsafe.core.messages.fit`). ``user`` None keeps what the request middleware set
(the platform itself, a replay, a job).

Reading — :func:`history_rows` (the rows with their field changes, labels and choice values translated) behind

- the page ``/history/<app_label>/<model>/<pk>/`` (:func:`liftsafe.core.views.history`), and
- the API ``GET /api/history/{app_label}/{model}/{pk}`` (:mod:`liftsafe.core.history_api`),

both scoped: the object must be inside the caller's scope through the check its app registered with
:func:`liftsafe.core.permissions.register_scope`; a model whose app registered none, or without history, is a 404.
A new model gets its history tab by declaring ``history = HistoricalRecords()`` and registering its scope.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.http import Http404

REASON_MAX = 100
#: fields never shown as changes (bookkeeping)
HIDDEN_FIELDS = {"version", "updated_at", "modified_at", "search_text"}


def stamp(obj, user=None, reason: str = ""):
    """Set who (``user``, when given and authenticated) and why (``reason``) for ``obj``'s next history row; returns ``obj``."""
    if reason:
        from .messages import fit

        obj._change_reason = fit(str(reason), REASON_MAX)
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None) is not None:
        obj._history_user = user
    return obj


def save_with_history(obj, user=None, reason: str = "", **save_kwargs):
    """:func:`stamp` then ``obj.save(**save_kwargs)``; returns ``obj``."""
    stamp(obj, user, reason)
    obj.save(**save_kwargs)
    return obj


def model_with_history(app_label: str, model_name: str):
    """The model ``app_label.model_name`` if it keeps history (``Http404`` otherwise)."""
    try:
        model = apps.get_model(app_label, model_name)
    except (LookupError, ValueError):
        raise Http404("no such model") from None
    if not hasattr(model, "history") or not hasattr(model._meta, "simple_history_manager_attribute"):
        raise Http404("no history for this model")
    return model


def object_for_history(user, app_label: str, model_name: str, pk) -> object:
    """The object whose history ``user`` asks for: it must exist and be inside the user's scope
    (:func:`liftsafe.core.permissions.in_scope`); else ``Http404`` (the two are indistinguishable on purpose)."""
    from django.core.exceptions import ImproperlyConfigured

    from .permissions import in_scope

    model = model_with_history(app_label, model_name)
    try:
        obj = model._default_manager.filter(pk=pk).first()
    except (ValueError, TypeError):
        obj = None
    if obj is None:
        raise Http404("not found")
    try:
        visible = in_scope(user, obj)
    except ImproperlyConfigured:  # the app registered no scope for this model: nobody sees it here
        visible = False
    if not visible:
        raise Http404("not found")
    return obj


@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object


@dataclass
class Row:
    at: dt.datetime
    user: str | None
    type: str  # "+" created, "~" changed, "-" deleted
    reason: str
    changes: list[Change]


def _display(field, value):
    if value is None or value == "":
        return value
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else None
    if choices:
        return str(choices.get(value, value))
    if isinstance(value, bool):
        from django.utils.translation import gettext

        return gettext("yes") if value else gettext("no")
    return value


def history_rows(obj, limit: int = 500) -> list[Row]:
    """``obj``'s history, newest first, each row with the fields it changed (verbose names, choice labels) and its
    reason in the active language (:func:`liftsafe.core.messages.render`)."""
    from .messages import render as render_message

    model = type(obj)
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    records.reverse()
    out: list[Row] = []
    prev = None
    for rec in records:
        changes: list[Change] = []
        if prev is not None:
            for c in rec.diff_against(prev).changes:
                if c.field in HIDDEN_FIELDS:
                    continue
                try:
                    f = model._meta.get_field(c.field)
                    label = str(f.verbose_name)
                except Exception:  # noqa: BLE001 - a field of an old history row
                    f, label = None, c.field
                old, new = (_display(f, v) if f is not None else v for v in (c.old, c.new))
                changes.append(Change(c.field, label, old, new))
        out.append(Row(at=rec.history_date, user=rec.history_user.get_username() if rec.history_user else None,
                       type=rec.history_type, reason=render_message(rec.history_change_reason or ""), changes=changes))
        prev = rec
    out.reverse()
    return out[:limit]
