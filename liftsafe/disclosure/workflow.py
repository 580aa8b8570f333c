"""The public-report workflow, declared once (:class:`liftsafe.core.workflow.Workflow`; docs/domain §15.6).

new → acknowledged → in_progress → closed (the responsible units, with a status note and an expected date);
closed → reopened by the reporter within ``disclosure_reopen_window_days`` (regulator notified); any open state →
merged (duplicate) / rejected (moderation) / forwarded (a 96333 case or a hazard lead) by the regulator.
The transition names are the action names of the page (``/disclosure/reports/<pk>/action/<name>/``) and the API.
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import OPEN_STATES, ReportState as S

REPORT_FLOW = Workflow("public_report", S, [
    Transition("acknowledge", {S.NEW, S.REOPENED}, S.ACKNOWLEDGED, "publicreport.answer", _("acknowledge")),
    Transition("progress", {S.NEW, S.ACKNOWLEDGED, S.REOPENED}, S.IN_PROGRESS, "publicreport.answer", _("start work on")),
    Transition("note", OPEN_STATES, None, "publicreport.answer", _("add a status note to")),
    Transition("close", OPEN_STATES, S.CLOSED, "publicreport.answer", _("close")),
    Transition("reopen", {S.CLOSED}, S.REOPENED, "publicreport.reopen", _("reopen")),
    Transition("merge", OPEN_STATES, S.MERGED, "publicreport.moderate", _("merge")),
    Transition("reject", OPEN_STATES, S.REJECTED, "publicreport.moderate", _("reject")),
    Transition("to_hazard", OPEN_STATES, S.FORWARDED, "publicreport.convert", _("turn into a hazard lead")),
    Transition("to_case", OPEN_STATES, S.FORWARDED, "publicreport.convert", _("turn into a 96333 case")),
], refusal=_("Cannot %(action)s a report that is %(state)s."))

#: transitions the staff page offers as forms (``reopen`` belongs to the reporter's ticket page)
STAFF_ACTIONS = ("acknowledge", "progress", "note", "close", "merge", "reject", "to_hazard", "to_case")
