"""Scope checks of the disclosure models (registered at start-up; :mod:`liftsafe.core.permissions`)."""
from liftsafe.core.permissions import register_scope

from . import selectors


def _report_in_scope(user, obj) -> bool:
    return selectors.reports_for(user).filter(pk=obj.pk).exists()


def _code_in_scope(user, obj) -> bool:
    from liftsafe.registry.selectors import elevators_for

    return elevators_for(user).filter(pk=obj.elevator_id).exists()


def _setting_in_scope(user, obj) -> bool:
    return selectors.publication_areas(user).filter(pk=obj.area_id).exists()


register_scope("disclosure.PublicReport", _report_in_scope)
register_scope("disclosure.PublicCode", _code_in_scope)
register_scope("disclosure.PublicationSetting", _setting_in_scope)
