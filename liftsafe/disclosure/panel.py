"""The elevator-file section of the disclosure app: the QR label preview and the public reports about the lift."""
from __future__ import annotations

from liftsafe.core.permissions import allowed

from . import selectors, services


def panel_context(user, elevator) -> dict | None:
    """``{"code", "reports": [...], "can_print", "sees_reports"}``; reports only for the roles that receive them
    (units, regulator), newest 20."""
    sees = allowed(user, "disclosure.reports")
    return {"code": services.code_for(elevator), "can_print": allowed(user, "disclosure.labels"), "sees_reports": sees,
            "reports": list(selectors.report_list(user, elevator_id=elevator.pk)[:20]) if sees else []}
