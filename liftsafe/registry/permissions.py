"""Registry's part of the permission table (:mod:`liftsafe.core.permissions`): the scope of its models.

Imported once at start-up by ``CoreConfig.ready`` (``autodiscover_modules("permissions")``)."""
from liftsafe.core.permissions import register_scope
from liftsafe.core.scoping import scope_of


def _elevator_in_scope(user, elevator) -> bool:
    from .models import Elevator
    from .selectors import scope_elevators

    return scope_elevators(scope_of(user), Elevator.objects.filter(pk=elevator.pk)).exists()


def _organisation_in_scope(user, org) -> bool:
    from .selectors import organisations_for

    return organisations_for(user).filter(pk=org.pk).exists()


def _via_elevator(user, obj) -> bool:
    from .models import Elevator

    return _elevator_in_scope(user, Elevator(pk=obj.elevator_id))


def _area_in_scope(user, area) -> bool:
    from .selectors import areas_for

    return areas_for(user).filter(pk=area.pk).exists()


register_scope("registry.Elevator", _elevator_in_scope)
register_scope("registry.MaintenanceContract", _via_elevator)
register_scope("registry.LifecycleEvent", _via_elevator)
register_scope("core.Area", _area_in_scope)  # the registry owns the area selector (areas_for)
register_scope("registry.Organisation", _organisation_in_scope)
