"""Who may see what: the caller's scope, read once per request.

Every selector and service takes the user and narrows its query with the
scope defined here, so pages, API, exports and nested objects share one rule:

- superuser / platform administrator: everything;
- regulator, 96333 operator: their area and everything below it;
- maintenance unit: elevators it holds a current contract for;
- use unit: its own elevators;
- inspection agency / insurer: elevators it inspects / insures;
- rescue station: elevators in its area (it may be dispatched there);
- anyone else (anonymous, no profile): nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from .models import Role


@dataclass(frozen=True)
class Scope:
    """A user's scope. ``role`` is None for a user who may see nothing."""

    role: str | None
    is_admin: bool = False
    area_path: str | None = None
    organisation_id: int | None = None
    user_id: int | None = None

    @property
    def sees_nothing(self) -> bool:
        return not self.is_admin and self.role is None

    @property
    def sees_personal_data(self) -> bool:
        """Caller phone numbers and passenger details: operators and admins only (responders per case)."""
        return self.is_admin or self.role == Role.OPERATOR


NOTHING = Scope(role=None)


def scope_of(user) -> Scope:
    """Return the :class:`Scope` of ``user`` (anonymous or inactive users see nothing)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached = getattr(user, "_liftsafe_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(role=Role.ADMIN, is_admin=True, user_id=user.pk)
    else:
        from .models import Profile

        profile = Profile.objects.select_related("area", "organisation__area").filter(user=user).first()
        if profile is None:
            scope = NOTHING
        elif profile.role == Role.ADMIN:
            scope = Scope(role=Role.ADMIN, is_admin=True, user_id=user.pk)
        else:
            area = profile.area
            if area is None and profile.role == Role.RESCUE_STATION and profile.organisation:
                area = profile.organisation.area
            scope = Scope(
                role=profile.role,
                area_path=area.path if area else None,
                organisation_id=profile.organisation_id,
                user_id=user.pk,
            )
            if profile.role in (Role.REGULATOR, Role.OPERATOR, Role.RESCUE_STATION) and not scope.area_path:
                scope = NOTHING
    user._liftsafe_scope = scope
    return scope
