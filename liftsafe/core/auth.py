"""API authentication: a bearer token or the browser session (CSRF-checked).

Order matters: the token is tried first, so a script sending
``Authorization: Bearer ls_…`` never hits the session's CSRF check; a browser
(session cookie, logged in) must send the CSRF token on unsafe methods.
Anyone else gets 401.

Token management (issue / list / revoke one's own tokens) lives here too:
only a SHA-256 digest is stored; the plaintext is shown once. Managing tokens needs
a logged-in session (:data:`session_only`) or the operator's ``token`` command: a
token can never mint, list or revoke tokens, so revoking a leaked token ends
everything it could do. Expired tokens are refused (401) like revoked ones.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer

from liftsafe.rules import rule

from .models import ApiToken

_LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer ls_…`` → the token's user (revoked tokens and inactive users refused)."""

    def authenticate(self, request, token: str):
        now = timezone.now()
        rec = (ApiToken.objects.select_related("user")
               .filter(digest=ApiToken.hash(token), revoked=False, expires_at__gt=now).first())
        if rec is None or not rec.user.is_active:
            return None
        if rec.last_used_at is None or now - rec.last_used_at > _LAST_USED_RESOLUTION:
            # at most one write a minute per token: an alarm storm must not queue on this row
            ApiToken.objects.filter(pk=rec.pk).update(last_used_at=now)
        request.user = rec.user  # selectors, services and audit history read request.user
        request.api_token = rec
        return rec.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session; CSRF is checked (unsafe methods) only when there is a logged-in session."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        if not getattr(request, "user", None) or not request.user.is_authenticated:
            return None  # nothing to protect: no session, so no CSRF check
        return super()._get_key(request)

    def authenticate(self, request, key):
        if request.user.is_authenticated and request.user.is_active:
            return request.user
        return None


api_auth = [TokenAuth(), SessionAuth()]
#: token management routes: a browser session only (a bearer token gets 401)
session_only = [SessionAuth()]

TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


def _expiry_days(expires_days) -> int:
    max_days = int(rule("api_token_max_days"))
    if expires_days in (None, ""):
        return int(rule("api_token_default_days"))
    try:
        days = int(expires_days)
    except (TypeError, ValueError):
        raise ValidationError({"expires_days": _("enter a whole number of days")}) from None
    if not 1 <= days <= max_days:
        raise ValidationError({"expires_days": _("between 1 and %(max)d days") % {"max": max_days}})
    return days


@transaction.atomic
def token_issue(user, name: str, expires_days: int | str | None = None) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user`` (any logged-in user, for their own scope), valid ``expires_days``
    days (default ``rules.api_token_default_days``, at most ``rules.api_token_max_days``).

    Returns ``(record, plaintext)``; the plaintext is not stored and cannot be shown again.

    Raises:
        ValidationError: ``name`` empty or longer than 100 characters; ``expires_days`` not a whole
            number in 1 … max; ``user`` inactive.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("give the token a name (e.g. the script or device using it)")})
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError({"name": _("at most %(n)d characters") % {"n": TOKEN_NAME_MAX}})
    days = _expiry_days(expires_days)
    if not user.is_active:
        raise ValidationError({"user": _("This user account is inactive.")})
    return ApiToken.issue(user, name, expires_days=days)


def tokens_of(user):
    """``user``'s own tokens, newest first (revoked ones included, flagged)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def token_revoke(user, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (idempotent).

    Raises:
        Http404: no such token of this user (another user's token is "missing" too).
    """
    rec = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if rec is None:
        raise Http404("token not found")
    return _revoke(rec)


def _revoke(rec: ApiToken) -> ApiToken:
    if not rec.revoked:
        rec.revoked = True
        rec.revoked_at = timezone.now()
        rec.save(update_fields=["revoked", "revoked_at"])
    return rec


@transaction.atomic
def token_revoke_by_operator(token_id: int) -> ApiToken:
    """Revoke any token (operators, through the ``token revoke`` command; idempotent).

    Raises:
        ApiToken.DoesNotExist: no token with this id.
    """
    return _revoke(ApiToken.objects.select_for_update().get(pk=token_id))
