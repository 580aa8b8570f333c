from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "liftsafe.registry"
    label = "registry"
    verbose_name = _("Elevator registry")

    def ready(self):
        from liftsafe.core import panels as file_panels

        from . import panels

        # sections of the elevator file (一梯一档) the registry owns
        file_panels.register(file_panels.Panel(key="identity", title=_("Identity and codes"), order=0, template="registry/panel_identity.html",
                                               context=panels.identity_context, export=panels.identity_export))
        file_panels.register(file_panels.Panel(key="organisations", title=_("Organisations and contracts"), order=10,
                                               template="registry/panel_organisations.html",
                                               context=panels.organisations_context, export=panels.organisations_export))
        file_panels.register(file_panels.Panel(key="lifecycle", title=_("Lifecycle and audit history"), order=90,
                                               template="registry/panel_lifecycle.html",
                                               context=panels.lifecycle_context, export=panels.lifecycle_export))
