from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "liftsafe.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self):
        from . import flows  # noqa: F401 - registers the flow-table system check
        from . import checks, throttle  # noqa: F401 - system checks; lockout audit log receiver
        # each app's permissions.py registers the scope of its models and its actions' object conditions
        from importlib import import_module

        from django.apps import apps
        from django.utils.module_loading import module_has_submodule

        for config in apps.get_app_configs():
            if config.name.startswith("liftsafe.") and module_has_submodule(config.module, "permissions"):
                import_module(f"{config.name}.permissions")
