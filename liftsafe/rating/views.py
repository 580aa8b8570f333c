"""Rating pages: the list (regulator: run, publish, pending objections; unit: its own), a rating's items with their
evidence and the due-process forms, the credit lists, and the public projection (``/public/ratings/``)."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core.errors import add_service_error
from liftsafe.core.permissions import require

from . import selectors, services
from .models import CreditEntry, Objection, Rating
from .workflow import RATING_FLOW


def _date(value: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationError({field: [_("Enter a date as YYYY-MM-DD.")]}) from None


@login_required
def home(request):
    require(request.user, "rating.view")
    qs = selectors.ratings_for(request.user)
    sheet = request.GET.get("sheet", "")[:40]
    if sheet:
        qs = qs.filter(sheet__code=sheet)
    state = request.GET.get("state", "")[:16]
    if state:
        qs = qs.filter(state=state)
    ctx = {"ratings": qs[:500], "sheets": selectors.sheets(), "sheet": sheet, "state": state,
           "states": Rating._meta.get_field("state").choices, "pending": selectors.pending_objections(request.user)[:100],
           "today": timezone.localdate()}
    return render(request, "rating/home.html", ctx)


@login_required
@require_POST
def run(request):
    try:
        rs = services.rating_run(request.user, sheet_code=request.POST.get("sheet", "")[:40], on=_date(request.POST.get("on"), "on"))
        messages.success(request, _("%(n)d draft ratings computed.") % {"n": len(rs)})
    except (ValidationError, DjangoPermissionDenied) as exc:
        add_service_error(request, exc, Rating)
    return redirect("rating:home")


@login_required
def detail(request, pk: int):
    require(request.user, "rating.view")
    r = selectors.rating_get(request.user, pk)
    ctx = {"r": r, "actions": RATING_FLOW.available_names(request.user, r), "objections": r.objections.select_related("filed_by", "decided_by"),
           "grades": r.sheet_config.get("grades", []), "decisions": Objection.Decision.choices,
           "credit": r.credit_entries.all(), "bands_source": r.sheet_config.get("bands_source", ""),
           "today": timezone.localdate()}
    return render(request, "rating/detail.html", ctx)


@login_required
@require_POST
def action(request, pk: int, action: str):
    selectors.rating_get(request.user, pk)  # out of scope: 404 like a missing rating
    p = request.POST
    try:
        if action == "publish":
            services.rating_publish(request.user, pk)
            messages.success(request, _("Rating published."))
        elif action == "object":
            services.objection_file(request.user, pk, text=p.get("text", ""), file=request.FILES.get("file"))
            messages.success(request, _("Objection filed."))
        elif action == "decide":
            services.objection_decide(request.user, pk, decision=p.get("decision", ""), reasons=p.get("reasons", ""),
                                      revised_grade=p.get("revised_grade", ""))
            messages.success(request, _("Objection decided."))
        elif action == "reply":
            services.rating_reply(request.user, pk, text=p.get("text", ""))
            messages.success(request, _("Reply published."))
        else:
            RATING_FLOW.get(action)  # unknown action: a ValidationError naming the known ones
    except (ValidationError, DjangoPermissionDenied) as exc:
        add_service_error(request, exc, Objection, Rating)
    return redirect("rating:detail", pk=pk)


@login_required
def objection_file(request, pk: int):
    """An objection's evidence file, for whoever may read its rating (always as a download, never rendered inline)."""
    import os

    from django.http import FileResponse

    from liftsafe.core.errors import NotFound

    require(request.user, "rating.view")
    o = selectors.objections_for(request.user).filter(pk=pk).first()
    if o is None or not o.file:
        raise NotFound("objection file not found")
    resp = FileResponse(o.file.open("rb"), as_attachment=True, filename=os.path.basename(o.file.name),
                        content_type="application/octet-stream")
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp


@login_required
def credit(request):
    require(request.user, "credit.view")
    entries = selectors.credit_entries_for(request.user)[:500]
    rows = [(e, services.lift_possible_from(e)) for e in entries]
    return render(request, "rating/credit.html", {"rows": rows, "today": timezone.localdate()})


@login_required
@require_POST
def credit_action(request, pk: int, action: str):
    if not selectors.credit_entries_for(request.user).filter(pk=pk).exists():
        from liftsafe.core.errors import NotFound

        raise NotFound("credit entry not found")
    try:
        if action == "apply":
            services.credit_apply_lift(request.user, pk, text=request.POST.get("text", ""))
            messages.success(request, _("Lifting applied for."))
        elif action == "decide":
            services.credit_decide_lift(request.user, pk, approve=request.POST.get("approve") == "1",
                                        reasons=request.POST.get("reasons", ""))
            messages.success(request, _("Application decided."))
        else:
            raise ValidationError({"action": [_("Unknown action.")]})
    except (ValidationError, DjangoPermissionDenied) as exc:
        add_service_error(request, exc, CreditEntry)
    return redirect("rating:credit")


@login_required
def sheets(request):
    """The scoring sheets: each item with its metric and whether the platform can compute it; regulators save a
    sheet as JSON (validated, errors naming the field such as ``bands[1].min``)."""
    import json

    from . import domain

    require(request.user, "rating.view")
    text = ""
    if request.method == "POST":
        text = request.POST.get("config", "")[:100_000]
        try:
            try:
                cfg = json.loads(text)
            except ValueError:
                raise ValidationError({"config": [_("Not valid JSON.")]}) from None
            s = services.sheet_save(request.user, cfg)
            messages.success(request, _("Scoring sheet %(code)s saved.") % {"code": s.code})
            return redirect("rating:sheets")
        except (ValidationError, DjangoPermissionDenied) as exc:
            add_service_error(request, exc)
    rows = []
    for s in selectors.sheets(active_only=False):
        items = [(i, domain.METRICS.get(i.get("metric"), ("", False, ""))) for i in s.config.get("items", [])]
        rows.append((s, items, json.dumps(s.config, ensure_ascii=False, indent=1)))
    return render(request, "rating/sheets.html", {"rows": rows, "text": text})


def public_list(request):
    """Anyone: the public projection (selectors.public_ratings), whitelisted fields only."""
    sheet = request.GET.get("sheet", "")[:40] or None
    return render(request, "rating/public.html", {"rows": selectors.public_ratings(sheet=sheet),
                                                  "sheets": selectors.sheets(), "sheet": sheet or ""})
