"""One error contract for services, the JSON API and the pages.

Services raise the domain exceptions below (never ``Http404`` or an ad-hoc error); each is a
subclass of the matching Django exception, so a page view that does not catch it still answers
404 / 403 / 400 as Django does.

- :class:`ValidationError` (Django's): bad input, ``{field: [message, …]}``; nothing was written.
- :class:`Conflict`: a stale version or a concurrent change (a ``ValidationError`` naming the field).
- :class:`NotFound`: missing, or outside the caller's scope (indistinguishable on purpose).
- :class:`PermissionDenied`: the caller may see the object but may not do this.

The API maps them with ONE handler (:func:`install`, called by ``liftsafe/api.py``) to one JSON
shape, :class:`ErrorOut`::

    {"detail": "<one line for people>", "errors": {"<field>": ["<reason>", …]} | null}

======  =================================================================================
status  when
======  =================================================================================
401     no valid token or session (``{"detail": "Unauthorized"}``)
403     logged in, may see the object, may not do this
404     missing or outside the caller's scope (``{"detail": "Not Found"}``)
409     :class:`Conflict` (stale ``version``), with ``errors``
413     too large (e.g. a message batch over its cap)
422     bad input: schema validation, a service's ``ValidationError``, refused input
        (:mod:`liftsafe.core.input`), a value the database refuses (backstop), with ``errors``
503     the database is unavailable (details are logged, never shown)
======  =================================================================================

Pages turn the same exceptions into messages with :func:`add_service_error`, which names each
field by its label (the form field's or the model field's ``verbose_name``) in the user's language.
"""
from __future__ import annotations

import logging
import traceback

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema

__all__ = ["BadInput", "Conflict", "ErrorOut", "NotFound", "PermissionDenied", "ValidationError", "add_service_error",
           "error_response", "field_errors", "install"]

logger = logging.getLogger("liftsafe.errors")


class NotFound(Http404):
    """Missing or outside the caller's scope (the two look the same). API: 404."""


class PermissionDenied(DjangoPermissionDenied):
    """The caller may see the object but may not do this. API: 403 with the reason."""


class Conflict(ValidationError):
    """A stale ``version`` or a concurrent change; ``{field: [message]}`` like a ValidationError. API: 409."""


class BadInput(SuspiciousOperation):
    """Input refused before any view runs (NUL byte, lone surrogate, non-finite number, unparseable body …).

    ``field`` names where (``query.q``, ``body.messages.3.at``, ``body``), ``message`` says why.
    Pages: 400 (Django's ``SuspiciousOperation``); API: 422 in the error shape.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ErrorOut(Schema):
    """Every API error: ``detail`` for people, ``errors`` ``{field: [reason, …]}`` for bad input (422/409)."""

    detail: str
    errors: dict[str, list[str]] | None = None


# --- field errors -------------------------------------------------------------------------------

# Locations pydantic/ninja prefix to a field's path; dropped so the field is named plainly.
_LOC_KINDS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_of(loc) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOC_KINDS:
        parts = parts[1:]
    # ninja nests a body schema under the parameter name ("payload", "filters"): drop it.
    if len(parts) > 1 and parts[0] in {"payload", "filters", "data", "options", "pagination"}:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def field_errors(exc) -> dict[str, list[str]]:
    """``{field: [reason, …]}`` from a Django ``ValidationError``, a ninja ``ValidationError`` or :class:`BadInput`."""
    from ninja.errors import ValidationError as NinjaValidationError

    if isinstance(exc, BadInput):
        return {exc.field: [exc.message]}
    if isinstance(exc, NinjaValidationError):
        out: dict[str, list[str]] = {}
        for err in exc.errors:
            out.setdefault(_field_of(err.get("loc", ())), []).append(str(err.get("msg", "invalid")))
        return out
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in ValidationError(errs).messages] for field, errs in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _detail(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{'' if field == '__all__' else field + ': '}{' '.join(msgs)}" for field, msgs in errors.items())


# --- the database backstop --------------------------------------------------------------------

_DB_FRAMES = ("/django/db/", "/psycopg/", "/psycopg2/", "/sqlite3/")


def from_database(exc: BaseException) -> bool:
    """Whether ``exc`` is the database (or its driver) refusing a value: a ``DataError``, or a
    ``ValueError``/``OverflowError``/``UnicodeEncodeError`` raised inside the database layer (SQLite's
    "Python int too large", psycopg's "A string literal cannot contain NUL", an out-of-range date)."""
    if isinstance(exc, DataError):
        return True
    if not isinstance(exc, (ValueError, OverflowError)):
        return False
    tb = exc.__traceback__
    frames = traceback.extract_tb(tb)[-3:] if tb else []
    return any(any(mark in f.filename.replace("\\", "/") for mark in _DB_FRAMES) for f in frames)


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (connection refused, server gone)."""
    return isinstance(exc, (OperationalError, InterfaceError))


# --- one mapping ------------------------------------------------------------------------------


def error_response(exc: BaseException) -> tuple[int, dict] | None:
    """``(status, body)`` in the error shape for a known exception, or None for a real bug (a 500).

    The single mapping used by the API handler and by the input middleware.
    """
    from ninja.errors import AuthenticationError, HttpError
    from ninja.errors import ValidationError as NinjaValidationError

    if isinstance(exc, HttpError) and isinstance(exc.__cause__, BadInput):  # ninja wraps a body parser's error
        exc = exc.__cause__
    if isinstance(exc, Conflict):
        errors = field_errors(exc)
        return 409, {"detail": _detail(errors), "errors": errors}
    if isinstance(exc, (ValidationError, NinjaValidationError, BadInput)):
        errors = field_errors(exc)
        return 422, {"detail": _detail(errors), "errors": errors}
    if isinstance(exc, DjangoPermissionDenied):
        return 403, {"detail": str(exc) or "Forbidden"}
    if isinstance(exc, Http404):
        return 404, {"detail": "Not Found"}
    if isinstance(exc, AuthenticationError):
        return 401, {"detail": "Unauthorized"}
    if isinstance(exc, HttpError):
        return exc.status_code, {"detail": str(exc)}
    if from_database(exc):
        logger.info("database refused a value: %s: %s", type(exc).__name__, exc)
        msg = _("A value is out of the range the database accepts.")
        return 422, {"detail": msg, "errors": {"__all__": [msg]}}
    if database_down(exc) or (isinstance(exc, DatabaseError) and not isinstance(exc, DataError)
                              and "connect" in str(exc).lower()):
        logger.error("database unavailable: %s: %s", type(exc).__name__, exc)
        return 503, {"detail": "Service unavailable"}
    return None


def install(api) -> None:
    """Register the one exception handler on the NinjaAPI ``api`` for every exception it maps."""
    from ninja.errors import HttpError
    from ninja.errors import ValidationError as NinjaValidationError

    from .logfilters import FORBIDDEN_REASON

    def handle(request, exc):
        mapped = error_response(exc)
        if mapped is None:
            raise exc  # a bug: Django logs it and answers 500 (JSON for /api/, liftsafe.core.input)
        status, body = mapped
        if status == 403:  # django.request logs the 403 as one line with this reason (liftsafe.core.logfilters)
            setattr(request, FORBIDDEN_REASON, body["detail"])
        return api.create_response(request, body, status=status)

    for cls in (Exception, ValidationError, NinjaValidationError, DjangoPermissionDenied, Http404, HttpError):
        api.add_exception_handler(cls, handle)


def declare_error_responses(api) -> None:
    """Declare in the OpenAPI, for every operation, the error responses it can give (:class:`ErrorOut`):
    401 (authenticated API), 403, 404 (operations with a path parameter), 422 and 503; codes an
    operation declares itself are kept."""
    for _prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                codes = [403, 422, 503]
                if op.auth_callbacks or getattr(op, "auth_param", None) is not None:  # auth=None: a public operation
                    codes.append(401)
                if "{" in path:
                    codes.append(404)
                for code in codes:
                    if code not in op.response_models:
                        op.response_models[code] = op._create_response_model(ErrorOut)


# --- pages ------------------------------------------------------------------------------------


def _label(field: str, form=None, models=()) -> str:
    if form is not None and field in getattr(form, "fields", {}):
        label = form.fields[field].label
        if label:
            return str(label)
    for model in models:
        try:
            f = model._meta.get_field(field)
        except Exception:  # noqa: BLE001 - not a field of this model
            continue
        return str(getattr(f, "verbose_name", field))
    return field.replace("_", " ")


def _choice_label(key, value, models):
    for model in models:  # a param named like a field with choices: that field's label
        try:
            choices = getattr(model._meta.get_field(key), "flatchoices", None)
        except Exception:  # noqa: BLE001 - not a field of this model
            choices = None
        for k, v in choices or ():
            if k == value:
                return str(v)
    for model in models:
        for f in model._meta.get_fields():
            choices = getattr(f, "flatchoices", None)
            if choices:
                for k, v in choices:
                    if k == value:
                        return str(v)
    return value


def service_error_messages(exc, *models, form=None) -> list[tuple[str | None, str]]:
    """``[(field or None, message)]`` for a page, fields named by their LABEL.

    ``exc``: a ``ValidationError`` (its ``params`` that are choice values of ``models`` are shown as
    their translated labels), ``PermissionDenied`` or :class:`NotFound`.
    """
    if isinstance(exc, ValidationError):
        out = []
        items = exc.error_dict.items() if hasattr(exc, "error_dict") else [("__all__", exc.error_list)]
        for field, errs in items:
            for e in errs:
                msg = e.message
                if e.params:
                    msg = msg % {k: _choice_label(k, v, models) for k, v in e.params.items()}
                out.append((None if field in ("__all__", None) else field, str(msg)))
        return out
    if isinstance(exc, Http404):
        return [(None, _("Not found, or outside your area."))]
    return [(None, str(exc) or _("You may not do this."))]


def add_service_error(form_or_request, exc, *models, form=None) -> None:
    """Show a service error on a page: on a bound form (field errors next to the field, others as
    non-field errors prefixed with the field's label), or as ``messages.error`` on a request, each
    prefixed with the field's LABEL: the ``form``'s field label, else the ``verbose_name`` of the
    field in ``models`` (in the user's language), never the field's code.

    ``exc``: a ``ValidationError`` (e.g. from a service, or ``ValidationError(form.errors)``),
    ``PermissionDenied`` or :class:`NotFound`.
    """
    from django import forms
    from django.contrib import messages

    target_form = form_or_request if isinstance(form_or_request, forms.BaseForm) else None
    form = target_form or form
    for field, msg in service_error_messages(exc, *models, form=form):
        text = f"{_label(field, form, models)}: {msg}" if field else msg
        if target_form is not None:
            if field and field in target_form.fields:
                target_form.add_error(field, msg)
            else:
                target_form.add_error(None, text)
        else:
            messages.error(form_or_request, text)
