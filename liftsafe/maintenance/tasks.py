"""Periodic maintenance jobs (idempotent)."""
from liftsafe.core.tasks import periodic
from liftsafe.registry.models import Organisation

from .services import visit_plan


@periodic(seconds=6 * 3600, name="maintenance.plan")
def plan_all(today=None) -> dict:
    """Run :func:`services.visit_plan` for every maintenance unit; ``{"created", "existing", "calendar_unknown_years"}``."""
    out = {"created": 0, "existing": 0, "calendar_unknown_years": set()}
    for unit in Organisation.objects.filter(kind=Organisation.Kind.MAINTENANCE_UNIT).iterator():
        r = visit_plan(unit, today=today)
        out["created"] += r.created
        out["existing"] += r.existing
        out["calendar_unknown_years"] |= r.calendar_unknown_years
    return out
