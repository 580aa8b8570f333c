"""The claim workflow, declared once (:class:`liftsafe.core.workflow.Workflow`; docs/domain §15.7).

suggested (by the platform, from a 96333 entrapment) → filed (the insurer files it, stating the people and the
amount) → paid or refused (the insurer decides). A suggestion the insurer will not take up is refused straight
away, with its reason. The transition names are the page's (``/insurance/claims/<pk>/do/<name>/``) and the API's
(``POST /api/insurance/claims/{id}/{name}``) action names.
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import ClaimState as S

CLAIM_FLOW = Workflow("claim", S, [
    Transition("file", {S.SUGGESTED}, S.FILED, "claim.file", _("file")),
    Transition("pay", {S.FILED}, S.PAID, "claim.decide", _("pay")),
    Transition("refuse", {S.SUGGESTED, S.FILED}, S.REFUSED, "claim.decide", _("refuse")),
], refusal=_("Cannot %(action)s a claim that is %(state)s."))
