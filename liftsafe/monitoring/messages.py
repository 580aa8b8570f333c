"""Kinds of the audit reasons the monitoring app writes; see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

ALARM_ACKNOWLEDGED = register("monitoring.alarm_acknowledged", _l("alarm acknowledged"), legacy=r"^acknowledged$")
ALARM_CLEARED = register("monitoring.alarm_cleared", _l("alarm cleared"), legacy=r"^cleared$")
