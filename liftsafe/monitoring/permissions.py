"""Monitoring's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of an alarm and of a
device (their elevator's scope). Imported at start-up by ``CoreConfig.ready``."""
from liftsafe.core.permissions import register_scope
from liftsafe.core.scoping import scope_of


def _via_elevator(user, obj) -> bool:
    from liftsafe.registry.models import Elevator
    from liftsafe.registry.selectors import scope_elevators

    return obj.elevator_id is not None and scope_elevators(scope_of(user), Elevator.objects.filter(pk=obj.elevator_id)).exists()


register_scope("monitoring.Alarm", _via_elevator)
register_scope("monitoring.MonitoringDevice", _via_elevator)
