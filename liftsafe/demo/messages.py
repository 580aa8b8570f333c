"""Kinds of the audit reasons the demo writes; see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

GENERATED = register("demo.generated", _l("demo: generated organisations, contracts and codes (the NYC registry names none)"),
                     legacy=r"^demo: generated organisations, contracts and codes \(the NYC registry names none\)$")
MTA_COMPLETED = register("demo.mta_completed", _l("demo: MTA unit completed (use unit, rescue code, its station's coordinates)"),
                         legacy=r"^demo: MTA unit completed \(use unit, rescue code, its station's coordinates\)$")
