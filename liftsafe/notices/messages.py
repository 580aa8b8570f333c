"""Kinds of the notes the notices app writes (audit reasons); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register

ISSUED = register("notices.issued", _l("document %(number)s issued"))
SUPERSEDES = register("notices.supersedes", _l("document %(number)s issued, superseding %(old)s"))
DELIVERED = register("notices.delivered", _l("delivered to the use unit's account"))
READ = register("notices.read", _l("opened by the addressee"))
