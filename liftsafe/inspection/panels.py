"""The inspection app's section of the elevator file: validity and the newest 20 inspection records with their
findings (the roles of ``inspection.view``; others see no section)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from liftsafe.core.permissions import allowed

from . import selectors
from .models import InspectionRecord

PANEL_ROWS = 20


def inspection_context(user, elevator) -> dict | None:
    """``{"e", "v": Validity | None, "records": [InspectionRecord], "records_total", "can_record"}``; ``None`` for a
    role that may not read inspections."""
    if not allowed(user, "inspection.view"):
        return None
    e, v = selectors.validity_of(user, elevator.pk)
    qs = selectors.records_of(user, elevator.pk).order_by("-inspected_on", "-pk")
    return {"e": e, "v": v, "records": list(qs[:PANEL_ROWS]), "records_total": qs.count(),
            "can_record": allowed(user, "inspection.record")}


def inspection_export(user, elevator) -> tuple[list[str], list[list]]:
    """The records the section shows, one row per record (its findings joined)."""
    ctx = inspection_context(user, elevator) or {"records": []}
    f = InspectionRecord._meta.get_field
    headers = [str(f(n).verbose_name) for n in ("inspected_on", "kind", "conclusion", "agency", "report_no")] + [_("Findings")]
    return headers, [[r.inspected_on, r.get_kind_display(), r.get_conclusion_display(), r.agency.name if r.agency_id else None, r.report_no,
                      "; ".join(f"{x.clause} {x.text} ({x.get_state_display()}, {x.deadline.isoformat()})" for x in r.findings.all())]
                     for r in ctx["records"]]
