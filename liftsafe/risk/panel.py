"""The "Risk grade" section of the elevator file (registered in :class:`~liftsafe.risk.apps.RiskConfig`)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from liftsafe.core.permissions import allowed

from .explain import explain
from .selectors import scores_for


def risk_panel_context(user, elevator) -> dict | None:
    """``{"score": RiskScore | None, "reasons": [top factor rows]}``; None for users who may not see risk."""
    if not allowed(user, "risk.view"):
        return None
    s = scores_for(user).filter(elevator_id=elevator.pk).select_related("key_period").first()
    if s is None:
        return {"score": None, "reasons": []}
    rows = [r for r in explain(s) if r["points"] > 0]
    return {"score": s, "reasons": rows[:5]}


def risk_panel_export(user, elevator) -> tuple[list[str], list[list]]:
    ctx = risk_panel_context(user, elevator)
    headers = [_("factor"), _("fact"), _("points"), _("weight")]
    if not ctx or ctx["score"] is None:
        return headers, []
    return headers, [[r["label"], r["fact"], r["points"], r["weight"]] for r in explain(ctx["score"])]
