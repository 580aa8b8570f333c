"""Risk pages (regulator): the list with counts by area, a lift's "why", key periods, the red list.

Reads via :mod:`.selectors`, writes via :mod:`.services`; service errors shown with ``add_service_error``."""
from __future__ import annotations

import csv


from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from liftsafe.core import permissions
from liftsafe.core.errors import add_service_error
from liftsafe.core.models import Area
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import zone_for_area_id
from liftsafe.registry.codes import PLACE_TYPE_CHOICES
from liftsafe.registry.selectors import elevator_get

from . import filters, selectors, services
from .config import model
from .explain import explain, trigger_label
from .models import Colour, KeyPeriod, UpliftKind

PAGE_SIZE = 50


@login_required
def score_list(request):
    """The list of lifts by risk with counts by area (filters: colour, area, raised, replacement)."""
    permissions.require(request.user, "risk.view")
    try:
        values = filters.parse(request.GET)
    except ValidationError as exc:
        add_service_error(request, exc)
        values = filters.parse({})
    qs = filters.apply(request.user, values)
    if request.GET.get("format") == "csv":
        return _csv(qs)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.counts_by_area(qs)
    totals = {c: sum(r[c] for r in counts) for c in Colour.values}
    areas = _areas_for(request.user)
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(request, "risk/list.html", {
        "page": page, "counts": counts, "totals": totals, "total": sum(totals.values()), "values": values,
        "colours": Colour.choices, "areas": areas, "query": keep.urlencode(), "model": model(),
        "params": {k: request.GET.get(k, "") for k in filters.KEYS}})


def _csv(qs) -> HttpResponse:
    resp = HttpResponse(content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = 'attachment; filename="risk.csv"'
    w = csv.writer(resp)
    w.writerow([_("elevator"), _("address"), _("area"), _("colour"), _("score"), _("colour before uplift"),
                _("unknown share"), _("recommended for replacement"), _("computed at")])
    for s in qs[:100000].iterator(chunk_size=2000):
        w.writerow([s.elevator.display_code, s.elevator.address, s.elevator.area.name, s.colour, f"{s.score:.1f}",
                    s.base_colour, f"{s.unknown_share:.2f}", int(s.replacement), s.computed_at.isoformat()])
    return resp


def _areas_for(user):
    scope = scope_of(user)
    qs = Area.objects.all()
    if not scope.is_admin:
        qs = qs.filter(path__startswith=scope.area_path or "\x00")
    return list(qs.order_by("path")[:500])


@login_required
def score_detail(request, elevator_id: int):
    """Why a lift has its colour: each factor's contribution and evidence, and the colour history."""
    permissions.require(request.user, "risk.view")
    elevator = elevator_get(request.user, elevator_id)
    s = selectors.scores_for(request.user).select_related("key_period").filter(elevator_id=elevator.pk).first()
    history = list(selectors.changes_for(request.user, elevator.pk)[:100])
    for c in history:
        c.diff = _diff(c.old_factors, c.new_factors)
        c.trigger_label = trigger_label(c.trigger)
    return render(request, "risk/detail.html", {"elevator": elevator, "s": s, "rows": explain(s) if s else [],
                                                "history": history, "model": model()})


def _diff(old: dict, new: dict) -> list[str]:
    from .explain import LABELS

    out = []
    if not old:
        return [_("first computation")]
    for k in sorted(set(old) | set(new)):
        a, b = (old.get(k) or {}), (new.get(k) or {})
        if a.get("raw") != b.get("raw") or a.get("points") != b.get("points"):
            out.append(f"{LABELS.get(k, k)}: {_raw(a.get('raw'))} → {_raw(b.get('raw'))}")
    return out


def _raw(v) -> str:
    if v is None:
        return _("unknown")
    if v is True:
        return _("yes")
    if v is False:
        return _("no")
    return str(v)


@login_required
@require_POST
def score_recompute(request, elevator_id: int):
    permissions.require(request.user, "risk.recompute")
    try:
        services.recompute_elevator(request.user, elevator_get(request.user, elevator_id))
        messages.success(request, _("Recomputed."))
    except ValidationError as exc:
        add_service_error(request, exc)
    return redirect("risk:detail", elevator_id)


# --------------------------------------------------------------------------- key periods
class KeyPeriodForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=120)
    starts_at = forms.DateTimeField(label=gettext_lazy("starts at (local time of the first area)"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label=gettext_lazy("ends at (local time of the first area)"),
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    areas = forms.ModelMultipleChoiceField(label=gettext_lazy("areas"), queryset=Area.objects.none())
    place_types = forms.TypedMultipleChoiceField(label=gettext_lazy("place types (none = all)"), choices=PLACE_TYPE_CHOICES, coerce=int,
                                                 required=False, widget=forms.CheckboxSelectMultiple)
    uplift_kind = forms.ChoiceField(label=gettext_lazy("uplift"), choices=UpliftKind.choices)
    uplift_points = forms.FloatField(label=gettext_lazy("uplift points"), min_value=0, max_value=100, required=False)
    note = forms.CharField(label=gettext_lazy("note"), max_length=255, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = Area.objects.filter(pk__in=[a.pk for a in _areas_for(user)]).order_by("path")

    def values(self) -> dict:
        d = dict(self.cleaned_data)
        areas = list(d.pop("areas"))
        d.pop("version", None)
        zone = zone_for_area_id(areas[0].pk if areas else None)
        for f in ("starts_at", "ends_at"):  # typed in the area's local time (docs: key periods are area-local)
            d[f] = timezone.make_aware(timezone.make_naive(d[f]), zone)
        d["uplift_points"] = d.get("uplift_points") or 0
        return {"areas": [a.pk for a in areas], **d}


@login_required
def key_period_list(request):
    permissions.require(request.user, "risk.view")
    form = None
    if permissions.allowed(request.user, "risk.manage_key_periods"):
        form = KeyPeriodForm(request.POST or None, user=request.user, initial={"uplift_kind": UpliftKind.BAND})
        if request.method == "POST" and form.is_valid():
            try:
                p = services.key_period_create(request.user, **form.values())
                messages.success(request, _("Key period declared."))
                return redirect("risk:key_period", p.pk)
            except ValidationError as exc:
                add_service_error(form, exc, KeyPeriod)
    elif request.method == "POST":
        raise PermissionDenied(_("Only regulators and administrators may declare key periods."))
    periods = selectors.key_periods_for(request.user).prefetch_related("areas")[:200]
    return render(request, "risk/key_periods.html", {"periods": periods, "form": form, "now": timezone.now()})


@login_required
def key_period_edit(request, pk: int):
    permissions.require(request.user, "risk.view")
    p = selectors.key_period_get(request.user, pk)
    form = None
    if permissions.allowed(request.user, "risk.manage_key_periods", p):
        zone = zone_for_area_id(p.areas.order_by("path").values_list("pk", flat=True).first())
        initial = {"name": p.name, "starts_at": timezone.localtime(p.starts_at, zone).replace(tzinfo=None),
                   "ends_at": timezone.localtime(p.ends_at, zone).replace(tzinfo=None), "areas": list(p.areas.all()),
                   "place_types": p.place_types, "uplift_kind": p.uplift_kind, "uplift_points": p.uplift_points,
                   "note": p.note, "version": p.version}
        form = KeyPeriodForm(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.key_period_update(request.user, p, version=form.cleaned_data.get("version"), **form.values())
                messages.success(request, _("Key period saved."))
                return redirect("risk:key_period", p.pk)
            except ValidationError as exc:
                add_service_error(form, exc, KeyPeriod)
    elif request.method == "POST":
        raise PermissionDenied(_("Only regulators and administrators may declare key periods."))
    raised = selectors.scores_for(request.user).filter(key_period=p).select_related("elevator", "elevator__area").order_by("-score")[:200]
    return render(request, "risk/key_period.html", {"p": p, "form": form, "raised": raised, "now": timezone.now()})


# --------------------------------------------------------------------------- red list
@login_required
def red_list(request):
    permissions.require(request.user, "risk.view")
    reds = selectors.filtered_scores(request.user, colour=Colour.RED).select_related("elevator", "elevator__area")[:500]
    tasks = {(t.elevator_id, t.red_since): t for t in selectors.tasks_for(request.user).filter(
        elevator_id__in=[s.elevator_id for s in reds])}
    rows = [(s, tasks.get((s.elevator_id, s.colour_since))) for s in reds]
    return render(request, "risk/red_list.html", {"rows": rows, "missing": sum(1 for _s, t in rows if t is None)})


@login_required
@require_POST
def red_tasks_create(request):
    try:
        made = services.red_tasks_create(request.user)
        messages.success(request, _("%(n)d task(s) created.") % {"n": len(made)})
    except ValidationError as exc:
        add_service_error(request, exc)
    return redirect("risk:red_list")



