"""Hazards' part of the permission table (:mod:`liftsafe.core.permissions`): the scope of a hazard and the
object conditions of the responsible unit's actions. Imported at start-up by ``CoreConfig.ready``."""
from liftsafe.core.models import Role
from liftsafe.core.permissions import register_condition, register_scope
from liftsafe.core.scoping import scope_of


def _hazard_in_scope(user, hazard) -> bool:
    from .selectors import hazards_for

    return hazards_for(user).filter(pk=hazard.pk).exists()


def _campaign_in_scope(user, campaign) -> bool:
    from .selectors import campaigns_for

    return campaigns_for(user).filter(pk=campaign.pk).exists()


def is_responsible_unit(user, hazard) -> bool:
    """The caller is the hazard's responsible unit (a use / maintenance unit user of that organisation) or an admin."""
    scope = scope_of(user)
    return scope.is_admin or (scope.role in (Role.USE_UNIT, Role.MAINTENANCE_UNIT)
                              and scope.organisation_id is not None and scope.organisation_id == hazard.responsible_unit_id)


def _not_own_hazard(user, hazard) -> bool:
    """Close-out: never by the responsible unit itself (a regulator verifies)."""
    scope = scope_of(user)
    return scope.is_admin or not (scope.organisation_id and hazard.responsible_unit_id == scope.organisation_id)


def _evidence(user, hazard) -> bool:
    return scope_of(user).role == Role.REGULATOR or is_responsible_unit(user, hazard)


def _via_hazard(user, obj) -> bool:
    from .models import Hazard

    return _hazard_in_scope(user, Hazard(pk=obj.hazard_id))


register_scope("hazards.Hazard", _hazard_in_scope)
register_scope("hazards.StopUseOrder", _via_hazard)
register_scope("hazards.Evidence", _via_hazard)
register_scope("hazards.Recheck", _via_hazard)
register_scope("hazards.Campaign", _campaign_in_scope)
register_condition("hazard.start", is_responsible_unit)
register_condition("hazard.submit", is_responsible_unit)
register_condition("hazard.add_evidence", _evidence)
register_condition("hazard.close", _not_own_hazard)
