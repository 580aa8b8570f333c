"""One input layer: input the platform cannot store or compute with is refused before any view runs.

Refused (API: 422 in the error shape of :mod:`liftsafe.core.errors`; pages: 400):

- a NUL character in any text: query string, form field, JSON string or key (PostgreSQL cannot store it);
- a lone UTF-16 surrogate (``"\\ud800"`` in JSON): no database encodes it;
- a JSON body that is not strict JSON: ``NaN``, ``Infinity``, a number overflowing a double (``1e400``),
  an integer outside the signed 64-bit range (SQLite and PostgreSQL ``bigint``);
- a date-time (text shaped ``YYYY-MM-DDThh:mm…``) with a UTC offset beyond ±15:59 (PostgreSQL's limit)
  or a year outside :data:`DATETIME_YEARS` (year 1 overflows when moved to UTC or local time);
- a multipart body without a boundary, or one that cannot be parsed.

:class:`InputMiddleware` checks the query string and form bodies of every request, and the JSON body of
``/api/`` requests as django-ninja reads it (:class:`StrictParser`, with :mod:`orjson`). It also makes ``/api/*`` answer JSON, never an HTML error page: a database that is
down gives 503, a value the database refuses gives 422 (the backstop of
:func:`liftsafe.core.errors.from_database`), any other server error 500, all in the error shape.
"""
from __future__ import annotations

import math
import re
import sys

import orjson
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from .errors import BadInput, error_response, from_database

API_PREFIX = "/api/"
#: Years a date-time may have (liftsafe design: no alarm, device message or case predates lifts with
#: records or lies centuries ahead; year 1 or 9999 overflow on conversion to UTC or local time).
DATETIME_YEARS = (1900, 2199)
#: Largest UTC offset in minutes (PostgreSQL stores offsets up to ±15:59; real ones reach ±14:00).
MAX_UTC_OFFSET_MIN = 15 * 60 + 59
INT64 = (-(2**63), 2**63 - 1)

_SURROGATE = re.compile("[\ud800-\udfff]")
_DATETIME = re.compile(r"^\s*(\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::\d{2}(?:[.,]\d+)?)?\s*"
                       r"(Z|z|[+-](\d{2}):?(\d{2})?(?::?\d{2}(?:\.\d+)?)?)?\s*$")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_text(value: str, where: str) -> None:
    """Raise :class:`BadInput` if ``value`` (found at ``where``) is text the platform refuses."""
    if "\x00" in value:
        raise BadInput(where, _("Text may not contain a NUL character."))
    if _SURROGATE.search(value):
        raise BadInput(where, _("Text may not contain a lone surrogate character."))
    if len(value) <= 48 and value[:1].isdigit():
        m = _DATETIME.match(value)
        if m:
            year = int(m.group(1))
            if not DATETIME_YEARS[0] <= year <= DATETIME_YEARS[1]:
                raise BadInput(where, _("The year must be between %(lo)d and %(hi)d.") % {"lo": DATETIME_YEARS[0],
                                                                                          "hi": DATETIME_YEARS[1]})
            if m.group(7) and int(m.group(7)) * 60 + int(m.group(8) or 0) > MAX_UTC_OFFSET_MIN:
                raise BadInput(where, _("The UTC offset must be within ±15:59."))


def check_value(value, where: str) -> None:
    """Walk a parsed JSON value: every string and key through :func:`check_text`, every number finite
    and every integer within signed 64 bits."""
    stack = [(value, where)]
    while stack:
        v, at = stack.pop()
        if isinstance(v, str):
            check_text(v, at or "body")
        elif isinstance(v, dict):
            for k, item in v.items():
                check_text(k, at or "body")
                stack.append((item, f"{at}.{k}" if at else str(k)))
        elif isinstance(v, list):
            stack.extend((item, f"{at}.{i}" if at else str(i)) for i, item in enumerate(v))
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int):
            if not INT64[0] <= v <= INT64[1]:
                raise BadInput(at or "body", _("The number is out of range."))
        elif isinstance(v, float) and not math.isfinite(v):
            raise BadInput(at or "body", _("The number must be finite."))


def parse_json(body: bytes):
    """Parse a JSON request body strictly (no NaN/Infinity, no overflow) and check it; raises :class:`BadInput`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput("body", _("Not valid JSON: %(err)s") % {"err": exc}) from None
    check_value(data, "")  # fields named by their path in the body, like schema errors ("received_at", "messages.3.at")
    return data


def _check_querydict(qd, kind: str) -> None:
    for key, values in qd.lists():
        check_text(key, kind)
        for v in values:
            if isinstance(v, str):
                check_text(v, key)


def check_request(request) -> None:
    """Check the query string, a form body and (for the API) a JSON body of ``request``; raise :class:`BadInput`."""
    if "\x00" in request.path:
        raise BadInput("path", _("Text may not contain a NUL character."))
    _check_querydict(request.GET, "query")
    ctype = request.content_type or ""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if ctype == "multipart/form-data":
            ctype_header = request.META.get("CONTENT_TYPE", "")
            if "boundary=" not in ctype_header.replace(" ", "").lower() or ctype_header.lower().rstrip().endswith("boundary="):
                raise BadInput("body", _("A multipart body needs a boundary."))
        if ctype in _FORM_TYPES:
            try:
                post = request.POST if request.method == "POST" else None
            except MultiPartParserError as exc:
                raise BadInput("body", _("The form body cannot be read: %(err)s") % {"err": exc}) from None
            if post is not None:
                _check_querydict(post, "form")


#: API paths whose JSON body its own service validates item by item (e.g. to dead-letter one bad device
#: message of a batch instead of refusing the batch): parsed by the standard library, not checked here.
LENIENT_JSON_PATHS: set[str] = set()


class StrictParser(Parser):
    """django-ninja's body parser: :func:`parse_json` (strict, checked). ninja wraps a parse error in a 400
    ``HttpError``; the error handler answers it as the 422 of the :class:`BadInput` inside."""

    def parse_body(self, request):
        if request.path in LENIENT_JSON_PATHS:
            return super().parse_body(request)
        return parse_json(request.body)


class FiniteJSONRenderer(JSONRenderer):
    """django-ninja's renderer, writing strict JSON: a non-finite float (from a computed statistic) becomes ``null``."""

    json_dumps_params = {"allow_nan": False}

    def render(self, request, data, *, response_status):
        try:
            return super().render(request, data, response_status=response_status)
        except ValueError:
            return super().render(request, _finite(data), response_status=response_status)


def _finite(v):
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    if hasattr(v, "model_dump"):
        return _finite(v.model_dump(mode="json"))
    return v


def _remember_exception(sender, request=None, **kwargs):
    """``got_request_exception``: keep the exception on the request so the middleware can answer /api/ in JSON."""
    if request is not None:
        request._liftsafe_exception = sys.exc_info()[1]


got_request_exception.connect(_remember_exception, dispatch_uid="liftsafe.core.input")


class InputMiddleware:
    """Refuse bad input once for every page and endpoint (see the module docstring); answer /api/ in JSON.

    Place it first in ``MIDDLEWARE``: it sees every request before anything reads it and every
    response after Django turned an exception into one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith(API_PREFIX)
        try:
            check_request(request)
        except BadInput as exc:
            if api:
                status, body = error_response(exc)
                return JsonResponse(body, status=status)
            raise  # Django answers 400 (SuspiciousOperation) and logs it under django.security
        except SuspiciousOperation as exc:  # too large, too many fields: Django's own limits
            if api:
                status = 413 if isinstance(exc, RequestDataTooBig) else 400
                return JsonResponse({"detail": str(exc) or "Bad request"}, status=status)
            raise
        response = self.get_response(request)
        if api and response.status_code >= 500 and "json" not in response.get("Content-Type", ""):
            exc = getattr(request, "_liftsafe_exception", None)
            mapped = error_response(exc) if exc is not None else None
            status, body = mapped if mapped else (response.status_code, {"detail": "Internal server error"})
            return JsonResponse(body, status=status)
        return response

    def process_exception(self, request, exception):
        """A page whose database refuses a value (the backstop) answers 400, not 500; a bug stays a 500."""
        if not from_database(exception):
            return None
        if request.path.startswith(API_PREFIX):
            status, body = error_response(exception)
            return JsonResponse(body, status=status)
        from django.views.defaults import bad_request

        return bad_request(request, exception)
