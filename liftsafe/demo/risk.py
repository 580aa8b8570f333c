"""Demo: risk colours for the whole demo fleet (NYC registry, MTA units, Ontario leads), computed by the same
full recompute as the nightly job (:func:`liftsafe.risk.compute.recompute`). Idempotent: a second run writes
no history for lifts whose facts did not change. No generated data of its own: every factor reads the demo's
data as it is (docs/risk.md "What the demo data supports")."""
from __future__ import annotations

from collections.abc import Callable

from liftsafe.risk.compute import recompute


def compute_risk(log: Callable[[str], None] = lambda m: None, *, again: bool = False) -> dict[str, int]:
    """Recompute every lift's risk once (a restarted demo keeps the scores it has: the worker's nightly recompute
    and the incremental flows keep them current; ``again=True`` forces it); returns ``{"lifts", "changed",
    <colour>: n}`` and logs the spread."""
    from django.db.models import Count

    from liftsafe.risk.models import RiskScore

    from liftsafe.registry.models import Elevator

    # kept only when every lift has a score (the incremental flows score single lifts, e.g. the generated
    # entrapments' lifts, before this step runs the first time)
    if not again and RiskScore.objects.count() >= Elevator.objects.count():
        counts = dict(RiskScore.objects.values_list("colour").annotate(n=Count("pk")))
        counts.update(lifts=sum(counts.values()), changed=0)
        spread = ", ".join(f"{c} {counts.get(c, 0)}" for c in ("red", "orange", "yellow", "blue"))
        log(f"risk colours already computed for {counts['lifts']} lifts: {spread} (kept current by the worker)")
        return counts
    counts = recompute(None, trigger="demo")
    spread = ", ".join(f"{c} {counts.get(c, 0)}" for c in ("red", "orange", "yellow", "blue"))
    log(f"risk colours of {counts['lifts']} lifts: {spread} ({counts['changed']} changed)")
    return counts
