"""Kinds of the notes the rating app writes (audit reasons); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

DRAFTED = register("rating.drafted", _l("rating drafted"))
REDRAFTED = register("rating.redrafted", _l("draft recomputed"))
PUBLISHED = register("rating.published", _l("rating published"))
OBJECTED = register("rating.objected", _l("objection filed"))
DECIDED = register("rating.decided", _l("objection decided: %(decision)s"))
REPLIED = register("rating.replied", _l("reply published"))
SHEET_SAVED = register("rating.sheet_saved", _l("scoring sheet saved"))
LISTED = register("rating.listed", _l("listed by rule %(rule)s"))
LIFT_APPLIED = register("rating.lift_applied", _l("lifting applied for"))
LIFT_DECIDED = register("rating.lift_decided", _l("lifting application decided: %(decision)s"))
