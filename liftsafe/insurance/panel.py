"""The insurance section of the elevator file (:mod:`liftsafe.core.panels`)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from . import selectors


def insurance_panel(user, elevator) -> dict | None:
    """``{"insured", "on", "in_force", "other", "claims"}`` or None for roles that may not read insurance."""
    return selectors.elevator_status(user, elevator)


def insurance_export(user, elevator) -> tuple[list[str], list[list]]:
    ctx = selectors.elevator_status(user, elevator)
    headers = [_("policy number"), _("insurer"), _("insured party"), _("start date"), _("end date"), _("in force")]
    if ctx is None:
        return headers, []
    rows = [[p.policy_no, p.insurer.name, p.insured_party.name, p.start_date.isoformat(), p.end_date.isoformat(), _("yes")]
            for p in ctx["in_force"]]
    rows += [[p.policy_no, p.insurer.name, p.insured_party.name, p.start_date.isoformat(), p.end_date.isoformat(), _("no")]
             for p in ctx["other"]]
    return headers, rows
