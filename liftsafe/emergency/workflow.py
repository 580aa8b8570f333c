"""The 96333 case workflow, declared once (:class:`liftsafe.core.workflow.Workflow`; docs/domain §3.3 steps 3-6).

Which progress milestone may follow which state. The transition names are the milestone kinds, the same
names the console / responder pages post (``kind=``) and the API takes (``POST /api/emergency/cases/{pk}/milestones``,
``{"kind": ...}``); :func:`liftsafe.emergency.services.record_milestone` checks them here, and the pages render a
button only for :meth:`~liftsafe.core.workflow.Workflow.available` transitions (state AND permission).

A case's state is derived from its milestones (:func:`liftsafe.emergency.selectors.derive`), so ``target`` documents
the state a transition leads to. One rule widens the table case by case: a fault report or an enquiry (nobody
trapped) may be ``completed`` straight from ``received`` (closed on the phone) — :func:`completed_extra_sources`.
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import OPEN_STATES, CaseType, State

CASE_FLOW = Workflow("case", State, [
    Transition("dispatch", OPEN_STATES, State.DISPATCHED, "case.dispatch", _("dispatch")),
    Transition("responded", {State.DISPATCHED}, State.RESPONDED, "case.progress", _("record responded")),
    Transition("arrived", {State.DISPATCHED, State.RESPONDED}, State.ARRIVED, "case.progress", _("record arrived")),
    Transition("released", {State.ARRIVED}, State.RELEASED, "case.progress", _("record released")),
    Transition("completed", {State.DISPATCHED, State.RESPONDED, State.ARRIVED, State.RELEASED}, State.COMPLETED,
               "case.progress", _("record completed")),
    Transition("false_alarm", OPEN_STATES, State.FALSE_ALARM, "case.progress", _("record false alarm")),
    Transition("cancelled", {State.RECEIVED, State.DISPATCHED, State.RESPONDED}, State.CANCELLED, "case.cancel", _("cancel")),
])

#: the milestone kinds recorded through :func:`~liftsafe.emergency.services.record_milestone`
MILESTONE_TRANSITIONS = ("responded", "arrived", "released", "completed", "false_alarm", "cancelled")
#: the console's close buttons, in order
CLOSE_TRANSITIONS = ("completed", "false_alarm", "cancelled")


def completed_extra_sources(case) -> tuple[str, ...]:
    """States from which ``completed`` is also allowed for ``case``: ``received`` unless it is an entrapment."""
    return (State.RECEIVED.value,) if case.case_type != CaseType.ENTRAPMENT else ()


def sources(case, name: str) -> set[str]:
    """The states ``name`` may start from for this ``case`` (the table plus :func:`completed_extra_sources`)."""
    out = set(CASE_FLOW.get(name).sources)
    if name == "completed":
        out |= set(completed_extra_sources(case))
    return out


def available(user, case, names=MILESTONE_TRANSITIONS, state: str | None = None) -> list[str]:
    """The transitions of ``names`` that ``user`` may take on ``case`` now (state AND permission)."""
    from liftsafe.core.permissions import allowed

    st = str(case.state if state is None else state)
    return [n for n in names if st in sources(case, n) and allowed(user, CASE_FLOW.get(n).permission, case)]
