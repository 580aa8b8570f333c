"""Who may do what in the inspection app: one table, :data:`ACTIONS`, and :func:`require`.

(Kept in one dict so the project's permission table can fold it in: action → roles.)
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from liftsafe.core.errors import PermissionDenied
from liftsafe.core.models import Role
from liftsafe.core.scoping import scope_of

#: action → roles allowed (administrators may do everything)
ACTIONS: dict[str, frozenset[str]] = {
    "view": frozenset({Role.REGULATOR, Role.OPERATOR, Role.MAINTENANCE_UNIT, Role.USE_UNIT, Role.INSPECTION_AGENCY}),
    "record": frozenset({Role.INSPECTION_AGENCY}),            # record an inspection / re-inspection
    "record_self_test": frozenset({Role.INSPECTION_AGENCY}),  # a testing body (T7008-2023) records a self-test
    "rectify": frozenset({Role.USE_UNIT, Role.MAINTENANCE_UNIT}),  # record a finding's rectification with evidence
    "confirm": frozenset({Role.USE_UNIT}),  # confirm a minor finding without re-inspection (docs/domain §6)
    "recompute": frozenset({Role.REGULATOR}),
    "whatif": frozenset({Role.REGULATOR}),  # evaluate a classified-cycle policy over the fleet
    "import": frozenset({Role.REGULATOR}),
}


def allowed(user, action: str) -> bool:
    """Whether ``user`` may do ``action`` (KeyError for an unknown action: a typo must not allow anything)."""
    roles = ACTIONS[action]
    scope = scope_of(user)
    return scope.is_admin or scope.role in roles


def require(user, action: str) -> None:
    """Raise :class:`~liftsafe.core.errors.PermissionDenied` unless ``user`` may do ``action``."""
    if not allowed(user, action):
        raise PermissionDenied(_("Your role may not do this: %(action)s.") % {"action": action.replace("_", " ")})
