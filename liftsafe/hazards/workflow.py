"""The hazard workflow, declared once (:class:`liftsafe.core.workflow.Workflow`; docs/domain §7).

lead → open (accept) or dismissed (dismiss); open → rectifying (start) → submitted (submit) → closed (close,
verified by the regulator) or back to rectifying (send-back); closed → open (reopen, a recurrence found on
a look-back re-check). ``list``, ``stop-use`` and ``edit`` act on an open hazard without changing its state.

The transition names are the action names of the page (``/hazards/<pk>/action/<name>/``) and of the API
(``POST /api/hazards/hazards/{id}/{name}``); services check them here; the detail page renders a form only for
:meth:`~liftsafe.core.workflow.Workflow.available` transitions (state AND permission).
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import OPEN_STATES, State

HAZARD_FLOW = Workflow("hazard", State, [
    Transition("accept", {State.LEAD}, State.OPEN, "hazard.accept", _("accept")),
    Transition("dismiss", {State.LEAD}, State.DISMISSED, "hazard.dismiss", _("dismiss")),
    Transition("list", OPEN_STATES, None, "hazard.list", _("list")),
    Transition("stop-use", OPEN_STATES, None, "hazard.stop_use", _("order stop-use for")),
    Transition("edit", {State.LEAD, *OPEN_STATES}, None, "hazard.edit", _("edit")),
    Transition("start", {State.OPEN}, State.RECTIFYING, "hazard.start", _("start rectifying")),
    Transition("submit", {State.OPEN, State.RECTIFYING}, State.SUBMITTED, "hazard.submit", _("submit")),
    Transition("send-back", {State.SUBMITTED}, State.RECTIFYING, "hazard.send_back", _("send back")),
    Transition("close", {State.SUBMITTED}, State.CLOSED, "hazard.close", _("close out")),
    Transition("reopen", {State.CLOSED}, State.OPEN, "hazard.recheck", _("reopen")),
], refusal=_("Cannot %(action)s a hazard that is %(state)s."))

#: evidence upload by the responsible unit (a regulator's verification record may be added in any state)
EVIDENCE_STATES = frozenset({State.OPEN.value, State.RECTIFYING.value})
