"""Inspection pages (thin): the elevator's validity panel (htmx, on the registry page), the agency's due list and
workload per month, the record-an-inspection form with findings, the use unit's due lifts and findings."""
from __future__ import annotations


from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from liftsafe.core.errors import add_service_error
from liftsafe.registry.models import Elevator

from . import selectors, services
from liftsafe.core.permissions import allowed
from .models import Conclusion, Finding, FindingClass, InspectionRecord, Kind

FINDING_ROWS = 3


@login_required
@require_GET
def elevator_panel(request, elevator_pk: int):
    """The elevator's validity, records and findings (the panel of the registry's elevator page). 404 outside the scope."""
    e, v = selectors.validity_of(request.user, elevator_pk)
    recs = list(selectors.records_of(request.user, elevator_pk)[:20])
    ctx = {"e": e, "v": v, "records": recs, "can_record": allowed(request.user, "inspection.record")}
    tpl = "inspection/_elevator_panel.html" if request.htmx else "inspection/elevator_panel.html"
    return render(request, tpl, ctx)


def _months(request) -> int:
    try:
        return min(max(int(request.GET.get("months", 3)), 1), 24)
    except ValueError:
        return 3


@login_required
@require_GET
def due(request):
    """Lifts due in the next months (overdue ones first) and the workload per month."""
    if not allowed(request.user, "inspection.view"):
        raise PermissionDenied
    months = _months(request)
    qs, per_month = selectors.due_list(request.user, months=months)
    findings = selectors.findings_for(request.user)[:200]
    return render(request, "inspection/due.html", {"items": qs[:300], "per_month": per_month, "months": months,
                                                   "findings": findings, "can_rectify": allowed(request.user, "inspection.rectify"),
                                                   "can_confirm": allowed(request.user, "inspection.confirm")})


class RecordForm(forms.Form):
    elevator = forms.IntegerField(label=_("Elevator (id)"))
    kind = forms.ChoiceField(label=_("inspection type"), choices=Kind.choices)
    inspected_on = forms.DateField(label=_("inspection date"), widget=forms.DateInput(attrs={"type": "date"}))
    conclusion = forms.ChoiceField(label=_("conclusion"), choices=Conclusion.choices)
    inspectors = forms.CharField(label=_("inspectors"), max_length=200, required=False)
    report_no = forms.CharField(label=_("report number"), max_length=64, required=False)


class FindingForm(forms.Form):
    clause = forms.CharField(label=_("clause"), max_length=32, required=False)
    text = forms.CharField(label=_("finding"), required=False, widget=forms.TextInput)
    finding_class = forms.ChoiceField(label=_("finding class"), choices=FindingClass.choices, initial=FindingClass.MINOR)
    deadline = forms.DateField(label=_("deadline"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    deadline_days = forms.IntegerField(label=_("or days"), required=False, min_value=1, max_value=3650)
    deadline_basis = forms.ChoiceField(label=_("deadline counted in"), choices=[("calendar", _("calendar days")), ("working", _("working days"))])


@login_required
def record_new(request):
    """Record an inspection with up to three findings (agency)."""
    if not allowed(request.user, "inspection.record"):
        raise PermissionDenied
    form = RecordForm(request.POST or None, initial={"elevator": request.GET.get("elevator", "")})
    fforms = [FindingForm(request.POST or None, prefix=f"f{i}") for i in range(FINDING_ROWS)]
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in fforms):
        d = form.cleaned_data
        e = Elevator.objects.select_related("area").filter(pk=d["elevator"]).first()
        if e is None:
            form.add_error("elevator", _("No such elevator."))
        else:
            findings = [f.cleaned_data for f in fforms if (f.cleaned_data.get("text") or "").strip()]
            try:
                services.inspection_record(request.user, elevator=e, kind=d["kind"], inspected_on=d["inspected_on"],
                                           conclusion=d["conclusion"], inspectors=d["inspectors"], report_no=d["report_no"],
                                           findings=findings)
            except (ValidationError, PermissionDenied, Http404) as exc:
                add_service_error(form, exc, InspectionRecord, Finding)
            else:
                messages.success(request, _("Inspection recorded."))
                return redirect("registry:elevator_detail", e.pk)
    return render(request, "inspection/record_form.html", {"form": form, "fforms": fforms})


@login_required
@require_POST
def finding_action(request, pk: int, action: str):
    """Rectify (with evidence) or confirm / monitored use, from the due page."""
    try:
        version = int(request.POST.get("version") or 0) or None
        if action == "rectify":
            services.finding_rectify(request.user, pk, evidence_note=request.POST.get("evidence_note", ""),
                                     evidence_file=request.FILES.get("evidence_file"), version=version)
        elif action in ("confirm", "monitor"):
            services.finding_confirm(request.user, pk, monitored=action == "monitor", version=version)
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except ValidationError as exc:  # bad input: shown on the page; 403 / 404 propagate as such
        add_service_error(request, exc, Finding)
    return redirect("inspection:due")
