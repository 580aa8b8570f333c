"""Periodic insurance jobs (idempotent)."""
from liftsafe.core.tasks import periodic

from .services import claims_suggest


@periodic(seconds=600, name="insurance.suggest_claims")
def suggest_claims() -> dict:
    """Suggest trapped-passenger claims for long entrapments released recently (:func:`services.claims_suggest`)."""
    return claims_suggest().__dict__
