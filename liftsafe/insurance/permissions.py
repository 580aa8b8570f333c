"""Insurance's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of a policy and of a
claim (through :mod:`.selectors`), and the object condition of the insurer's claim actions (the claim's policy
was issued by the caller's organisation). Imported at start-up by ``CoreConfig.ready``."""
from liftsafe.core.permissions import register_condition, register_scope
from liftsafe.core.scoping import scope_of


def _policy_in_scope(user, obj) -> bool:
    from .selectors import policies_for

    return policies_for(user).filter(pk=obj.pk).exists()


def _claim_in_scope(user, obj) -> bool:
    from .selectors import claims_for

    return claims_for(user).filter(pk=obj.pk).exists()


def _own_insurer(user, obj) -> bool:
    scope = scope_of(user)
    return scope.is_admin or (scope.organisation_id is not None and obj.policy.insurer_id == scope.organisation_id)


register_scope("insurance.Policy", _policy_in_scope)
register_scope("insurance.Claim", _claim_in_scope)
register_condition("claim.file", _own_insurer)
register_condition("claim.decide", _own_insurer)
