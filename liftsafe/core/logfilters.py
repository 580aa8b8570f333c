"""Logging filters installed by ``settings.LOGGING``.

:class:`ForbiddenOneLine` on the ``django.request`` logger: a 403 caused by ``PermissionDenied`` (a
service or selector refusing a user something, e.g. a maintenance-unit user acting on another unit's
elevator) is an expected outcome, not a fault. Django logs it at WARNING *with the exception's
traceback* (``django.utils.log.log_response(..., exception=exc)``); the filter keeps the WARNING but
turns it into one line — ``Forbidden: user=<username> path=<path> reason=<message>`` — without the
traceback. The JSON API's ``PermissionDenied`` handler (:func:`liftsafe.core.api.install_error_handlers`)
leaves the reason on the request (``FORBIDDEN_REASON`` attribute), so API refusals get the same line.
Other records (404, 5xx with their traceback, CSRF failures) pass unchanged.
"""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied

#: attribute of the ``HttpRequest`` where the API's 403 handler leaves the refusal's reason
FORBIDDEN_REASON = "_liftsafe_forbidden_reason"


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _username(request) -> str:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return user.get_username()


class ForbiddenOneLine(logging.Filter):
    """Rewrite ``django.request`` 403 records of a ``PermissionDenied`` to one line, traceback dropped.

    Never drops a record (always returns True). Recognises the refusal by the record's exception
    (``PermissionDenied``, pages) or by the request's :data:`FORBIDDEN_REASON` (API).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403:
            return True
        request = getattr(record, "request", None)
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PermissionDenied):
            reason = str(exc) or "Forbidden"
        elif exc is None and request is not None and hasattr(request, FORBIDDEN_REASON):
            reason = getattr(request, FORBIDDEN_REASON)
        else:
            return True
        record.msg = "Forbidden: user=%s path=%s reason=%s"
        record.args = (_username(request) if request is not None else "?",
                       _one_line(getattr(request, "path", "?")), _one_line(reason))
        record.exc_info = None
        record.exc_text = None
        return True
