"""Emergency periodic jobs: escalation of late cases (every 15 s) and the demo's live stream."""
from __future__ import annotations

from liftsafe.core.tasks import periodic


@periodic(seconds=15, name="emergency.escalate_late_cases")
def escalate_late_cases() -> int:
    """Escalate late entrapment cases (idempotent; see :func:`liftsafe.emergency.services.escalate_late_cases`)."""
    from .services import escalate_late_cases as run

    return run()


@periodic(seconds=4, name="emergency.demo_stream", demo_only=True)
def demo_stream() -> dict:
    """Demo only: open a simulated case every few seconds and move open simulated cases along
    (see :mod:`liftsafe.emergency.simulate`)."""
    from .simulate import step

    return step()
