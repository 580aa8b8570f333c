"""Kinds of the notes the inspection app writes (audit reasons of records and findings); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

RECORDED = register("inspection.recorded", _l("inspection recorded"), legacy=r"^recorded$")
CLOSED_BY_REINSPECTION = register("inspection.closed_by_reinspection", _l("closed by re-inspection #%(record)s"),
                                  legacy=r"^closed by re-inspection #(?P<record>\d+)$")
RECTIFIED = register("inspection.rectified", _l("rectification recorded"), legacy=r"^rectified$")
MONITORED = register("inspection.monitored_use", _l("put under monitored use"), legacy=r"^monitored use$")
CONFIRMED = register("inspection.confirmed", _l("rectification confirmed by the use unit"), legacy=r"^confirmed by use unit$")
