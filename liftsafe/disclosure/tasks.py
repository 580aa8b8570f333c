"""Periodic jobs of the disclosure app (run by ``liftsafe worker``)."""
from liftsafe.core.tasks import periodic

from . import services


@periodic(seconds=600)
def issue_public_codes() -> int:
    """Give every lift without a public code one (new lifts from the registry and the importer). Idempotent."""
    return services.ensure_codes()
