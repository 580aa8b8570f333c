"""Monitoring domain facts other apps count (pure: no user, no HTTP).

- *fault alarm*: an IoT alarm about the lift's own condition — every alarm type except an entrapment
  (an entrapment alarm opens a 96333 case, counted there as an entrapment: counting it here too would count
  it twice) and a power loss (the supply, not the lift). Used by the risk score's "faults" factor
  (docs/domain §4, §8).
"""
from __future__ import annotations

from django.db.models import Q

from .codes import AlarmType

NOT_FAULT_ALARM_TYPES = (AlarmType.ENTRAPMENT, AlarmType.POWER_LOSS)

#: :class:`~liftsafe.monitoring.models.Alarm` rows that are fault alarms
FAULT_ALARM_Q = ~Q(type__in=[t.value for t in NOT_FAULT_ALARM_TYPES])


def is_fault_alarm(alarm_type: str) -> bool:
    """The predicate form of :data:`FAULT_ALARM_Q`."""
    return alarm_type not in NOT_FAULT_ALARM_TYPES
