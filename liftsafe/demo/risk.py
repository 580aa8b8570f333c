"""Demo: risk colours for the whole demo fleet (NYC registry, MTA units, Ontario leads), computed by the same
full recompute as the nightly job (:func:`liftsafe.risk.compute.recompute`). Idempotent: a second run writes
no history for lifts whose facts did not change. No generated data of its own: every factor reads the demo's
data as it is (docs/risk.md "What the demo data supports")."""
from __future__ import annotations

from collections.abc import Callable

from liftsafe.risk.compute import recompute


def compute_risk(log: Callable[[str], None] = lambda m: None) -> dict[str, int]:
    """Recompute every lift's risk; returns ``{"lifts", "changed", <colour>: n}`` and logs the spread."""
    counts = recompute(None, trigger="demo")
    spread = ", ".join(f"{c} {counts.get(c, 0)}" for c in ("red", "orange", "yellow", "blue"))
    log(f"risk colours of {counts['lifts']} lifts: {spread} ({counts['changed']} changed)")
    return counts
