"""Kinds of the notes the risk app writes (audit reasons of key periods and red-list tasks); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy

from liftsafe.core.messages import register

KEY_PERIOD_CREATED = register("risk.key_period_created", gettext_lazy("key period declared"))
KEY_PERIOD_UPDATED = register("risk.key_period_updated", gettext_lazy("key period changed: %(fields)s"))
KEY_PERIOD_STARTED = register("risk.key_period_started", gettext_lazy("uplift started"))
KEY_PERIOD_ENDED = register("risk.key_period_ended", gettext_lazy("uplift ended"))
TASK_CREATED = register("risk.task_created", gettext_lazy("red-list task created (score %(score)s)"))
