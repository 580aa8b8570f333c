from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "liftsafe.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self):
        from . import flows  # noqa: F401 - registers the flow-table system check
        from . import checks, throttle  # noqa: F401 - system checks; lockout audit log receiver
