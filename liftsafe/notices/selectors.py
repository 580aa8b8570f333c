"""Reads of official documents, always scoped to the caller.

- admin: every document; regulator (and the 96333 operator, insurer … never): documents on elevators in scope;
- use unit: documents addressed to it (delivered to its account), whatever lift they concern;
- anyone else: nothing (``notices.view`` refuses them anyway).
"""
from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from liftsafe.core.errors import NotFound
from liftsafe.core.models import Role
from liftsafe.core.permissions import allowed
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import Document

PANEL_ROWS = 20  # rows of the elevator file's section ("show all" links to the list)


def documents_for(user) -> QuerySet[Document]:
    """Every document ``user`` may read (see the module doc)."""
    scope = scope_of(user)
    qs = Document.objects.select_related("elevator", "authority", "addressee", "delivery", "superseded_by")
    if scope.is_admin:
        return qs
    if scope.role == Role.REGULATOR:
        return scope_elevators(scope, qs, prefix="elevator__")
    if scope.role == Role.USE_UNIT and scope.organisation_id:
        return qs.filter(addressee_id=scope.organisation_id)
    return qs.none()


def document_get(user, pk: int) -> Document:
    """One document ``user`` may read. Raises NotFound (missing or outside the scope, indistinguishable)."""
    d = documents_for(user).filter(pk=pk).first()
    if d is None:
        raise NotFound("document not found")
    return d


def document_search(user, *, elevator_id: int | None = None, hazard_id: int | None = None, kind: str = "",
                    unread: bool = False) -> QuerySet[Document]:
    """Documents ``user`` may read, newest first, optionally of one elevator, hazard or kind, or unread only."""
    qs = documents_for(user)
    if elevator_id is not None:
        qs = qs.filter(elevator_id=elevator_id)
    if hazard_id is not None:
        qs = qs.filter(hazard_id=hazard_id)
    if kind:
        qs = qs.filter(kind=kind)
    if unread:
        qs = qs.filter(delivery__isnull=False, delivery__read_at__isnull=True)
    return qs.order_by("-issued_at", "-pk")


def panel_context(user, elevator) -> dict | None:
    """The elevator file's "Official documents" section: ``{"rows": [Document], "total": n, "can_issue": bool}``,
    or ``None`` for a role that may not read documents."""
    if not allowed(user, "notices.view"):
        return None
    qs = document_search(user, elevator_id=elevator.pk)
    return {"rows": list(qs[:PANEL_ROWS]), "total": qs.count(), "can_issue": allowed(user, "notices.issue")}


def panel_export(user, elevator) -> tuple[list[str], list[list]]:
    """The section's rows for CSV/XLSX: exactly the rows the section shows."""
    ctx = panel_context(user, elevator) or {"rows": []}
    headers = [str(Document._meta.get_field(f).verbose_name) for f in ("number", "kind", "issued_on", "deadline", "addressee")]
    headers += [_("Superseded by"), _("Read by the addressee at")]
    rows = []
    for d in ctx["rows"]:
        sup = getattr(d, "superseded_by", None)
        delivery = getattr(d, "delivery", None)
        rows.append([d.number, d.get_kind_display(), d.issued_on, d.deadline, d.addressee.name if d.addressee else None,
                     sup.number if sup else None, delivery.read_at if delivery else None])
    return headers, rows
