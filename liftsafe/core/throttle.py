"""Login throttling (issue 18 item 8) on the site login and the admin login, with django-axes.

Failed sign-ins are counted per account (the submitted username) and per address (the client IP)
separately (``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]``): after
``rules.login_failure_limit`` failures either one is locked for ``rules.login_lockout_s`` seconds;
during the lockout even the correct password is refused. The refusal is HTTP 429 with the login page
and a translated message (:func:`lockout_response`). Audit: every failure is an ``axes``
``AccessAttempt`` / ``AccessFailureLog`` row (admin → Axes), every successful sign-in an
``AccessLog`` row, and a lockout is logged on ``liftsafe.security``. A successful sign-in resets the
counters. Operators unlock with ``liftsafe axes_reset`` (or ``axes_reset_username USER``).

Calls to ``authenticate()`` without a request (the test client's ``login()``, the shell) have no
address to count and are not throttled; every web sign-in passes its request.
"""
from __future__ import annotations

import datetime as dt
import logging
import math

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.forms import AuthenticationForm
from django.dispatch import receiver
from django.shortcuts import render
from django.utils.translation import gettext as _

from liftsafe.rules import rule

log = logging.getLogger("liftsafe.security")


def failure_limit(request, credentials) -> int:
    """``AXES_FAILURE_LIMIT``: failures allowed before a lockout (``rules.login_failure_limit``)."""
    return int(rule("login_failure_limit"))


def cool_off(request=None) -> dt.timedelta:
    """``AXES_COOLOFF_TIME``: how long a lockout lasts (``rules.login_lockout_s``)."""
    return dt.timedelta(seconds=int(rule("login_lockout_s")))


def lockout_message() -> str:
    minutes = max(1, math.ceil(cool_off().total_seconds() / 60))
    return _("Too many failed sign-in attempts for this account or from this address. Sign-in is blocked for "
             "%(minutes)d minutes; try again later or ask a platform administrator to unlock it.") % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the login page with :func:`lockout_message`, HTTP 429 (site and admin login)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    return render(request, "core/login.html", {"form": form, "locked_message": lockout_message(),
                                               "next": request.POST.get("next", "")}, status=429)


def client_ip(request) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the client's address. Behind ``settings.LIFTSAFE_PROXY_COUNT`` trusted reverse
    proxies (environment ``LIFTSAFE_PROXY_COUNT``; 1 behind the nginx of docs/deploy.md) it is the n-th address from
    the right of ``X-Forwarded-For`` (entries a client adds itself are further left, so it cannot choose its
    address); without proxies, ``REMOTE_ADDR``. Otherwise every sign-in would come from the proxy's address and
    one person's typos would lock everybody out."""
    from django.conf import settings

    n = int(getattr(settings, "LIFTSAFE_PROXY_COUNT", 0) or 0)
    if n > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= n:
            return hops[-n][:64]
    return request.META.get("REMOTE_ADDR")


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' checking backend (first in ``AUTHENTICATION_BACKENDS``); without a request there is no
    address to throttle, so it steps aside (see the module doc)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


try:
    from axes.signals import user_locked_out

    @receiver(user_locked_out)
    def _log_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
        log.warning("login locked out: username=%r address=%s path=%s", username, ip_address,
                    getattr(request, "path", "?"))
except ImportError:  # pragma: no cover - axes always provides the signal
    pass
