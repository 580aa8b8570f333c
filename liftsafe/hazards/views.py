"""Hazard pages (server-rendered, htmx for the live list). Thin: reads via selectors, writes via services."""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core.errors import add_service_error
from liftsafe.core import exports
from liftsafe.core.redirects import safe_next_url
from liftsafe.core.models import Area, Role
from liftsafe.core.permissions import allowed, require
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry import selectors as selectors_registry
from liftsafe.registry.selectors import areas_for, elevator_get, organisations_for

from . import filters as hazard_filters
from . import selectors, services
from .models import (OPEN_STATES, AuthorityLevel, Campaign, CauseClass, Evidence, Hazard, Level, Recheck, Source, State,
                     StopUseOrder)
from .permissions import is_responsible_unit
from .workflow import EVIDENCE_STATES, HAZARD_FLOW


def _errors(request, exc: Exception) -> None:
    """A service error as messages, each field named by its label (liftsafe.core.errors.add_service_error)."""
    add_service_error(request, exc, Hazard, Recheck, Campaign, StopUseOrder, Evidence)


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"deadline": _("Enter a date as YYYY-MM-DD.")})


def _bool(v):
    return v in ("1", "true", "on", "yes")


@login_required
def hazard_list(request):
    """The hazard list; ``?format=csv|xlsx`` downloads exactly the rows the page shows (:mod:`.filters`)."""
    g = request.GET
    try:  # the same declaration as the API and the exports (hazards/filters.py)
        values = hazard_filters.parse(g)
    except ValidationError as exc:  # a bad value is named (by its label) and left out (the rest still filters)
        add_service_error(request, exc, Hazard, form=hazard_filters.LABELS)
        values = hazard_filters.parse({k: v for k, v in g.items() if k not in exc.message_dict})
    qs = hazard_filters.apply(request.user, values)
    fmt = g.get("format", "")
    if fmt in ("csv", "xlsx"):
        rows = hazard_filters.export_rows(qs)
        if fmt == "csv":
            return exports.csv_response(rows, "hazards.csv")
        return exports.xlsx_response(rows, "hazards.xlsx", sheet_title="hazards")
    page = Paginator(qs, 50).get_page(g.get("page"))
    export_q = g.copy()
    export_q.pop("page", None)
    ctx = {"page": page, "filters": g, "states": State.choices, "levels": Level.choices, "sources": Source.choices,
           "areas": areas_for(request.user).filter(level__in=["province", "city", "district"])[:300],
           "export_query": export_q.urlencode()}
    return render(request, "hazards/_rows.html" if request.htmx else "hazards/list.html", ctx)


@login_required
def my_hazards(request):
    if not allowed(request.user, "hazard.mine"):
        return redirect("hazards:list")
    return render(request, "hazards/mine.html", {"hazards": selectors.my_open_hazards(request.user)})


def _int(value) -> int | None:
    try:
        return int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        return None


def _posted_unit(p) -> Organisation | None:
    """The organisation named by the posted ``responsible_unit`` id (scope is checked by the service)."""
    raw = p.get("responsible_unit") or ""
    if not raw:
        return None
    pk = _int(raw)
    if pk is None:
        raise ValidationError({"responsible_unit": _("Choose a responsible unit.")})
    unit = Organisation.objects.filter(pk=pk).first()
    if unit is None:
        raise ValidationError({"responsible_unit": _("Organisation #%(id)s does not exist.") % {"id": pk}})
    return unit


def _unit_ctx(user, elevator, chosen: str | None = None) -> dict:
    """Responsible-unit choices of the form: the elevator's use unit (preselected) and maintenance unit, plus the
    organisation chosen through the search box if it is in scope (so a re-shown form keeps it)."""
    units = selectors.responsible_unit_choices(user, elevator)
    pk = _int(chosen) if chosen else None
    if pk and pk not in [u.pk for u in units]:
        extra = organisations_for(user).filter(pk=pk, kind__in=selectors.RESPONSIBLE_UNIT_KINDS).first()
        if extra is not None:
            units.append(extra)
    selected = pk if pk else (units[0].pk if units else None)
    return {"units": units, "unit_selected": selected, "unit_elevator": elevator}


@login_required
def hazard_new(request):
    require(request.user, "hazard.file")  # no filing form for roles that cannot file (issue 16)
    raw = request.GET.get("elevator") or request.POST.get("elevator")
    if not raw:
        q = request.GET.get("q", "").strip()
        found = selectors_registry.elevator_search(request.user, q).select_related("area")[:20] if q else []
        return render(request, "hazards/new_pick.html", {"q": q, "found": found})
    pk = _int(raw)
    if pk is None:
        raise Http404("elevator not found")
    elevator = elevator_get(request.user, pk)
    if request.method == "POST":
        p = request.POST
        try:
            unit = _posted_unit(p)
            h = services.hazard_file(request.user, elevator=elevator, source=p.get("source", ""), title=p.get("title", ""),
                                     level=p.get("level", ""), responsible_unit=unit, deadline=_date(p.get("deadline")),
                                     description=p.get("description", ""), cause_class=p.get("cause_class", ""))
            messages.success(request, _("Hazard #%(id)s filed.") % {"id": h.pk})
            return redirect(h)
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
    return render(request, "hazards/new.html", {"e": elevator, **_unit_ctx(request.user, elevator, request.POST.get("responsible_unit")),
                                                "levels": Level.choices, "sources": Source.choices, "causes": CauseClass.choices,
                                                "form": request.POST})


@login_required
def self_report(request):
    """A use unit, maintenance unit or inspection agency reports a hazard on one of its OWN lifts (自查自报): pick the
    lift (search within the caller's lifts only), then title, level, description, date found and evidence files.
    The report becomes a lead for the regulator. A lift the caller does not hold is 404."""
    require(request.user, "hazard.self_report")
    raw = request.GET.get("elevator") or request.POST.get("elevator")
    if not raw:
        q = request.GET.get("q", "").strip()
        found = selectors_registry.elevator_search(request.user, q).select_related("area")[:20] if q else []
        return render(request, "hazards/report_pick.html", {"q": q, "found": found})
    pk = _int(raw)
    if pk is None:
        raise Http404("elevator not found")
    elevator = elevator_get(request.user, pk)  # scoped: a lift the caller does not hold looks missing
    if request.method == "POST":
        p = request.POST
        try:
            h = services.hazard_self_report(request.user, elevator=elevator, title=p.get("title", ""), level=p.get("level", ""),
                                            description=p.get("description", ""), occurred_on=_date_field(p.get("occurred_on"), "occurred_on"),
                                            files=request.FILES.getlist("files"))
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("Hazard report #%(id)s sent to the regulator.") % {"id": h.pk})
            return redirect(h)
    return render(request, "hazards/report.html", {"e": elevator, "levels": Level.choices, "form": request.POST})


def _date_field(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: _("Enter a date as YYYY-MM-DD.")}) from None


@login_required
def unit_search(request):
    """htmx: up to 20 use/maintenance units in the caller's scope whose name contains ``q``, as radio choices."""
    q = request.GET.get("unit_q") or request.GET.get("q") or ""
    return render(request, "hazards/_unit_found.html", {"found": selectors.responsible_unit_search(request.user, q), "q": q})


@login_required
def hazard_detail(request, pk: int):
    h = selectors.hazard_get(request.user, pk)
    user = request.user
    # the forms to render: transitions the user may take now (state AND permission) that the page dispatches
    actions = [n for n in HAZARD_FLOW.available_names(user, h) if n in ACTIONS]
    is_unit = is_responsible_unit(user, h) and not allowed(user, "hazard.file")
    # as services.evidence_add: the unit while rectifying; a regulator's upload is a verification record
    verifier = scope_of(user).role == Role.REGULATOR
    can_upload = allowed(user, "hazard.add_evidence", h) and (
        h.state in EVIDENCE_STATES or (verifier and h.state in OPEN_STATES))
    ctx = {"h": h, "overdue": h.is_overdue(), "evidence": selectors.evidence_for(user, h),
           "timeline": selectors.hazard_timeline(user, h)[:100], "orders": h.stop_use_orders.all(),
           "rechecks": h.rechecks.select_related("campaign"), "is_unit": is_unit, "actions": actions,
           "can_upload": can_upload, "authorities": AuthorityLevel.choices, "levels": Level.choices,
           **(_unit_ctx(user, h.elevator) if "accept" in actions else {"units": []}),
           "active_order": services.active_order(h.elevator_id), "open_states": OPEN_STATES}
    return render(request, "hazards/detail.html", ctx)


ACTIONS = {
    "accept": lambda u, h, p, v: services.lead_accept(u, h, version=v, responsible_unit=_posted_unit(p),
                                                      deadline=_date(p.get("deadline")), level=p.get("level") or None),
    "dismiss": lambda u, h, p, v: services.lead_dismiss(u, h, version=v, reason=p.get("reason", "")),
    "list": lambda u, h, p, v: services.hazard_list(u, h, version=v, authority=p.get("authority", "")),
    "stop-use": lambda u, h, p, v: services.stop_use_order(u, h, version=v, reason=p.get("reason", "")),
    "start": lambda u, h, p, v: services.rectification_start(u, h, version=v, note=p.get("note", "")),
    "submit": lambda u, h, p, v: services.rectification_submit(u, h, version=v, note=p.get("note", "")),
    "send-back": lambda u, h, p, v: services.hazard_send_back(u, h, version=v, reason=p.get("reason", "")),
    "close": lambda u, h, p, v: services.hazard_close(u, h, version=v, note=p.get("note", "")),
    "edit": lambda u, h, p, v: services.hazard_update(u, h, version=v, changes={
        k: (_date(p[k]) if k == "deadline" else p[k]) for k in ("deadline", "level", "title") if p.get(k)}, reason="edited"),
}
# the page's action names are the workflow's transition names (HAZARD_FLOW), as in the API; old spellings kept
_ACTION_ALIASES = {"stop_use": "stop-use", "send_back": "send-back"}
DONE = {"accept": _("Lead accepted."), "dismiss": _("Lead dismissed."), "list": _("Listed for supervision."),
        "stop-use": _("Stop-use order issued; the elevator is stopped."), "start": _("Rectification started."),
        "submit": _("Rectification submitted for verification."), "send-back": _("Sent back to the responsible unit."),
        "close": _("Verified and closed out."), "edit": _("Saved.")}


@login_required
@require_POST
def hazard_action(request, pk: int, action: str):
    h = selectors.hazard_get(request.user, pk)
    action = _ACTION_ALIASES.get(action, action)
    if action not in ACTIONS:
        raise PermissionDenied
    try:
        ACTIONS[action](request.user, h, request.POST, request.POST.get("version") or None)
        messages.success(request, DONE[action])
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    return redirect("hazards:detail", pk=pk)


@login_required
@require_POST
def evidence_upload(request, pk: int):
    h = selectors.hazard_get(request.user, pk)
    f = request.FILES.get("file")
    try:
        if f is None:
            raise ValidationError({"file": _("Choose a file to upload.")})
        services.evidence_add(request.user, h, f, note=request.POST.get("note", ""))
        messages.success(request, _("Evidence uploaded."))
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    # only a same-host relative URL (no open redirect through ``next``)
    return redirect(safe_next_url(request, request.POST.get("next")) or h.get_absolute_url())


@login_required
def evidence_download(request, pk: int):
    ev = selectors.evidence_get(request.user, pk)
    resp = FileResponse(ev.file.open("rb"), content_type=ev.content_type, as_attachment=not ev.content_type.startswith("image/"),
                        filename=ev.original_name)
    resp["X-Content-Type-Options"] = "nosniff"
    resp["Cache-Control"] = "private, no-store"
    return resp


@login_required
def problem_elevators(request):
    g = request.GET
    page = Paginator(selectors.problem_elevators(request.user, area=g.get("area") or None), 50).get_page(g.get("page"))
    statuses = dict(Elevator.Status.choices)
    page.object_list = [dict(r, status_label=statuses.get(r["elevator__status"], r["elevator__status"])) for r in page.object_list]
    return render(request, "hazards/elevators.html", {"page": page, "filters": g,
                                                      "areas": areas_for(request.user).filter(level__in=["province", "city", "district"])[:300]})


@login_required
def elevator_file(request, elevator_id: int):
    f = selectors.elevator_file(request.user, elevator_id)
    return render(request, "hazards/elevator_file.html", {"f": f, "e": f.elevator, "can_file": allowed(request.user, "hazard.file")})


@login_required
def campaign_list(request):
    if request.method == "POST":
        p = request.POST
        try:
            area = Area.objects.filter(code=p.get("area", "")).first()
            if area is None:
                raise ValidationError({"area": _("Choose an area.")})
            start, end = dt.date.fromisoformat(p.get("period_start") or "x"), dt.date.fromisoformat(p.get("period_end") or "x")
            c = services.campaign_create(request.user, name=p.get("name", ""), area=area, period_start=start, period_end=end,
                                         rate=float(p["rate"]) if p.get("rate") else None, seed=int(p["seed"]) if p.get("seed") else None)
            messages.success(request, _("Campaign launched with %(n)s re-checks.") % {"n": c.sample_size})
            return redirect(c)
        except ValueError:
            messages.error(request, _("period: enter dates as YYYY-MM-DD; rate and seed as numbers."))
        except (ValidationError, PermissionDenied) as exc:
            _errors(request, exc)
    return render(request, "hazards/campaigns.html", {
        "campaigns": selectors.campaigns_for(request.user)[:200], "can_launch": allowed(request.user, "hazard.campaign_launch"),
        "areas": areas_for(request.user).filter(level__in=["province", "city", "district"])[:300], "form": request.POST})


@login_required
def campaign_detail(request, pk: int):
    c = selectors.campaign_get(request.user, pk)
    return render(request, "hazards/campaign_detail.html", {
        "c": c, "rechecks": selectors.campaign_rechecks(request.user, c)[:1000], "summary": selectors.campaign_summary(c),
        "can_check": allowed(request.user, "hazard.recheck")})


@login_required
@require_POST
def recheck_record(request, pk: int):
    c = selectors.campaign_get(request.user, pk)
    try:
        try:
            hid = int(request.POST.get("hazard", "").lstrip("#"))
        except ValueError:
            raise ValidationError({"hazard": _("Enter a hazard number.")})
        h = selectors.hazard_get(request.user, hid)
        rc = services.recheck_record(request.user, c, h, result=request.POST.get("result", ""), note=request.POST.get("note", ""))
        messages.success(request, _("Re-check of hazard #%(h)s recorded: %(r)s.") % {"h": hid, "r": rc.get_result_display()})
    except (ValidationError, PermissionDenied) as exc:
        _errors(request, exc)
    return redirect(c)


def _fmt_rate(v):
    return "—" if v is None else f"{v:.1%}"


@login_required
def statistics(request):
    g = request.GET
    rows = selectors.statistics(request.user, area=g.get("area") or None)
    level_names = dict(Level.choices)
    fmt = g.get("format")
    header = [_("Area"), _("Hazard level"), _("Filed hazards (leads excluded)"), _("Closed out"), _("Closed on time"), _("Open"), _("Overdue"), _("Listed open"),
              _("Re-checked"), _("Recurrences"), _("Rectification rate"), _("On-time rate"), _("Recurrence rate")]
    table = [[str(_("Total")) if r["area"] == "*" else r["area"], "" if r["level"] == "*" else str(level_names.get(r["level"], r["level"])), r["filed"], r["closed"], r["closed_on_time"], r["open"],
              r["overdue"], r["listed_open"], r["rechecked"], r["recurrences"],
              r["rectification_rate"], r["on_time_rate"], r["recurrence_rate"]] for r in rows]
    if fmt == "csv":  # one export helper for every download: formula-like text neutralised
        return exports.csv_response([header] + [[round(v, 4) if isinstance(v, float) else v for v in row] for row in table],
                                    "hazard-statistics.csv", stream=False)
    if fmt == "xlsx":
        return exports.xlsx_response([header] + table, "hazard-statistics.xlsx", sheet_title="hazards",
                                     number_formats={10: "0.0%", 11: "0.0%", 12: "0.0%"}, stream=False)
    display = [row[:10] + [_fmt_rate(v) for v in row[10:]] for row in table]
    return render(request, "hazards/stats.html", {"header": header, "rows": display, "filters": g,
                                                  "counts": selectors.hazard_counts(request.user, area=g.get("area") or None),
                                                  "areas": areas_for(request.user).filter(level__in=["province", "city", "district"])[:300]})
