"""Report pages (server-rendered, htmx for the dashboard). Thin: numbers from ``selectors``, writes through
``services``, documents from ``render``.

- ``reports:dashboard``: live indicators and charts of an area and period (current period allowed);
  every logged-in user, numbers scoped to what they may see; the area choices come from their scope.
- ``reports:report_list``: stored reports the user may see (regulators and administrators), with the
  "generate" form for those who may generate.
- ``reports:report_generate``: GET the form, POST generates a draft (regulators and administrators; others 403).
- ``reports:report_detail``: the report's HTML rendering, Publish button, downloads.
- ``reports:report_publish``: POST, draft → published (regulators covering the area, administrators).
- ``reports:report_download``: ``format`` = pdf | xlsx | html.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liftsafe.core.csp import allow_document_styles
from liftsafe.core.errors import add_service_error
from liftsafe.core.permissions import allowed
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import areas_for

from . import render as renderers
from . import selectors, services
from .forms import DashboardForm, GenerateForm, add_service_errors, period_suggestions
from .models import Report
from .periods import local_tz

AREA_LEVELS = ("province", "city", "district")
FORMATS = {
    "pdf": ("application/pdf", renderers.render_pdf),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", renderers.render_xlsx),
    "html": ("text/html; charset=utf-8", renderers.render_html),
}


def _language() -> str:
    lang = translation.get_language() or "zh-hans"
    return "en" if lang.startswith("en") else "zh-hans"


def _area_choices(user):
    """Areas the user may pick (province, city, district levels of their scope), by code; at most 300."""
    return list(areas_for(user).filter(level__in=AREA_LEVELS).order_by("path")[:300])


def _today():
    return timezone.localtime(timezone.now(), local_tz()).date()


@login_required
def dashboard(request):
    """The live dashboard. ``?area=<code>&period=<label>``; an htmx request gets only the numbers and charts."""
    form = DashboardForm(request.GET or None)
    data, ctx = None, {}
    area_code, period = (request.GET.get("area") or "").strip(), (request.GET.get("period") or "").strip()
    try:
        data = selectors.dashboard(request.user, area_code=area_code or None, period=period or None, language=_language())
    except ValidationError as exc:
        form = DashboardForm(request.GET)
        form.is_valid()
        add_service_errors(form, exc)
    if data is not None:
        ctx = renderers.report_context(data)
    ctx.update({"form": form, "areas": _area_choices(request.user), "selected_area": area_code or (data or {}).get("area", {}).get("code", ""),
                "selected_period": period or (data or {}).get("period", {}).get("label", ""),
                "suggestions": period_suggestions(_today(), include_current=True),
                "may_manage": allowed(request.user, "report.manage")})
    template = "reports/_dashboard_body.html" if getattr(request, "htmx", False) else "reports/dashboard.html"
    return render(request, template, ctx)


@login_required
def report_list(request):
    """Stored reports in the caller's scope, newest period first; the generate form for regulators/admins."""
    reports = selectors.reports_for(request.user)
    status = request.GET.get("status")
    if status in ("draft", "published"):
        reports = reports.filter(status=status)
    may_manage = allowed(request.user, "report.manage")
    ctx = {"reports": reports[:200], "may_manage": may_manage, "status": status or ""}
    if may_manage:
        ctx.update(_generate_ctx(request, GenerateForm(initial={"language": _language(), "area": _default_area(request.user)})))
    return render(request, "reports/list.html", ctx)


def _default_area(user) -> str:
    scope = scope_of(user)
    if scope.area_path:
        area = selectors.resolve_area(user, None)
        return area.code if area else ""
    return ""


def _generate_ctx(request, form) -> dict:
    return {"gen_form": form, "areas": _area_choices(request.user),
            "suggestions": period_suggestions(_today(), include_current=False)}


@login_required
def report_generate(request):
    """GET: the form. POST: generate (or regenerate a draft of) a report and open it; errors on the form, field named."""
    if not allowed(request.user, "report.manage"):
        raise PermissionDenied(_("Only regulators and administrators may generate or publish reports."))
    if request.method == "POST":
        form = GenerateForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                report = services.generate_report(request.user, area_code=d["area"], period=d["period"], language=d["language"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Report %(label)s of %(area)s generated as a draft.")
                                 % {"label": report.period_label, "area": report.area.display_name})
                return redirect("reports:report_detail", pk=report.pk)
    else:
        form = GenerateForm(initial={"language": _language(), "area": request.GET.get("area") or _default_area(request.user),
                                     "period": request.GET.get("period", "")})
    return render(request, "reports/generate.html", _generate_ctx(request, form))


@login_required
def report_detail(request, pk: int):
    """One stored report: its rendering (in the report's language), Publish (drafts), downloads."""
    report = selectors.report_get(request.user, pk)
    with translation.override(report.language):
        body = renderers.report_context(report.data, status=report.status)
    may_manage = allowed(request.user, "report.manage")
    ctx = {"report": report, **body, "may_manage": may_manage, "may_publish": report.status == "draft" and may_manage,
           "formats": list(FORMATS)}
    return render(request, "reports/detail.html", ctx)


@login_required
@require_POST
def report_publish(request, pk: int):
    report = selectors.report_get(request.user, pk)
    try:
        services.publish_report(request.user, report)
        messages.success(request, _("Report published."))
    except (ValidationError, PermissionDenied) as exc:
        add_service_error(request, exc, Report)  # field labels and translated values, never codes
    return redirect("reports:report_detail", pk=pk)


@login_required
def report_download(request, pk: int, format: str):  # noqa: A002 - the URL's name for it
    """The report as PDF, XLSX or HTML (attachment named ``report-<area>-<period>-<language>.<format>``)."""
    if format not in FORMATS:
        raise Http404("unknown format")
    report = selectors.report_get(request.user, pk)
    content_type, fn = FORMATS[format]
    body = fn(report.data, status=report.status)
    response = HttpResponse(body.encode("utf-8") if isinstance(body, str) else body, content_type=content_type)
    if isinstance(body, str):
        allow_document_styles(response, body)  # CSP: the standalone document's own <style> blocks, by hash
    name = f"report-{report.area.code}-{report.period_label}-{report.language}.{format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
