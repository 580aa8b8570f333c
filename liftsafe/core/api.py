"""Core API: who am I, my areas, my API tokens; and the error format every router shares.

Errors (all routers): one JSON shape ``{"detail": …, "errors": {field: [reason, …]} | null}``,
mapped by the one handler in :mod:`liftsafe.core.errors` (401/403/404/409/422/503, see there).
"""
from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5: a (status, value) tuple does the same
    def Status(code, value):  # noqa: N802
        return code, value

from .auth import session_only, token_issue, token_revoke, tokens_of
from .errors import ErrorOut, field_errors
from .errors import install as install_error_handlers  # noqa: F401 - the one handler, see liftsafe.core.errors
from .models import Profile
from .scoping import scope_of

router = Router(tags=["core"])

validation_errors = field_errors  # {field: [reason, …]} (kept name)


class MeOut(Schema):
    username: str
    role: str | None
    is_admin: bool
    area_path: str | None
    organisation_id: int | None
    organisation_name: str | None = None
    auth: str


@router.get("/me", response=MeOut, summary="The caller and their scope", operation_id="core_me")
def me(request):
    scope = scope_of(request.user)
    org = None
    if scope.organisation_id:  # the profile's organisation (core reads it through its own Profile model)
        org = Profile.objects.filter(user=request.user).values_list("organisation__name", flat=True).first()
    return MeOut(username=request.user.get_username(), role=scope.role, is_admin=scope.is_admin,
                 area_path=scope.area_path, organisation_id=scope.organisation_id, organisation_name=org,
                 auth="token" if getattr(request, "api_token", None) else "session")


class TokenIn(Schema):
    name: str
    expires_days: int | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool
    expired: bool


class TokenIssuedOut(TokenOut):
    token: str


# Token management needs a logged-in session: a bearer token gets 401 here, so a leaked token can
# never mint a successor that would survive its revocation.
@router.get("/tokens", response={200: list[TokenOut], 401: ErrorOut}, auth=session_only,
            summary="My API tokens (browser session only)", operation_id="core_token_list")
def token_list(request):
    return list(tokens_of(request.user))


@router.post("/tokens", response={201: TokenIssuedOut, 401: ErrorOut, 422: ErrorOut}, auth=session_only,
             summary="Issue an API token for myself (browser session only; the token is shown once)",
             operation_id="core_token_issue")
def token_create(request, payload: TokenIn):
    rec, plaintext = token_issue(request.user, payload.name, payload.expires_days)
    return Status(201, TokenIssuedOut(id=rec.pk, name=rec.name, prefix=rec.prefix, created_at=rec.created_at,
                                     expires_at=rec.expires_at, last_used_at=rec.last_used_at, revoked=rec.revoked,
                                     expired=rec.expired, token=plaintext))


@router.delete("/tokens/{token_id}", response={204: None, 401: ErrorOut, 404: ErrorOut}, auth=session_only,
               summary="Revoke one of my API tokens (browser session only)", operation_id="core_token_revoke")
def token_delete(request, token_id: int):
    token_revoke(request.user, token_id)
    return Status(204, None)
