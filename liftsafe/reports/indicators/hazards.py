"""Hazard indicators of the report period: hazards by level.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from ..periods import Period
from .base import _Base, pct, _table


def hazards_by_level(base: _Base, period: Period) -> dict:
    from liftsafe.hazards.models import Level
    from liftsafe.hazards.models import State as HState

    rows = {r["level"]: r for r in base.hazards().filter(filed_at__gte=period.start_at, filed_at__lt=period.end_at)
            .values("level").annotate(filed=Count("id"), closed=Count("id", filter=Q(state=HState.CLOSED, closed_at__lt=period.end_at)))
            .order_by()}
    out = []
    for lv, label in reversed(Level.choices):
        r = rows.get(lv, {"filed": 0, "closed": 0})
        out.append([str(label), r["filed"], r["closed"], pct(r["closed"], r["filed"])])
    return _table("hazards_by_level", _l("Hazards filed in the period by level"),
                  [_("Level"), _("Filed"), _("Closed by the period's end"), _("Rectification rate (%)")], out)
