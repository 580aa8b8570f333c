from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    name = "liftsafe.emergency"
    label = "emergency"
    verbose_name = _("96333 emergency response")
