"""API authentication: a bearer token or the browser session (CSRF-checked).

Order matters: the token is tried first, so a script sending
``Authorization: Bearer ls_…`` never hits the session's CSRF check; a browser
(session cookie, logged in) must send the CSRF token on unsafe methods.
Anyone else gets 401.

Token management (issue / list / revoke one's own tokens) lives here too:
only a SHA-256 digest is stored; the plaintext is shown once.
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

from .models import ApiToken

_LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer ls_…`` → the token's user (revoked tokens and inactive users refused)."""

    def authenticate(self, request, token: str):
        rec = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(token), revoked=False).first()
        if rec is None or not rec.user.is_active:
            return None
        now = timezone.now()
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

TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length


@transaction.atomic
def token_issue(user, name: str) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user`` (any logged-in user, for their own scope).

    Returns ``(record, plaintext)``; the plaintext is not stored and cannot be shown again.

    Raises:
        ValidationError: ``name`` empty or longer than 100 characters.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("give the token a name (e.g. the script or device using it)")})
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError({"name": _("at most %(n)d characters") % {"n": TOKEN_NAME_MAX}})
    return ApiToken.issue(user, name)


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
    if not rec.revoked:
        rec.revoked = True
        rec.save(update_fields=["revoked"])
    return rec
