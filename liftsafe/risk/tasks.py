"""Risk's scheduled jobs (idempotent; see :mod:`liftsafe.core.tasks`)."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from liftsafe.core.tasks import periodic

from .models import RiskScore


@periodic(seconds=60, name="risk.apply_key_periods")
def apply_key_periods() -> dict:
    """Start and end due key-period uplifts (each recorded in the lifts' colour history)."""
    from .services import apply_key_periods as run

    return run()


@periodic(seconds=3600, name="risk.nightly_recompute")
def nightly_recompute() -> dict | None:
    """Full recompute once per local night: runs when the oldest score is from before today's 02:00 local
    (so an hourly check recomputes once a day, and a restart does not repeat it)."""
    from .services import recompute_all

    now = timezone.now()
    local = timezone.localtime(now)
    if local.hour < 2:
        return None
    cutoff = local.replace(hour=2, minute=0, second=0, microsecond=0)
    oldest = RiskScore.objects.order_by("computed_at").values_list("computed_at", flat=True).first()
    if oldest is not None and oldest >= cutoff - dt.timedelta(seconds=0):
        return None
    return recompute_all(None, now=now)
