from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicityConfig(AppConfig):
    name = "liftsafe.publicity"
    label = "publicity"
    verbose_name = _("Safety publicity")

    def ready(self):
        from . import permissions  # noqa: F401 - registers the scope check of Article
