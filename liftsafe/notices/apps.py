from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "liftsafe.notices"
    label = "notices"
    verbose_name = _("Official documents")

    def ready(self):
        from liftsafe.core import flows, panels
        from liftsafe.core import permissions as perms

        from . import selectors
        from .services import issue_for_stop_use

        # a stop-use order of a hazard issues a numbered stop-use document (停止使用通知)
        flows.register("hazards.stop_use_ordered", issue_for_stop_use)
        perms.register_scope("notices.Document", lambda user, obj: selectors.documents_for(user).filter(pk=obj.pk).exists())
        panels.register(panels.Panel(key="documents", title=_("Official documents"), order=75,
                                     template="notices/panel.html", context=selectors.panel_context,
                                     export=selectors.panel_export))
