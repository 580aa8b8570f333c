"""Deployment system checks of the platform (``manage.py check --deploy``)."""
from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def import_dir_configured(app_configs=None, **kwargs):
    """liftsafe.W001: ``LIFTSAFE_IMPORT_DIR`` unset, so import schedules watch ``<data dir>/imports``."""
    if getattr(settings, "LIFTSAFE_IMPORT_DIR_CONFIGURED", False):
        return []
    return [Warning(
        "LIFTSAFE_IMPORT_DIR is not set: import schedules are confined to the default %s." % settings.LIFTSAFE_IMPORT_DIR,
        hint="Set the environment variable LIFTSAFE_IMPORT_DIR to the directory that receives registry files "
             "(scheduled imports may only read inside it).",
        id="liftsafe.W001",
    )]
