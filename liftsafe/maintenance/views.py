"""Maintenance pages (thin; reads via selectors, writes via services; no JavaScript needed except the
optional phone location at check-in).

- worker (phone-sized): today's visits → check in by rescue code or QR URL → checklist by location → check out;
- use unit: visits awaiting countersignature → countersign;
- regulator: overdue lifts by unit and area, flagged visits.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlencode
from itertools import groupby

from django.db.models import Q
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core import permissions
from liftsafe.core.errors import add_service_error

from . import catalogue, domain, selectors, services
from .models import LOCATION_CHOICES, Visit

DEVICE_COOKIE = "liftsafe_device"


def _device(request) -> str:
    return (request.COOKIES.get(DEVICE_COOKIE) or "")[:64]


def _with_device(request, response):
    if not request.COOKIES.get(DEVICE_COOKIE):
        response.set_cookie(DEVICE_COOKIE, uuid.uuid4().hex, max_age=5 * 365 * 86400, httponly=True, samesite="Lax")
    return response


def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _errors(request, exc):
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        plain = {}
        for field, errs in exc.message_dict.items():
            if field.startswith("results."):
                for m in errs:
                    messages.error(request, m if m.startswith(field[8:]) else f"{field[8:]}: {m}")
            else:
                plain[field] = errs
        if plain:
            add_service_error(request, ValidationError(plain), Visit)
        return
    add_service_error(request, exc, Visit)


@login_required
def home(request):
    role = domain.role_of(request.user)
    if role == "maintenance_unit":
        return redirect("maintenance:today")
    if role == "use_unit":
        return redirect("maintenance:countersign_list")
    if role in ("regulator", "admin"):
        return redirect("maintenance:overdue")
    return redirect("maintenance:flagged")


TODAY_PAGE_SIZE = 50


@login_required
def today(request):
    """Today's visits of the worker's unit, 50 a page (a big unit plans thousands a day); ``code`` opens one."""
    code = request.GET.get("code", "").strip()
    if code:  # the typed rescue code (works without JavaScript)
        return scan(request, code)
    from django.core.paginator import Paginator

    page = Paginator(selectors.todays_visits(request.user), TODAY_PAGE_SIZE).get_page(request.GET.get("page"))
    return _with_device(request, render(request, "maintenance/today.html", {"visits": page.object_list, "page": page}))


@login_required
def scan(request, code: str):
    """The lift's QR sticker URL: opens the worker's open visit of that lift with the code filled in."""
    tail = services.code_tail(code)  # narrowed in SQL: a big unit has thousands of visits a day
    candidates = selectors.todays_visits(request.user).filter(
        Q(elevator__rescue_code=tail) | Q(elevator__registration_code=tail) | Q(elevator__equipment_code=tail)) if tail else []
    for v in candidates:
        if services._code_matches(v.elevator, code):
            return redirect(f"{reverse('maintenance:visit', args=[v.pk])}?{urlencode({'code': code, 'method': 'qr'})}")
    messages.error(request, _("No open visit of yours for this lift today."))
    return redirect("maintenance:today")


@login_required
def visit_detail(request, pk: int):
    v = selectors.visit_get(request.user, pk)
    annex = catalogue.annex_for_category(v.elevator.category)
    groups = []
    if annex:
        items = sorted(catalogue.items_for(annex, v.tier, month=timezone.localdate().month),
                       key=lambda i: ([c for c, _l in LOCATION_CHOICES].index(i.location), i.code))
        labels = dict(LOCATION_CHOICES)
        for loc, its in groupby(items, key=lambda i: i.location):
            groups.append((labels[loc], [(i, v.results.get(i.code)) for i in its]))
    role = domain.role_of(request.user)
    prof = getattr(request.user, "profile", None)
    ctx = {"v": v, "groups": groups, "flag_labels": [domain.FLAG_LABELS.get(f, f) for f in v.flags],
           "is_worker": role == "maintenance_unit" and prof and prof.organisation_id == v.maintenance_unit_id,
           "can_sign": role == "use_unit" and prof and prof.organisation_id == v.elevator.use_unit_id and v.state == "checked_out",
           "history": v.history.select_related("history_user").order_by("-history_date")[:100],
           "code": request.GET.get("code", ""), "method": request.GET.get("method", "rescue_code"),
           "workers": request.user.__class__.objects.filter(profile__organisation_id=v.maintenance_unit_id).exclude(pk=request.user.pk)}
    return _with_device(request, render(request, "maintenance/visit.html", ctx))


@login_required
@require_POST
def visit_action(request, pk: int, action: str):
    selectors.visit_get(request.user, pk)  # out of scope: 404, like a missing visit
    p = request.POST
    try:
        if action == "check_in":
            w2 = p.get("worker2")
            services.visit_check_in(request.user, pk, code=p.get("code", ""), method=p.get("method") or "rescue_code",
                                    worker2_id=int(w2) if w2 and w2.isdigit() else None, device_id=_device(request),
                                    latitude=_float(p.get("latitude")), longitude=_float(p.get("longitude")),
                                    accuracy_m=_float(p.get("accuracy_m")))
            messages.success(request, _("Checked in."))
        elif action == "join":
            services.visit_join(request.user, pk, device_id=_device(request))
            messages.success(request, _("Presence confirmed."))
        elif action == "items":
            results = {}
            for key, val in p.items():
                if key.startswith("r_") and val:
                    code = key[2:]
                    value = p.get(f"value_{code}", "").strip()
                    results[code] = {"r": val, "note": p.get(f"note_{code}", ""), "action": p.get(f"action_{code}", ""),
                                     "value": _float(value) if value else None}
                    if value and results[code]["value"] is None:
                        raise ValidationError({f"results.{code}": [_("measurement must be a number")]})
            services.visit_record_items(request.user, pk, results)
            messages.success(request, _("Checklist saved."))
        elif action == "photo":
            f = request.FILES.get("file")
            if f is None:
                raise ValidationError({"file": [_("choose a photo")]})
            services.visit_add_photo(request.user, pk, f, item=p.get("item", ""))
            messages.success(request, _("Photo added."))
        elif action == "check_out":
            services.visit_check_out(request.user, pk)
            messages.success(request, _("Checked out."))
        elif action == "countersign":
            services.visit_countersign(request.user, pk)
            messages.success(request, _("Countersigned; the record is now frozen."))
            return redirect("maintenance:countersign_list")
        else:
            raise DjangoPermissionDenied
    except (ValidationError, DjangoPermissionDenied) as exc:
        _errors(request, exc)
    return redirect("maintenance:visit", pk=pk)


@login_required
def countersign_list(request):
    return render(request, "maintenance/countersign.html", {"visits": selectors.awaiting_countersign(request.user)})


@login_required
def overdue(request):
    permissions.require(request.user, "oversight.view")
    return render(request, "maintenance/overdue.html", {"rows": selectors.overdue_summary(request.user),
                                                        "lifts": selectors.overdue_lifts(request.user).select_related("area")[:200]})


@login_required
def flagged(request):
    visits = selectors.flagged_visits(request.user)[:200]
    rows = [(v, [domain.FLAG_LABELS.get(f, f) for f in v.flags]) for v in visits]
    return render(request, "maintenance/flagged.html", {"rows": rows})
