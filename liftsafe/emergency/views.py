"""Emergency pages (thin: reads through selectors, writes through services).

- Operator console: identify the elevator (:mod:`.lookup`) → intake checklist
  → reassure script → dispatch at level 1/2/3; a second call for an elevator
  with an open case attaches to it.
- Live board: open cases with running timers, refreshed by polling a small
  HTML delta (only changed rows are sent and swapped).
- Case page: full timeline, durations, upload status code; actions by role.
- Responder page (phone-sized): cases dispatched to the user's organisation;
  respond / arrived / released / cause; only for cases dispatched to it.
- Regulator view: late responders, escalations, every case's timeline.

Who may use what: console and dispatch — operators (and admins); board —
operators, regulators, admins; responder page — maintenance units and rescue
stations; regulator view — regulators and admins. A page the role cannot use
is 403; a case out of scope is 404 (like a missing one).
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from liftsafe.core.messages import render as render_message
from liftsafe.core.errors import add_service_error, service_error_messages
from liftsafe.core.redirects import safe_next_url
from liftsafe.core.permissions import allowed, require, role_allowed
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import area_zone, local_date
from liftsafe.registry import selectors as registry_selectors
from liftsafe.rules import rule

from . import board as live_board, domain, selectors, workflow  # board: the view below has that name
from .board import (  # noqa: F401 - the board's names stay importable from the views
    BOARD_OVERLAP, _BOARD_FIELDS, _case_base, _counts, _fmt, _poll_s, arrival_limit_s, board_data, render_board_rows,
)
from .causes import CAUSES
from .forms import (
    CallBackForm, CallerLookupForm, CaseSearchForm, CauseForm, DispatchForm, IntakeForm, OperatorMilestoneForm,
    ResponderMilestoneForm,
)
from .lookup import identify
from .models import CallBack, CaseType, Channel, EmergencyCase, FieldRecord, Level, LocationCheck, Milestone, State, milestone_reason_label

# the pages and the permission actions (liftsafe.core.permissions.ACTIONS) that open them
PAGE_ACTIONS = {"console": "emergency.console", "board": "emergency.board", "responder": "emergency.responder",
                "regulator": "emergency.oversight", "cases": "emergency.case_search"}


def _require(user, page: str) -> None:
    require(user, PAGE_ACTIONS[page], message=_("Your role cannot use this page."))


def can_use(user, page: str) -> bool:
    """Whether ``user``'s role may open ``page`` ("console", "board", "responder", "regulator"); used by the nav."""
    return allowed(user, PAGE_ACTIONS[page])




def _services():
    from . import services  # written by the emergency core; imported late so pages load without it in tests of lookups

    return services


# --------------------------------------------------------------------------- limits and timers

def _timer_class(elapsed: float | None, limit: float | None) -> str:
    if elapsed is None or not limit:
        return ""
    if elapsed >= limit:
        return "t-late"
    if elapsed >= limit * float(rule("board_warning_fraction")):
        return "t-warn"
    return "t-ok"


def _labels():
    return {
        "state": dict(State.choices), "type": dict(CaseType.choices), "channel": dict(Channel.choices),
    }


# --------------------------------------------------------------------------- responders for dispatch

def dispatch_options(case) -> dict[int, dict]:
    """The responder each level would get, for the dispatch panel (:func:`services.responder_for`).

    Level 1: the contracted maintenance unit on the case date; level 2: the
    nearest rescue station; level 3: the fire brigade. Shape:
    ``{level: {"org": Organisation | None, "km": distance from the elevator or None}}``.
    """
    services = _services()
    e = case.elevator
    on = local_date(case.received_at, case.area_id)  # the contract date in the case area's local time
    out: dict[int, dict] = {}
    for level in (1, 2, 3):
        org = services.responder_for(e, level, on)
        km = None
        if org is not None and None not in (org.latitude, org.longitude, e.latitude, e.longitude):
            km = round(services.haversine_m(e.latitude, e.longitude, org.latitude, org.longitude) / 1000, 1)
        out[level] = {"org": org, "km": km}
    return out


# --------------------------------------------------------------------------- operator console

@login_required
def console(request):
    """Operator console: identify the elevator, open cases at a glance."""
    _require(request.user, "console")
    q = request.GET.get("q", "")
    # a case number is looked up among the cases, never taken for an elevator code (issue 16)
    case_hits = list(selectors.search_cases(request.user, number=q)[:10]) if selectors.looks_like_order_number(q) else None
    result = identify(request.user, q) if q.strip() and case_hits is None else None
    if result and result.matches:  # flag candidates that already have an open case (a new call attaches to it)
        ids = [m.elevator.pk for m in result.matches]
        open_by_elevator = {eid: (pk, no) for eid, pk, no in selectors.open_cases_for(request.user)
                            .filter(elevator_id__in=ids).values_list("elevator_id", "pk", "order_number")}
        for m in result.matches:
            m.elevator.open_case = open_by_elevator.get(m.elevator.pk)
    started = parse_datetime((request.GET.get("t", "") or "").replace(" ", "+"))
    ctx = {"q": q, "result": result, "case_hits": case_hits,
           "call_started": (started or timezone.now()).isoformat(), "counts": _counts(request.user)}
    if request.htmx and request.GET.get("partial"):
        return render(request, "emergency/_identify_results.html", ctx)
    return render(request, "emergency/console.html", ctx)


def _open_case_of(user, elevator):
    return selectors.open_cases_for(user).filter(elevator=elevator).first()


@login_required
def intake(request, elevator_pk: int):
    """Intake checklist for one identified elevator; POST creates the case (or attaches the call to its open case)."""
    _require(request.user, "console")
    elevator = registry_selectors.elevator_get(request.user, elevator_pk)
    if request.method == "POST":
        form = IntakeForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = _services().intake_alarm(
                    elevator, channel=d["channel"], case_type=d["case_type"], received_at=form.received_at(),
                    actor=request.user, caller_phone=d["caller_phone"], car_position=d["car_position"],
                    special_circumstances=d["special_circumstances"],
                    trapped_count=d["trapped_count"], injured_count=d["injured_count"],
                    idempotency_key=d["idempotency_key"] or None,
                )
            except ValidationError as exc:
                add_service_error(form, exc, EmergencyCase)
            else:
                case = result.case
                if result.created:
                    messages.success(request, _("Case %(no)s opened. Reassure the caller, then dispatch.") % {"no": case.order_number})
                else:
                    messages.warning(request, _("This elevator already has an open case: the call was attached to %(no)s.") % {"no": case.order_number})
                return redirect("emergency:case_detail", pk=case.pk)
    else:
        initial = {}
        started = parse_datetime(request.GET.get("t", "") or "")
        if started:
            initial["call_started"] = started
        form = IntakeForm(initial=initial)
    ctx = {
        "e": elevator, "form": form, "open_case": _open_case_of(request.user, elevator),
        "maintenance_unit": registry_selectors.maintenance_unit_on(elevator),
        "arrival_limit_min": arrival_limit_s(elevator.urban) // 60,
    }
    return render(request, "emergency/intake.html", ctx)


# --------------------------------------------------------------------------- case page

def _case_context(request, case) -> dict:
    user = request.user
    scope = scope_of(user)
    timeline = selectors.case_timeline(user, case)
    kinds = dict(Milestone.Kind.choices)
    channels = dict(Channel.choices)
    for m in timeline:
        m["kind_label"] = kinds.get(m["kind"], m["kind"])
        ch = (m.get("data") or {}).get("channel")
        m["channel_label"] = channels.get(ch, ch) if ch else ""
        m["reason_label"] = milestone_reason_label((m.get("data") or {}).get("reason"))
        m["note_label"] = render_message((m.get("data") or {}).get("note") or "")
    durations = selectors.durations(case)
    response_limit = int(rule("dispatch_response_limit_s"))
    al = arrival_limit_s(case.elevator.urban)
    limits = {"response": response_limit, "arrival": al}
    duration_rows = []
    for key, label in (("response", _("Response (responded − dispatched)")), ("arrival", _("Arrival (arrived − dispatched)")),
                       ("on_site_rescue", _("On-site rescue (released − arrived)")), ("total", _("Total (released − received)"))):
        secs = durations.get(key)
        limit = limits.get(key)
        duration_rows.append({"key": key, "label": label, "value": _fmt(secs), "limit": _fmt(limit) if limit else "",
                              "late": secs is not None and limit is not None and secs > limit})
    is_operator = role_allowed(user, "case.intake")
    dispatched_to_me = (role_allowed(user, "emergency.responder") and case.responder_id is not None
                        and case.responder_id == scope.organisation_id)
    ctx = {
        "case": case, "e": case.elevator, "timeline": timeline, "durations": duration_rows,
        "status_code": selectors.upload_status_code(case), "is_operator": is_operator,
        "dispatched_to_me": dispatched_to_me, "is_open": case.is_open,
        "arrival_limit_min": al // 60, "response_limit_min": response_limit // 60,
        "cause_label": _cause_label(case),
        "now": timezone.now(),
    }
    if is_operator and case.is_open:
        options = dispatch_options(case)
        next_level = min((case.level or 0) + 1, 3)
        ctx["dispatch_options"] = [{"level": lv, "label": Level(lv).label, **options[lv], "selected": lv == next_level}
                                   for lv in (1, 2, 3)]
        ctx["dispatch_form"] = DispatchForm(initial={"level": next_level})
        ctx["close_form"] = OperatorMilestoneForm()
        ctx["close_actions"] = workflow.available(user, case, workflow.CLOSE_TRANSITIONS)  # state AND permission
    if dispatched_to_me:
        ctx.update(_responder_forms(user, case))
    ctx["on_site"] = [{"r": r, "reason": domain.LOCATION_REASONS.get(r.location_reason, ""),
                       "check_label": LocationCheck(r.location_check).label}
                      for r in selectors.field_records_for(user, case)]  # regulator / the worker's own unit only
    ctx["callbacks"] = selectors.callbacks_for(user, case)
    if allowed(user, "case.callback", case):
        ctx["callback_form"] = CallBackForm()
    return ctx


def _cause_label(case) -> str:
    if not case.cause_class:
        return ""
    cls_label, items = CAUSES.get(case.cause_class, (case.cause_class, {}))
    return f"{cls_label} → {items.get(case.cause_item, case.cause_item)}"


@login_required
def case_detail(request, pk: int):
    """One case: intake facts, dispatch panel (operators), timeline, durations, status code."""
    case = selectors.case_get(request.user, pk)
    return render(request, "emergency/case_detail.html", _case_context(request, case))


@login_required
@require_POST
def case_dispatch(request, pk: int):
    """Dispatch the case at the chosen level (1 maintenance unit, 2 rescue station, 3 fire brigade)."""
    _require(request.user, "console")
    case = selectors.case_get(request.user, pk)
    form = DispatchForm(request.POST)
    if not form.is_valid():
        add_service_error(request, ValidationError(form.errors), Milestone, EmergencyCase, form=form)
        return redirect("emergency:case_detail", pk=pk)
    level = form.cleaned_data["level"]
    responder = dispatch_options(case)[level]["org"]
    if form.cleaned_data.get("responder"):  # a referenced id: resolved through the caller's scope, else 404
        responder = _services().responder_get(request.user, case, level, form.cleaned_data["responder"])
    try:
        _services().dispatch_case(request.user, case, level, responder=responder)
    except ValidationError as exc:
        add_service_error(request, exc, Milestone, EmergencyCase)
    else:
        messages.success(request, _("Dispatched at level %(level)d to %(org)s.") % {"level": level, "org": responder or "—"})
    return redirect("emergency:case_detail", pk=pk)


@login_required
@require_POST
def case_close(request, pk: int):
    """Operator closes a case: completed (result confirmed with the caller), false alarm or cancelled."""
    _require(request.user, "console")
    case = selectors.case_get(request.user, pk)
    form = OperatorMilestoneForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        extra = {"note": d["note"]} if d.get("note") else {}
        try:
            _services().record_milestone(request.user, case, d["kind"], idempotency_key=d["idempotency_key"] or None, **extra)
        except ValidationError as exc:
            add_service_error(request, exc, Milestone, EmergencyCase)
        else:
            messages.success(request, _("Case %(no)s: %(kind)s recorded.") % {"no": case.order_number, "kind": Milestone.Kind(d["kind"]).label})
    else:
        add_service_error(request, ValidationError(form.errors), Milestone, EmergencyCase, form=form)
    return redirect("emergency:case_detail", pk=pk)


@login_required
@require_POST
def case_callback(request, pk: int):
    """Operator records a call-back on the case (who was called, when, outcome)."""
    require(request.user, "case.callback")  # the role first (403), then the case in scope (404)
    case = selectors.case_get(request.user, pk)
    require(request.user, "case.callback", case)
    form = CallBackForm(request.POST)
    if not form.is_valid():
        add_service_error(request, ValidationError(form.errors), CallBack, form=form)
        return redirect("emergency:case_detail", pk=pk)
    d = form.cleaned_data
    try:
        _services().callback_record(request.user, case, party=d["party"], outcome=d["outcome"], called_at=d["called_at"],
                                    name=d["name"], phone=d["phone"], note=d["note"])
    except ValidationError as exc:
        add_service_error(request, exc, CallBack)
    else:
        messages.success(request, _("Call-back recorded."))
    return redirect("emergency:case_detail", pk=pk)


@login_required
@require_GET
def on_site_photo(request, pk: int, record_pk: int):
    """The photo of an on-site record: only for who may read the record (regulator, the worker's own unit); 404
    otherwise, like a missing one. Served with ``Cache-Control: private`` and no sniffing."""
    from django.http import FileResponse, Http404

    case = selectors.case_get(request.user, pk)
    rec = selectors.field_record_get(request.user, case, record_pk)
    if not rec.photo:
        raise Http404("no photo")
    try:
        fh = rec.photo.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("photo file missing") from None
    ctype = "image/png" if rec.photo.name.endswith(".png") else "image/jpeg"
    resp = FileResponse(fh, content_type=ctype)
    resp["Cache-Control"] = "private, max-age=300"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@login_required
def caller_lookup(request):
    """Caller lookup (operator's pop-up): a phone number's earlier cases and the lifts at their address.
    Phones are masked for roles that may not see them (a regulator)."""
    require(request.user, "caller.lookup", message=_("Your role cannot look up callers."))
    # POST, so that a caller's number never lands in a URL (access logs, history, the language switch's next=)
    form = CallerLookupForm(request.POST if request.method == "POST" else None)
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = selectors.caller_lookup(request.user, form.cleaned_data["phone"])
        except ValidationError as exc:
            add_service_error(form, exc, form=form)
        else:
            if result.masked:  # do not echo the full number back to a role that sees it masked
                form = CallerLookupForm()
    return render(request, "emergency/caller_lookup.html", {"form": form, "result": result})


# --------------------------------------------------------------------------- live board

def _board_context(request) -> dict:
    return live_board.page_context(request.user)


@gzip_page
@login_required
@require_GET
def board(request):
    """Live board of open cases, undispatched first, then oldest first, with running timers (see static/liftsafe/emergency.js)."""
    _require(request.user, "board")
    ctx = _board_context(request)
    response = render(request, "emergency/board.html", ctx)
    response["X-Board-Version"] = ctx["cursor"]
    return response


@gzip_page
@login_required
@require_GET
def board_delta(request):
    """Rows changed since ``?since=<cursor>`` (HTML fragment), the ids of cases closed since, the new cursor.

    Without a valid ``since`` every open case is sent (a full refresh). When no case of the user's scope
    changed since ``since`` minus the 2 s overlap (one indexed query on ``updated_at``), the answer is
    ``204 No Content`` and nothing else is computed (issue 4: ~50 operators polling every second): the
    board keeps its rows, cursor and state counts, which only a case change alters; its ``late`` counter
    (the rows shown red, which time alone changes) is recounted in the browser every second from the
    rows' timers (static/liftsafe/emergency.js). Otherwise: the changed rows, the ids of cases closed
    since, the counts and the new cursor, as before.
    """
    _require(request.user, "board")
    since = parse_datetime((request.GET.get("since", "") or "").replace(" ", "+"))  # a raw "+" in a URL reads as a space
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since, dt.timezone.utc)
    data = board_data(request.user, since)
    now = timezone.now()
    if since is not None and not data["rows"] and not data["closed"]:
        response = HttpResponse(status=204)
        response["X-Board-Version"] = since.isoformat()  # unchanged: send the same cursor again
        return response
    ctx = live_board.delta_context(request.user, data, now, full=since is None)
    response = render(request, "emergency/_board_delta.html", ctx)
    response["X-Board-Version"] = data["cursor"]
    return response


# --------------------------------------------------------------------------- responder page

def _responder_forms(user, case) -> dict:
    """The responder's buttons: the case workflow's available transitions (state AND permission), of which the
    phone page offers ``released`` for an entrapment and ``completed`` (fault handled) once on site for the rest."""
    state = case.state
    avail = set(workflow.available(user, case))
    return {
        "can_respond": "responded" in avail,
        "can_arrive": "arrived" in avail,
        "can_release": "released" in avail and case.case_type == CaseType.ENTRAPMENT,
        "can_complete": "completed" in avail and state == State.ARRIVED and case.case_type != CaseType.ENTRAPMENT,
        "can_cause": state in (State.RELEASED, State.COMPLETED) or (not case.is_open and case.case_type != CaseType.ENTRAPMENT),
        "milestone_form": ResponderMilestoneForm(),
        "cause_form": CauseForm(initial={"cause_class": case.cause_class}),
        "causes": CAUSES,
    }


@login_required
def responder(request):
    """Phone-sized list of the cases dispatched to the user's organisation: open ones (oldest first), then
    released/completed entrapments still without a cause (within ``cause_report_window_s``), then the rest closed recently."""
    _require(request.user, "responder")
    scope = scope_of(request.user)
    dispatched_to_us = selectors.cases_for(request.user)  # for a responder: every case dispatched to its organisation
    mine = dispatched_to_us.filter(responder_id=scope.organisation_id)  # ... and still its case (not escalated away)
    open_cases = list(mine.filter(state__in=[s.value for s in (State.DISPATCHED, State.RESPONDED, State.ARRIVED, State.RELEASED)])
                      .order_by("received_at", "pk"))
    since = timezone.now() - dt.timedelta(seconds=int(rule("cause_report_window_s")))
    recent = list(dispatched_to_us.exclude(pk__in=[c.pk for c in open_cases]).filter(received_at__gte=since).order_by("-received_at")[:20])
    need_cause = [c for c in recent if not c.cause_class and c.case_type == CaseType.ENTRAPMENT
                  and c.state in (State.COMPLETED, State.RELEASED)]
    now = timezone.now()
    cards = []
    for case in open_cases + need_cause:
        since_ld = (now - case.level_dispatched_at).total_seconds() if case.level_dispatched_at else None
        limit = int(rule("dispatch_response_limit_s")) if case.state == State.DISPATCHED else (
            arrival_limit_s(case.elevator.urban) if case.state == State.RESPONDED else None)
        cards.append({"case": case, "since_ld": _fmt(since_ld), "ld_cls": _timer_class(since_ld, limit),
                      "ld_epoch": int(case.level_dispatched_at.timestamp()) if case.level_dispatched_at else "",
                      "limit": limit or 0, **_responder_forms(request.user, case)})
    # a case escalated away from this organisation but still open is not closed: list it as handed over
    closed = [c for c in recent if c not in need_cause and not c.is_open]
    handed_over = [c for c in recent if c not in need_cause and c.is_open]
    return render(request, "emergency/responder.html", {"cards": cards, "closed": closed, "handed_over": handed_over,
                                                        "server_now": int(now.timestamp() * 1000)})


def _responder_case(request, pk: int):
    _require(request.user, "responder")
    case = selectors.case_get(request.user, pk)  # 404 unless it was dispatched to this organisation
    if case.responder_id != scope_of(request.user).organisation_id:
        raise PermissionDenied(_("This case is no longer dispatched to your organisation."))
    return case


def _back(request, case):
    nxt = request.POST.get("next") or ""
    if nxt.startswith("/emergency/") and "//" not in nxt and safe_next_url(request, nxt):
        return redirect(nxt)
    return redirect("emergency:responder")


@login_required
@require_POST
def responder_milestone(request, pk: int):
    """Responder reports responded / arrived / released (with the count freed)."""
    case = _responder_case(request, pk)
    form = ResponderMilestoneForm(request.POST, request.FILES)
    if not form.is_valid():
        add_service_error(request, ValidationError(form.errors), Milestone, EmergencyCase, form=form)
        return _back(request, case)
    d = form.cleaned_data
    extra = {"released_count": d["released_count"]} if d["kind"] == "released" else {}
    if d["kind"] in ("arrived", "released"):  # with the proof on site; a missing location never refuses it
        extra.update(latitude=d["latitude"] or None, longitude=d["longitude"] or None, accuracy_m=d["accuracy_m"] or None,
                     photo=d["photo"], confirmed_by=d["confirmed_by"] if d["kind"] == "released" else "")
    try:
        m = _services().record_on_site(request.user, case, d["kind"], idempotency_key=d["idempotency_key"] or None, **extra)
    except ValidationError as exc:
        add_service_error(request, exc, Milestone, EmergencyCase, FieldRecord)
    else:
        messages.success(request, _("%(no)s: %(kind)s recorded.") % {"no": case.order_number, "kind": Milestone.Kind(d["kind"]).label})
        rec = FieldRecord.objects.filter(milestone_id=m.pk).first()
        if rec is not None and rec.flagged:
            messages.warning(request, on_site_summary(rec))
    return _back(request, case)


def on_site_summary(rec) -> str:
    """One sentence on an on-site record's location check, in the user's language (page messages, case page)."""
    check = LocationCheck(rec.location_check)
    if check in (LocationCheck.NEAR, LocationCheck.FAR) and rec.distance_m is not None:
        return _("Location %(check)s: %(d)s m from the lift (accuracy %(acc)s m).") % {
            "check": check.label, "d": f"{rec.distance_m:,.0f}", "acc": f"{rec.accuracy_m:,.0f}"}
    reason = domain.LOCATION_REASONS.get(rec.location_reason, "")
    return _("Location %(check)s: %(reason)s. Recorded as it is; the regulator sees the flag.") % {
        "check": check.label, "reason": reason or check.label} if reason else _("Location: %(check)s.") % {"check": check.label}


@login_required
@require_POST
def responder_cause(request, pk: int):
    """Responder reports the trapping cause (class → item)."""
    _require(request.user, "responder")
    case = selectors.case_get(request.user, pk)
    form = CauseForm(request.POST)
    if not form.is_valid():
        add_service_error(request, ValidationError(form.errors), Milestone, EmergencyCase, form=form)
        return _back(request, case)
    try:
        _services().report_cause(request.user, case, form.cleaned_data["cause_class"], form.cleaned_data["cause_item"])
    except ValidationError as exc:
        add_service_error(request, exc, Milestone, EmergencyCase)
    else:
        messages.success(request, _("%(no)s: cause recorded.") % {"no": case.order_number})
    return _back(request, case)


# --------------------------------------------------------------------------- regulator view

@login_required
def regulator(request):
    """Late responders, escalations and all cases (read-only), over the last ``days`` (default 30)."""
    _require(request.user, "regulator")
    try:
        days = max(1, min(int(request.GET.get("days", 30)), 366))
    except ValueError:
        days = 30
    since = timezone.now() - dt.timedelta(days=days)
    cases = list(selectors.cases_for(request.user).filter(received_at__gte=since).prefetch_related("milestones__responder")[:5000])
    response_limit = int(rule("dispatch_response_limit_s"))
    per_responder: dict[int, dict] = {}
    escalations = []
    late_cases = []
    now = timezone.now()
    for case in cases:
        ms = list(case.milestones.all())
        dispatches = [m for m in ms if m.kind == Milestone.Kind.DISPATCHED]
        for i, m in enumerate(dispatches):
            if not m.responder_id:
                continue
            nxt = dispatches[i + 1].at if i + 1 < len(dispatches) else None
            window = [x for x in ms if x.at >= m.at and (nxt is None or x.at < nxt)]
            responded = next((x.at for x in window if x.kind == Milestone.Kind.RESPONDED), None)
            arrived = next((x.at for x in window if x.kind == Milestone.Kind.ARRIVED), None)
            end = nxt or now
            resp_s = (responded - m.at).total_seconds() if responded else None
            arr_s = (arrived - m.at).total_seconds() if arrived else None
            late_resp = domain.is_late_response(m.at, responded, end)
            late_arr = domain.is_late_arrival(case.case_type, case.elevator.urban, m.at, arrived, end)
            row = per_responder.setdefault(m.responder_id, {"org": m.responder, "dispatches": 0, "late_response": 0,
                                                            "late_arrival": 0, "resp": [], "arr": []})
            row["dispatches"] += 1
            row["late_response"] += int(late_resp)
            row["late_arrival"] += int(late_arr)
            if resp_s is not None:
                row["resp"].append(resp_s)
            if arr_s is not None:
                row["arr"].append(arr_s)
            if late_resp or late_arr:
                late_cases.append({"case": case, "milestone": m, "late_response": late_resp, "late_arrival": late_arr,
                                   "response": _fmt(resp_s), "arrival": _fmt(arr_s)})
        for m in ms:
            if m.kind == Milestone.Kind.ESCALATED:
                escalations.append({"case": case, "m": m, "reason": milestone_reason_label((m.data or {}).get("reason"))})
    responders = []
    for row in per_responder.values():
        responders.append({**row, "avg_response": _fmt(sum(row["resp"]) / len(row["resp"])) if row["resp"] else "—",
                           "avg_arrival": _fmt(sum(row["arr"]) / len(row["arr"])) if row["arr"] else "—",
                           "late_total": row["late_response"] + row["late_arrival"]})
    responders.sort(key=lambda r: (-r["late_total"], -r["dispatches"], str(r["org"])))
    escalations.sort(key=lambda x: x["m"].at, reverse=True)
    return render(request, "emergency/regulator.html", {
        "days": days, "cases": cases[:500], "n_cases": len(cases), "responders": responders,
        "escalations": escalations[:200], "late_cases": late_cases[:200],
        "response_limit_min": response_limit // 60,
        # arrivals recorded far from the lift, without a location or with an unreliable one (issue 15)
        "flagged_arrivals": [{"r": r, "check_label": LocationCheck(r.location_check).label,
                              "reason": domain.LOCATION_REASONS.get(r.location_reason, "")}
                             for r in selectors.flagged_arrivals(request.user, limit=100)],
    })


# --------------------------------------------------------------------------- case search and an elevator's case history

SEARCH_PAGE_SIZE = 25


@login_required
@require_GET
def case_search(request):
    """Case search for operators, regulators, responders and admins: order number, elevator code, address,
    date range, type, state, channel (:func:`selectors.search_cases`, scoped), newest first, 25 a page.
    An htmx request gets the results fragment only (the form updates them in place)."""
    from django.core.paginator import Paginator

    _require(request.user, "cases")
    form = CaseSearchForm(request.GET or None)
    page = None
    error = ""
    if form.is_bound and form.is_valid():
        try:
            qs = selectors.search_cases(request.user, **form.filters())
        except ValidationError as exc:
            error = " ".join(msg for _field, msg in service_error_messages(exc, EmergencyCase))
        else:
            if request.GET.get("format") == "csv":  # exactly the rows the page shows, all pages (no personal data)
                return _case_csv(qs)
            page = Paginator(qs, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    elif not form.is_bound:
        page = Paginator(selectors.search_cases(request.user), SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {"form": form, "page": page, "error": error, "params": params.urlencode(), "counts": _counts(request.user)
           if can_use(request.user, "board") else None}
    if request.htmx:
        return render(request, "emergency/_case_results.html", ctx)
    return render(request, "emergency/case_search.html", ctx)


#: columns of the case search's CSV download (no caller phone: personal data stays on the pages)
CASE_CSV_COLUMNS = (
    (_l("Order number"), lambda c: c.order_number),
    (_l("Received"), lambda c: timezone.localtime(c.received_at, area_zone(c.area_id)).isoformat()),
    (_l("Type"), lambda c: c.get_case_type_display()),
    (_l("State"), lambda c: c.get_state_display()),
    (_l("Channel"), lambda c: c.get_channel_display()),
    (_l("Elevator"), lambda c: c.elevator.display_code),
    (_l("Address"), lambda c: c.elevator.address),
    (_l("Level"), lambda c: c.level or ""),
    (_l("Responder"), lambda c: c.responder.name if c.responder_id else ""),
    (_l("People trapped"), lambda c: "" if c.trapped_count is None else c.trapped_count),
)


def _case_csv(qs, limit: int = 100_000):
    from liftsafe.core import exports

    def rows():
        yield [str(h) for h, _fn in CASE_CSV_COLUMNS]
        for c in qs[:limit].iterator(chunk_size=2000):
            yield [fn(c) for _h, fn in CASE_CSV_COLUMNS]
    return exports.csv_response(rows(), "cases.csv")


@login_required
@require_GET
def elevator_cases(request, elevator_pk: int):
    """An elevator's 96333 case history (the panel of the registry's elevator page, loaded by htmx): the cases
    the user may see, newest first, 20 a page, with the count of false alarms; ``?show=false_alarm`` / ``real``
    filters. 404 when the elevator is not visible to the user."""
    from django.core.paginator import Paginator

    elevator = registry_selectors.elevator_get(request.user, elevator_pk)
    show = request.GET.get("show", "")
    show = show if show in ("false_alarm", "real") else ""
    qs, counts = selectors.elevator_case_history(request.user, elevator.pk, show=show)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    ctx = {"e": elevator, "page": page, "counts": counts, "show": show}
    if request.htmx:
        return render(request, "emergency/_elevator_cases.html", ctx)
    return render(request, "emergency/elevator_cases.html", ctx)
