from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "liftsafe.risk"
    label = "risk"
    verbose_name = _("Risk grading")

    def ready(self):
        from django.core import checks

        from liftsafe.core import flows, panels

        from . import messages  # noqa: F401  (registers the note kinds)
        from .panel import risk_panel_context, risk_panel_export
        from .services import on_case_closed, on_hazard_changed, on_validity_changed

        # incremental recompute of one lift when an input changes (declared by the owning apps)
        flows.register("emergency.case_closed", on_case_closed)
        flows.register("hazards.changed", on_hazard_changed)
        flows.register("inspection.validity_changed", on_validity_changed)
        panels.register(panels.Panel(key="risk", title=_("Risk grade"), order=40, template="risk/panel.html",
                                     context=risk_panel_context, export=risk_panel_export))
        checks.register(check_model)


def check_model(app_configs=None, **kwargs):
    """System check ``liftsafe.E301``: the shipped risk model (``risk/model.toml``) validates."""
    from django.core import checks
    from django.core.exceptions import ValidationError

    from .config import MODEL_PATH, parse

    try:
        parse(MODEL_PATH.read_text(encoding="utf-8"))
    except ValidationError as exc:
        return [checks.Error(f"risk model {MODEL_PATH.name}: {'; '.join(f'{k}: {v}' for k, vs in exc.message_dict.items() for v in vs)}",
                             id="liftsafe.E301")]
    return []
