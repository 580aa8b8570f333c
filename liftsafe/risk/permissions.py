"""Risk's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of its records.
Imported at start-up by :class:`~liftsafe.risk.apps.RiskConfig`."""
from liftsafe.core.permissions import register_scope


def _score_in_scope(user, obj) -> bool:
    from .selectors import scores_for

    return scores_for(user).filter(pk=obj.pk).exists()


def _period_in_scope(user, obj) -> bool:
    from .selectors import key_periods_for

    return key_periods_for(user).filter(pk=obj.pk).exists()


def _task_in_scope(user, obj) -> bool:
    from .selectors import tasks_for

    return tasks_for(user).filter(pk=obj.pk).exists()


register_scope("risk.RiskScore", _score_in_scope)
register_scope("risk.KeyPeriod", _period_in_scope)
register_scope("risk.RiskTask", _task_in_scope)
