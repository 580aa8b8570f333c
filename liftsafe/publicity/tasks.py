"""Periodic publicity job (idempotent): scheduled publication and unpublication."""
from liftsafe.core.tasks import periodic

from .services import publicity_tick


@periodic(seconds=300, name="publicity.tick")
def tick(now=None) -> dict:
    """Run :func:`services.publicity_tick`; ``{"published": n, "archived": n}``."""
    return publicity_tick(now)
