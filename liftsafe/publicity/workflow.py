"""The publicity workflow, declared once (:class:`liftsafe.core.workflow.Workflow`).

draft → scheduled (schedule: a future ``publish_at``) or published (publish: now); scheduled → published
(publish now, or the ``publicity_tick`` task when ``publish_at`` has come); scheduled/published → archived
(archive, or the task when ``unpublish_at`` has come); scheduled/archived → draft (redraft, to edit and
publish again). ``edit`` changes the content without changing the state.

The transition names are the action names of the page (``/publicity/<pk>/action/<name>/``) and of the API
(``POST /api/publicity/articles/{id}/{name}``).
"""
from django.utils.translation import gettext_lazy as _

from liftsafe.core.workflow import Transition, Workflow

from .models import State

ARTICLE_FLOW = Workflow("publicity", State, [
    Transition("edit", {State.DRAFT, State.SCHEDULED, State.PUBLISHED}, None, "publicity.manage", _("edit")),
    Transition("schedule", {State.DRAFT}, State.SCHEDULED, "publicity.publish", _("schedule")),
    Transition("publish", {State.DRAFT, State.SCHEDULED}, State.PUBLISHED, "publicity.publish", _("publish")),
    Transition("archive", {State.SCHEDULED, State.PUBLISHED}, State.ARCHIVED, "publicity.publish", _("archive")),
    Transition("redraft", {State.SCHEDULED, State.ARCHIVED}, State.DRAFT, "publicity.manage", _("return to draft")),
], refusal=_("Cannot %(action)s an article that is %(state)s."))

#: transitions that change the state (the page shows them as buttons; ``edit`` is the form)
STATE_TRANSITIONS = ("schedule", "publish", "archive", "redraft")
