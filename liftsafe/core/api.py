"""Core API: who am I, my areas, my API tokens; and the error format every router shares.

Errors (all routers, installed by :func:`install_error_handlers`) are JSON:

- 401 ``{"detail": "Unauthorized"}``: no valid token or session;
- 403 ``{"detail": reason}``: logged in, may see the object, may not do this;
- 404 ``{"detail": "Not Found"}``: missing or outside the caller's scope (indistinguishable);
- 422 ``{"detail": "field: reason; …", "errors": {field: [reason, …]}}``: bad input,
  from schema validation or from a service's ``ValidationError``; nothing was written.
"""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Router, Schema

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5: a (status, value) tuple does the same
    def Status(code, value):  # noqa: N802
        return code, value
from ninja.errors import ValidationError as NinjaValidationError

from .auth import token_issue, token_revoke, tokens_of
from .logfilters import FORBIDDEN_REASON
from .models import Profile
from .scoping import scope_of

router = Router(tags=["core"])

# Locations pydantic/ninja prefix to a field's path; dropped so the field is named plainly.
_LOC_KINDS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_of(loc) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOC_KINDS:
        parts = parts[1:]
    # ninja nests a body schema under the parameter name ("payload", "filters"): drop it.
    if len(parts) > 1 and parts[0] in {"payload", "filters", "data"}:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def validation_errors(exc) -> dict[str, list[str]]:
    """``{field: [reason, …]}`` from a Django or a ninja ``ValidationError``."""
    if isinstance(exc, NinjaValidationError):
        out: dict[str, list[str]] = {}
        for err in exc.errors:
            out.setdefault(_field_of(err.get("loc", ())), []).append(str(err.get("msg", "invalid")))
        return out
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in DjangoValidationError(errs).messages] for field, errs in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _error_422(api, request, exc):
    errors = validation_errors(exc)
    detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


def install_error_handlers(api) -> None:
    """Make Django ``ValidationError`` and ``PermissionDenied`` (raised by services) and schema
    errors come back as the JSON documented above, not as HTML or a bare list."""
    api.add_exception_handler(DjangoValidationError, lambda request, exc: _error_422(api, request, exc))
    api.add_exception_handler(NinjaValidationError, lambda request, exc: _error_422(api, request, exc))
    api.add_exception_handler(PermissionDenied, lambda request, exc: _error_403(api, request, exc))


def _error_403(api, request, exc):
    detail = str(exc) or "Forbidden"
    # django.request logs the 403 as one line with this reason (liftsafe.core.logfilters), no traceback
    setattr(request, FORBIDDEN_REASON, detail)
    return api.create_response(request, {"detail": detail}, status=403)


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


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


class TokenOut(Schema):
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool


class TokenIssuedOut(TokenOut):
    token: str


@router.get("/tokens", response=list[TokenOut], summary="My API tokens", operation_id="core_token_list")
def token_list(request):
    return list(tokens_of(request.user))


@router.post("/tokens", response={201: TokenIssuedOut, 422: ErrorOut},
             summary="Issue an API token for myself (the token is shown once)", operation_id="core_token_issue")
def token_create(request, payload: TokenIn):
    rec, plaintext = token_issue(request.user, payload.name)
    return Status(201, TokenIssuedOut(id=rec.pk, name=rec.name, created_at=rec.created_at, last_used_at=rec.last_used_at,
                                     revoked=rec.revoked, token=plaintext))


@router.delete("/tokens/{token_id}", response={204: None, 404: ErrorOut}, summary="Revoke one of my API tokens",
               operation_id="core_token_revoke")
def token_delete(request, token_id: int):
    token_revoke(request.user, token_id)
    return Status(204, None)
