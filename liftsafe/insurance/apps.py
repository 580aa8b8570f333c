from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsuranceConfig(AppConfig):
    name = "liftsafe.insurance"
    label = "insurance"
    verbose_name = _("Elevator liability insurance")

    def ready(self):
        from liftsafe.core import panels

        from .panel import insurance_export, insurance_panel

        # the elevator file's insurance section: policies in force, other policies, claims (docs/domain §11)
        panels.register(panels.Panel(key="insurance", title=_("Liability insurance"), order=70,
                                     template="insurance/panel.html", context=insurance_panel, export=insurance_export))
