"""Kinds of the notes the registry writes (audit reasons, lifecycle-event notes); see :mod:`liftsafe.core.messages`."""
from django.utils.translation import gettext_lazy as _l

from liftsafe.core.messages import register


def _field_label(name):
    from .models import Elevator

    return str(Elevator._meta.get_field(name).verbose_name)


CONTRACT_SUPERSEDED = register("registry.contract_superseded", _l("superseded by a new contract"),
                               legacy=r"^superseded by a new contract$")
CONTRACT_SUPERSEDED_IMPORT = register("registry.contract_superseded_import", _l("superseded by a new contract (import)"),
                                      legacy=r"^superseded by a new contract \(import\)$")
IMPORT = register("registry.import", _l("registry import (%(mapping)s)"), legacy=r"^import (?P<mapping>[\w.\-]+)$")
IMPORT_RUN = register("registry.import_run", _l("registry import (%(mapping)s) #%(run)s"),
                      legacy=r"^import (?P<mapping>[\w.\-]+) #(?P<run>\d+)$")
#: a lifecycle event read from an import: its source, and the elevator field its date came from
IMPORTED = register("registry.imported", _l("imported from %(source)s"))
IMPORTED_FIELD = register("registry.imported_field", _l("imported from %(source)s (%(field)s)"), show={"field": _field_label})
