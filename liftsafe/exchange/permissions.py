"""Exchange's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of destinations and
import schedules (data officers; regulators read destinations of their area)."""
from django.core.exceptions import PermissionDenied

from liftsafe.core.permissions import register_scope


def _destination_in_scope(user, destination) -> bool:
    from .selectors import destinations_for

    try:
        return destinations_for(user).filter(pk=destination.pk).exists()
    except PermissionDenied:
        return False


def _schedule_in_scope(user, schedule) -> bool:
    from .selectors import schedules_for

    try:
        return schedules_for(user).filter(pk=schedule.pk).exists()
    except PermissionDenied:
        return False


register_scope("exchange.Destination", _destination_in_scope)
register_scope("exchange.ImportSchedule", _schedule_in_scope)
