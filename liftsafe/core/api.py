"""Core API: who am I, and what scope do I have."""
from __future__ import annotations

from ninja import Router, Schema

from .scoping import scope_of

router = Router(tags=["core"])


class MeOut(Schema):
    username: str
    role: str | None
    is_admin: bool
    area_path: str | None
    organisation_id: int | None


@router.get("/me", response=MeOut, summary="The caller and their scope")
def me(request):
    scope = scope_of(request.user)
    return MeOut(username=request.user.get_username(), role=scope.role, is_admin=scope.is_admin,
                 area_path=scope.area_path, organisation_id=scope.organisation_id)
