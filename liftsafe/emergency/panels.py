"""The emergency app's section of the elevator file: the lift's 96333 cases, false alarms included, newest first
(the first 20; the section pages through the rest with the ``emergency:elevator_cases`` view it reuses)."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.translation import gettext as _

from . import selectors
from .models import EmergencyCase

PANEL_ROWS = 20


def cases_context(user, elevator) -> dict:
    """``{"e", "page", "counts": {"total", "false_alarms"}, "show": ""}`` — the context of ``_elevator_cases.html``."""
    qs, counts = selectors.elevator_case_history(user, elevator.pk)
    return {"e": elevator, "page": Paginator(qs, PANEL_ROWS).get_page(1), "counts": counts, "show": ""}


def cases_export(user, elevator) -> tuple[list[str], list[list]]:
    """The cases the section shows: number, received, type, channel, state, false alarm, level, responder."""
    f = EmergencyCase._meta.get_field
    headers = [str(f(n).verbose_name) for n in ("order_number", "received_at", "case_type", "channel", "state")]
    headers += [_("False alarm"), str(f("level").verbose_name), str(f("responder").verbose_name)]
    page = cases_context(user, elevator)["page"]
    false_ids = set(selectors.cases_for(user).filter(pk__in=[c.pk for c in page]).filter(selectors.false_alarm_q()).values_list("pk", flat=True))
    return headers, [[c.order_number, c.received_at, c.get_case_type_display(), c.get_channel_display(), c.get_state_display(),
                      c.pk in false_ids, c.level or None, str(c.responder) if c.responder_id else None] for c in page]
