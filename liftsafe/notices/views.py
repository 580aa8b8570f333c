"""Official-document pages: list, issue form, detail (the addressee's opening is recorded), PDF."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from liftsafe.core.errors import NotFound, PermissionDenied, add_service_error
from liftsafe.core.permissions import allowed, require
from liftsafe.registry.selectors import elevator_get

from . import selectors, services
from .models import Document, Kind
from .pdf import document_pdf

LIST_ROWS = 200


def _int(value) -> int | None:
    """A positive database id from a query/form value, or ``None`` (absent, not a number, out of range)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 2**31 else None


@login_required
@require_GET
def document_list(request):
    """Documents the user may read (newest first, 200 at most), filterable by elevator, hazard, kind, unread."""
    require(request.user, "notices.view")
    kind = request.GET.get("kind", "")
    kind = kind if kind in Kind.values else ""
    unread = request.GET.get("unread") == "1"
    elevator_id, hazard_id = _int(request.GET.get("elevator")), _int(request.GET.get("hazard"))
    qs = selectors.document_search(request.user, elevator_id=elevator_id, hazard_id=hazard_id, kind=kind, unread=unread)
    return render(request, "notices/list.html", {
        "docs": qs[:LIST_ROWS], "total": qs.count(), "limit": LIST_ROWS, "kinds": Kind.choices, "kind": kind, "unread": unread,
        "elevator_id": elevator_id, "hazard_id": hazard_id, "can_issue": allowed(request.user, "notices.issue")})


def _parse_date(value: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"deadline": _("Enter the date as YYYY-MM-DD.")}) from None


@login_required
@require_http_methods(["GET", "POST"])
def document_new(request):
    """The issue form for one elevator (``?elevator=``; optional ``hazard`` and ``supersedes``)."""
    require(request.user, "notices.issue")
    data = request.POST if request.method == "POST" else request.GET
    elevator_id = _int(data.get("elevator"))
    if elevator_id is None:
        raise NotFound("elevator not found")
    elevator = elevator_get(request.user, elevator_id)
    hazard = supersedes = None
    hazard_id, supersedes_id = _int(data.get("hazard")), _int(data.get("supersedes"))
    if hazard_id is not None:
        from liftsafe.hazards.selectors import hazard_get

        hazard = hazard_get(request.user, hazard_id)
    if supersedes_id is not None:
        supersedes = selectors.document_get(request.user, supersedes_id)
    form = {"kind": data.get("kind", supersedes.kind if supersedes else Kind.RECTIFICATION),
            "facts": data.get("facts", supersedes.facts if supersedes else (hazard.title if hazard else "")),
            "requirements": data.get("requirements", supersedes.requirements if supersedes else ""),
            "deadline": data.get("deadline", supersedes.deadline.isoformat() if supersedes and supersedes.deadline else "")}
    if request.method == "POST":
        try:
            doc = services.document_issue(request.user, elevator=elevator, kind=form["kind"], facts=form["facts"],
                                          requirements=form["requirements"], deadline=_parse_date(form["deadline"]),
                                          hazard=hazard, supersedes=supersedes)
            return redirect(doc)
        except (ValidationError, PermissionDenied, NotFound) as exc:
            add_service_error(request, exc, Document)
    return render(request, "notices/new.html", {"e": elevator, "hazard": hazard, "supersedes": supersedes, "form": form,
                                                "kinds": Kind.choices}, status=400 if request.method == "POST" else 200)


@login_required
@require_GET
def document_detail(request, pk: int):
    """One document; opened by a user of the addressee use unit, its reading is recorded."""
    require(request.user, "notices.view")
    doc = selectors.document_get(request.user, pk)
    delivery = services.document_mark_read(request.user, doc)
    chain = []
    old = doc.supersedes
    while old is not None and len(chain) < 50:
        chain.append(old)
        old = old.supersedes
    return render(request, "notices/detail.html", {
        "d": doc, "delivery": delivery, "earlier": chain, "superseded_by": getattr(doc, "superseded_by", None),
        "can_correct": allowed(request.user, "notices.issue") and getattr(doc, "superseded_by", None) is None})


@login_required
@require_GET
def document_pdf_view(request, pk: int):
    """The document's PDF (inline); the addressee's opening is recorded like the page's."""
    require(request.user, "notices.view")
    doc = selectors.document_get(request.user, pk)
    services.document_mark_read(request.user, doc)
    resp = HttpResponse(document_pdf(doc), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="document-{doc.pk}.pdf"'
    return resp
