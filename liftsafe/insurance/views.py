"""Insurance pages (thin; reads via selectors, writes via services):

- insurer: its policies (lifts covered), its claims → file / pay / refuse;
- regulator: coverage gaps by area (lifts in use with no policy in force), policies and claims of its area,
  record a policy;
- use / maintenance unit: policies and claims of its lifts (read-only).
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core import permissions
from liftsafe.core.errors import add_service_error
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Organisation

from . import domain, selectors, services
from .models import Claim, ClaimState, Policy
from .workflow import CLAIM_FLOW

PER_PAGE = 50


def _page(request, qs):
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


@login_required
def home(request):
    if permissions.allowed(request.user, "insurance.gaps"):
        return redirect("insurance:gaps")
    if scope_of(request.user).role == "insurer":
        return redirect("insurance:claims")
    return redirect("insurance:policies")


@login_required
def policies(request):
    permissions.require(request.user, "insurance.view")
    state = request.GET.get("state", "")
    state = state if state in ("in_force", "expired", "future") else ""
    return render(request, "insurance/policies.html", {"page": _page(request, selectors.policy_list(request.user, state=state)),
                                                       "state": state})


@login_required
def policy_detail(request, pk: int):
    p = selectors.policy_get(request.user, pk)
    lifts = selectors.policy_lifts(request.user, p)
    return render(request, "insurance/policy.html", {"p": p, "page": _page(request, lifts), "lift_count": lifts.count(),
                                                     "claims": selectors.claims_for(request.user).filter(policy=p).select_related("elevator", "case")[:100]})


def _date(value: str):
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@login_required
def policy_new(request):
    permissions.require(request.user, "policy.record")
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            ids_raw = [s for s in request.POST.get("elevators", "").replace(",", " ").split() if s]
            if any(not s.isdigit() or len(s) > 12 for s in ids_raw):
                raise ValidationError({"elevators": [_("enter lift ids (numbers) separated by spaces or commas")]})
            start, end = _date(request.POST.get("start_date")), _date(request.POST.get("end_date"))
            if start is None or end is None:
                raise ValidationError({"end_date": [_("enter the start and end dates (YYYY-MM-DD)")]})
            ins, party = request.POST.get("insurer", ""), request.POST.get("insured_party", "")
            p = services.policy_record(request.user, insurer_id=int(ins) if ins.isdigit() else None,
                                       policy_no=request.POST.get("policy_no", ""),
                                       insured_party_id=int(party) if party.isdigit() else None, start_date=start, end_date=end,
                                       limit_per_person=request.POST.get("limit_per_person"),
                                       limit_per_accident=request.POST.get("limit_per_accident"),
                                       premium=request.POST.get("premium") or None, elevator_ids=[int(s) for s in ids_raw])
            messages.success(request, _("Policy recorded."))
            return redirect(p.get_absolute_url())
        except (ValidationError, DjangoPermissionDenied) as exc:
            add_service_error(request, exc, Policy)
    insurers = Organisation.objects.filter(kind=Organisation.Kind.INSURER).order_by("name")[:500]
    parties = Organisation.objects.filter(kind__in=services.INSURABLE_KINDS).order_by("kind", "name")[:2000]
    return render(request, "insurance/policy_new.html", {"insurers": insurers, "parties": parties, "values": values,
                                                         "elevator": request.GET.get("elevator", "")})


@login_required
def claims(request):
    permissions.require(request.user, "insurance.view")
    state = request.GET.get("state", "")
    state = state if state in ClaimState.values else ""
    return render(request, "insurance/claims.html", {"page": _page(request, selectors.claim_list(request.user, state=state)),
                                                     "state": state, "states": ClaimState.choices})


@login_required
def claim_detail(request, pk: int):
    c = selectors.claim_get(request.user, pk)
    return render(request, "insurance/claim.html", {"c": c, "actions": CLAIM_FLOW.available_names(request.user, c),
                                                    "band": domain.band_for(c.trapped_s), "minutes": c.trapped_s // 60})


@login_required
@require_POST
def claim_action(request, pk: int, action: str):
    selectors.claim_get(request.user, pk)  # out of scope: 404, like a missing claim
    p = request.POST
    try:
        persons = p.get("persons", "").strip()
        if persons and not persons.isdigit():
            raise ValidationError({"persons": [_("enter the number of people trapped (1 to 200)")]})
        services.claim_transition(request.user, pk, action, persons=int(persons) if persons else None,
                                  amount=p.get("amount", "").strip() or None, reason=p.get("reason", ""))
        messages.success(request, {"file": _("Claim filed."), "pay": _("Claim paid."), "refuse": _("Claim refused.")}[action])
    except (ValidationError, DjangoPermissionDenied) as exc:
        add_service_error(request, exc, Claim)
    return redirect("insurance:claim", pk=pk)


@login_required
def gaps(request):
    permissions.require(request.user, "insurance.gaps")
    area = request.GET.get("area", "")
    lifts = selectors.coverage_gaps(request.user).select_related("area").order_by("area__name", "address", "id")
    if area.isdigit():
        lifts = lifts.filter(area_id=int(area))
    return render(request, "insurance/gaps.html", {"rows": selectors.coverage_by_area(request.user), "page": _page(request, lifts),
                                                   "area": area})
