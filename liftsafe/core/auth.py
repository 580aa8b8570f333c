"""API authentication: the browser session (CSRF-checked) or a bearer token."""
from __future__ import annotations

from django.utils import timezone
from ninja.security import HttpBearer, django_auth

from .models import ApiToken


class TokenAuth(HttpBearer):
    """``Authorization: Bearer ls_…`` → the token's user (revoked tokens refused)."""

    def authenticate(self, request, token: str):
        rec = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(token), revoked=False).first()
        if rec is None or not rec.user.is_active:
            return None
        ApiToken.objects.filter(pk=rec.pk).update(last_used_at=timezone.now())
        request.user = rec.user
        return rec.user


api_auth = [django_auth, TokenAuth()]
