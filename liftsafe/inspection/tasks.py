"""Inspection background jobs (idempotent): the daily validity recompute (a lift that becomes expired is
announced once: notifications, hazard lead, status hold) and the escalation of overdue findings to the regulator."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.notifications import notify_many
from liftsafe.core.tasks import periodic

from .models import Finding, FindingState
from .services import validity_recompute


def escalate_overdue_findings(today: dt.date | None = None) -> int:
    """Notify the regulators of the lift's area once per finding whose deadline has passed while it is still open
    (issue 12: overdue findings escalate to the regulator). Returns how many notifications were new."""
    today = today or timezone.localdate()
    rows = (Finding.objects.filter(deadline__lt=today, state=FindingState.OPEN)
            .select_related("record__elevator").order_by("pk"))
    items = []
    for f in rows.iterator(chunk_size=2000):
        e = f.record.elevator
        items.append({"kind": "inspection.finding_overdue", "area": e.area, "dedupe_key": f"inspection:finding:{f.pk}:overdue:{f.deadline}",
                      "subject": _("Inspection finding overdue on lift %(code)s") % {"code": e.display_code},
                      "body": _("Finding %(clause)s (%(text)s) was due on %(d)s and is not rectified.")
                      % {"clause": f.clause, "text": f.text[:200], "d": f.deadline},
                      "payload": {"finding": f.pk, "elevator": e.pk}})
    return notify_many(items) if items else 0


@periodic(seconds=24 * 3600, name="inspection.validity_recompute")
def validity_recompute_job() -> int:
    return sum(validity_recompute(announce_first=False).values())


@periodic(seconds=3600, name="inspection.escalate_overdue_findings")
def escalate_job() -> int:
    return escalate_overdue_findings()
