"""Emergency's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of a case and the
responder's condition (the case is dispatched to the caller's organisation). Imported at start-up by ``CoreConfig.ready``."""
from liftsafe.core.permissions import register_condition, register_scope, role_allowed
from liftsafe.core.scoping import scope_of


def _case_in_scope(user, case) -> bool:
    from .models import EmergencyCase
    from .selectors import scope_cases

    return scope_cases(scope_of(user), EmergencyCase.objects.filter(pk=case.pk)).exists()


def dispatched_to_caller(user, case) -> bool:
    """Operators/admins: any case in scope; a responder: a case ever dispatched to its organisation."""
    if not role_allowed(user, "emergency.responder"):  # operators and admins: the scope is enough
        return True
    from .models import Milestone

    org = scope_of(user).organisation_id
    return Milestone.objects.filter(case_id=case.pk, kind=Milestone.Kind.DISPATCHED, responder_id=org).exists()


register_scope("emergency.EmergencyCase", _case_in_scope)
register_condition("case.progress", dispatched_to_caller)
register_condition("case.report_cause", dispatched_to_caller)
