"""Disclosure pages.

Public (anonymous, no JavaScript, read only through :mod:`.public`): the QR page ``/q/<code>``, the report form
behind it, the ticket page (status, reopen, questionnaire), the portal home ``/public/`` with the lift lookup.
Staff (scoped): public reports list/detail/actions, the photo, label sheets (PDF / ZIP of PDFs streamed),
publication settings, the QR image of a lift.
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from liftsafe.core import permissions
from liftsafe.core.errors import NotFound, add_service_error
from liftsafe.registry.selectors import elevator_get
from liftsafe.rules import rule

from liftsafe.publicity.services import count_qr_scans

from . import labels, public, selectors, services
from .throttle import client_address, throttled
from .domain import Category, PublicField, make_challenge, mask_phone, normalise_code
from .models import PublicReport, ReportState
from .workflow import REPORT_FLOW, STAFF_ACTIONS


# ------------------------------------------------------------------ public
def _ip(request) -> str:
    return client_address(request)


def _throttled(request) -> bool:
    return throttled(request)


def _not_found(request, status: int = 404, reason: str = ""):
    return render(request, "disclosure/not_found.html", {"reason": reason, "emergency_number": "96333"}, status=status)


@require_GET
def qr(request, code: str):
    """The public page of one lift (anyone; the short URL printed as the label's QR code)."""
    if _throttled(request):
        return _not_found(request, 429, "throttled")
    norm = normalise_code(code)
    if norm is None:
        return _not_found(request, 404, "malformed")
    elevator = public.lift_by_code(norm)
    if elevator is None:
        return _not_found(request, 404, "unknown")
    lift = public.project(elevator, norm)
    if elevator.status == "scrapped":
        return render(request, "disclosure/not_found.html", {"reason": "scrapped", "lift": lift, "emergency_number": "96333"})
    if lift.campaigns:  # the campaigns' QR-scan counters (no personal data, no cookie)
        count_qr_scans([c["campaign_id"] for c in lift.campaigns])
    return render(request, "disclosure/lift.html", {"lift": lift, "categories": _categories(), "F": PublicField})


def _categories():
    return [(c.value, c.label) for c in Category]


def report_new(request, code: str):
    """The report form (GET) and its submission (POST): multipart with an optional photo."""
    norm = normalise_code(code)
    elevator = public.lift_by_code(norm) if norm else None
    if elevator is None:
        return _not_found(request, 404, "unknown")
    lift = public.project(elevator, norm)
    ctx = {"lift": lift, "categories": _categories(), "values": {}, "errors": {}, "challenge": None}
    if request.method == "GET":
        ctx["values"] = {"category": request.GET.get("category", "")}
        if ctx["values"]["category"] == Category.TRAPPED:
            return render(request, "disclosure/trapped.html", ctx)
        return render(request, "disclosure/report_form.html", ctx)
    if request.method != "POST":
        return HttpResponse(status=405)
    if _throttled(request):
        return _not_found(request, 429, "throttled")
    values = {k: request.POST.get(k, "") for k in ("category", "text", "phone")}
    ctx["values"] = values
    if values["category"] == Category.TRAPPED:
        return render(request, "disclosure/trapped.html", ctx)
    try:
        report = services.report_file(elevator=elevator, category=values["category"], text=values["text"],
                                      photo=request.FILES.get("photo"), phone=values["phone"], ip=_ip(request),
                                      challenge=request.POST.get("challenge", ""), answer=request.POST.get("answer", ""))
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        ctx["errors"] = errors
        if "challenge" in errors:
            question, token = make_challenge()
            ctx["challenge"] = {"question": question, "token": token}
        return render(request, "disclosure/report_form.html", ctx, status=422 if "challenge" not in errors else 429)
    return redirect(reverse("public:ticket", args=[report.ticket]) + "?new=1")


@require_GET
def portal(request):
    """The public portal: lift lookup by address or code, ticket lookup, links to published ratings and reports."""
    q = request.GET.get("q", "").strip()[:100]
    results = public.lookup(q) if q else []
    ticket = request.GET.get("t", "").strip()[:20]
    if ticket:
        return redirect("public:ticket", ticket=ticket.upper())
    return render(request, "disclosure/portal.html", {"q": q, "results": results, "searched": bool(q)})


def _ticket_ctx(report, **extra):
    return {"t": public.public_ticket(report), "window_days": rule("disclosure_reopen_window_days"),
            "can_reopen": report.state == ReportState.CLOSED, "can_survey": report.state == ReportState.CLOSED and report.survey_fixed is None,
            "phone_masked": mask_phone(report.phone) if report.phone else "", **extra}


@require_GET
def ticket(request, ticket: str):
    if _throttled(request):
        return _not_found(request, 429, "throttled")
    try:
        report = services.report_by_ticket(ticket)
    except NotFound:
        return _not_found(request, 404, "ticket")
    return render(request, "disclosure/ticket.html", _ticket_ctx(report, new=request.GET.get("new") == "1"))


@require_POST
def ticket_reopen(request, ticket: str):
    try:
        report = services.report_reopen(ticket, comment=request.POST.get("comment", ""))
    except NotFound:
        return _not_found(request, 404, "ticket")
    except ValidationError as exc:
        report = services.report_by_ticket(ticket)
        return render(request, "disclosure/ticket.html", _ticket_ctx(report, errors=exc.message_dict), status=422)
    return redirect("public:ticket", ticket=report.ticket)


@require_POST
def ticket_survey(request, ticket: str):
    try:
        score = int(request.POST.get("score", ""))
    except ValueError:
        score = 0
    try:
        report = services.report_survey(ticket, fixed=request.POST.get("fixed") == "yes", score=score,
                                        comment=request.POST.get("comment", ""))
    except NotFound:
        return _not_found(request, 404, "ticket")
    except ValidationError as exc:
        report = services.report_by_ticket(ticket)
        return render(request, "disclosure/ticket.html", _ticket_ctx(report, errors=exc.message_dict), status=422)
    return redirect("public:ticket", ticket=report.ticket)


# ------------------------------------------------------------------ staff
@login_required
def report_list(request):
    permissions.require(request.user, "disclosure.reports")
    state = request.GET.get("state", "")
    if state and state not in ReportState.values:
        state = ""
    rows = selectors.report_list(request.user, state=state)[:200]
    return render(request, "disclosure/report_list.html", {"rows": rows, "state": state, "states": ReportState.choices})


@login_required
def report_detail(request, pk: int):
    permissions.require(request.user, "disclosure.reports")
    report = selectors.report_get(request.user, pk)
    actions = [t for t in REPORT_FLOW.available(request.user, report) if t.name in STAFF_ACTIONS]
    duplicates = selectors.report_list(request.user, elevator_id=report.elevator_id, open_only=True).exclude(pk=report.pk)[:20]
    return render(request, "disclosure/report_detail.html", {"r": report, "actions": actions, "duplicates": duplicates,
                                                              "today": dt.date.today().isoformat()})


@login_required
@require_POST
def report_action(request, pk: int, action: str):
    permissions.require(request.user, "disclosure.reports")
    report = selectors.report_get(request.user, pk)
    try:
        if action == "to_hazard":
            services.report_to_hazard(request.user, report)
        elif action == "to_case":
            services.report_to_case(request.user, report)
        else:
            expected = request.POST.get("expected_on", "").strip()
            try:
                expected_on = dt.date.fromisoformat(expected) if expected else None
            except ValueError:
                raise ValidationError({"expected_on": [_("Enter a valid date.")]}) from None
            services.report_act(request.user, report, action, note=request.POST.get("note", ""), expected_on=expected_on,
                                into=request.POST.get("into", ""))
        messages.success(request, _("Saved."))
    except ValidationError as exc:
        add_service_error(request, exc, PublicReport)
    return redirect("disclosure:report_detail", pk=report.pk)


@login_required
def report_photo(request, pk: int):
    permissions.require(request.user, "disclosure.reports")
    report = selectors.report_get(request.user, pk)
    if not report.photo:
        raise NotFound("photo")
    resp = FileResponse(report.photo.open("rb"), content_type="image/jpeg")
    resp["Cache-Control"] = "private, max-age=300"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@login_required
def labels_page(request):
    permissions.require(request.user, "disclosure.labels")
    count = selectors.label_elevators(request.user).count()
    return render(request, "disclosure/labels.html", {"sizes": labels.SIZES.values(), "count": count,
                                                      "per_pdf": rule("disclosure_labels_per_pdf")})


def label_rows(user, qs):
    """Iterate the label rows of ``qs`` in bounded memory (ids in pages, codes issued as needed)."""
    from .models import PublicCode

    last = 0
    while True:
        page = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", "registration_code", "rescue_code", "address")[:2000])
        if not page:
            return
        ids = [p[0] for p in page]
        services.ensure_codes(ids)
        codes = dict(PublicCode.objects.filter(elevator_id__in=ids).values_list("elevator_id", "code"))
        for pk, reg, rescue, address in page:
            yield labels.LabelRow(code=codes[pk], registration_code=reg, rescue_code=rescue, address=address)
        last = ids[-1]


@login_required
@require_GET
def labels_download(request):
    """``?size=small|medium|large&area=<code>&elevator=<id>…``: one PDF up to rule ``disclosure_labels_per_pdf``
    lifts, else a streamed ZIP of PDFs."""
    permissions.require(request.user, "disclosure.labels")
    size = labels.SIZES.get(request.GET.get("size", "medium"))
    if size is None:
        messages.error(request, _("Unknown label size."))
        return redirect("disclosure:labels")
    ids = None
    if request.GET.getlist("elevator"):
        try:
            ids = [int(x) for x in request.GET.getlist("elevator")[:50000]]
        except ValueError:
            messages.error(request, _("Unknown lift."))
            return redirect("disclosure:labels")
    try:
        qs = selectors.label_elevators(request.user, area=request.GET.get("area", "").strip(), ids=ids)
    except ValidationError as exc:
        add_service_error(request, exc)
        return redirect("disclosure:labels")
    base = request.build_absolute_uri("/").rstrip("/")
    n = qs.count()
    if n <= int(rule("disclosure_labels_per_pdf")):
        pdf = labels.render_part(label_rows(request.user, qs), size, base)
        resp = HttpResponse(pdf, content_type="application/pdf")
        resp["Content-Disposition"] = f'attachment; filename="labels-{size.key}.pdf"'
        return resp
    resp = StreamingHttpResponse(labels.stream_zip(label_rows(request.user, qs), size, base), content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="labels-{size.key}.zip"'
    return resp


@login_required
def qr_svg(request, elevator_pk: int):
    """The QR code (SVG) of a lift the user may see (the elevator-file panel's label preview)."""
    import io

    import segno

    elevator = elevator_get(request.user, elevator_pk)
    code = services.code_for(elevator)
    buf = io.BytesIO()
    segno.make(request.build_absolute_uri(f"/q/{code}"), error="m", boost_error=True).save(buf, kind="svg", scale=4, border=2,
                                                                                           xmldecl=False, title="QR")
    return HttpResponse(buf.getvalue(), content_type="image/svg+xml")


@login_required
def publication(request):
    """Regulators: what the public page shows per area (GET list + form; POST one area)."""
    permissions.require(request.user, "disclosure.publication")
    areas = selectors.publication_areas(request.user).order_by("path")[:500]
    if request.method == "POST":
        area = selectors.publication_areas(request.user).filter(code=request.POST.get("area", "")).first()
        if area is None:
            raise NotFound("area")
        try:
            services.publication_set(request.user, area, page=request.POST.get("page") == "on",
                                     accept_reports=request.POST.get("accept_reports") == "on",
                                     fields=request.POST.getlist("fields"))
            messages.success(request, _("Saved."))
        except ValidationError as exc:
            add_service_error(request, exc)
        return redirect("disclosure:publication")
    settings = {s.area_id: s for s in selectors.publication_settings(request.user)}
    rows = []
    for a in areas:
        page, accept, fields = public.published_fields(a)
        rows.append({"area": a, "own": settings.get(a.pk), "page": page, "accept": accept, "fields": fields})
    return render(request, "disclosure/publication.html", {"rows": rows, "fields": PublicField.choices})

