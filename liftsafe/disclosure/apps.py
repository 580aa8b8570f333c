from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    name = "liftsafe.disclosure"
    label = "disclosure"
    verbose_name = _("Public disclosure")

    def ready(self):
        from django.utils.translation import gettext_lazy as _l

        from liftsafe.core import panels

        from . import permissions  # noqa: F401  (registers scopes and conditions)
        from .panel import panel_context

        panels.register(panels.Panel(key="public", title=_l("Public page, QR label and public reports"), order=80,
                                     template="disclosure/panel.html", context=panel_context))
