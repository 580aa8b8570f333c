"""The rating workflow, declared once (:class:`liftsafe.core.workflow.Workflow`; docs/domain §15.4 due process).

draft → published (publish, a regulator); published → objected (object, the rated unit, within the window);
objected → decided (decide, a regulator who did not score it, with reasons; the grade upheld or revised);
published / decided: reply (the unit's right to reply, state unchanged). Every change is a new history version.
The names are the page's (``/rating/<pk>/do/<name>/``) and the API's (``POST /api/rating/ratings/{id}/<name>``).
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import RatingState as S

RATING_FLOW = Workflow("rating", S, [
    Transition("publish", {S.DRAFT}, S.PUBLISHED, "rating.publish", _("publish")),
    Transition("object", {S.PUBLISHED}, S.OBJECTED, "rating.object", _("object to")),
    Transition("decide", {S.OBJECTED}, S.DECIDED, "rating.review", _("decide the objection to")),
    Transition("reply", {S.PUBLISHED, S.DECIDED}, None, "rating.reply", _("reply to")),
], refusal=_("Cannot %(action)s a rating that is %(state)s."))
