"""Kinds of the notes the risk app writes (audit reasons of key periods and red-list tasks); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

KEY_PERIOD_CREATED = register("risk.key_period_created", _l("key period declared"))
KEY_PERIOD_UPDATED = register("risk.key_period_updated", _l("key period changed: %(fields)s"))
KEY_PERIOD_STARTED = register("risk.key_period_started", _l("uplift started"))
KEY_PERIOD_ENDED = register("risk.key_period_ended", _l("uplift ended"))
TASK_CREATED = register("risk.task_created", _l("red-list task created (score %(score)s)"))
