"""Public pages of published periodic reports (no login, no JavaScript needed): the list, one report with its
top-10 lists, and its PDF. Reads only :mod:`liftsafe.reports.public` (the public projection)."""
from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_safe

from . import public
from . import render as renderers


@require_safe
def public_report_list(request):
    """Published reports, newest period first, each with its period, area and publication date."""
    return render(request, "reports/public_list.html", {"reports": public.published_reports()})


@require_safe
def public_report_detail(request, pk: int):
    """One published report: top-10 lists (brands, maintenance units, causes), then the whitelisted snapshot."""
    report = public.published_report(pk)
    with translation.override(report.language):
        body = renderers.report_context(report.data, status="published", charts=False)
    return render(request, "reports/public_detail.html", {"report": report, "top": public.top_lists(report), **body})


@require_safe
def public_report_pdf(request, pk: int):
    """The published report's PDF (the whitelisted snapshot, CJK font embedded)."""
    report = public.published_report(pk)
    response = HttpResponse(renderers.render_pdf(report.data, status="published"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="report-{report.area_code}-{report.period_label}-{report.language}.pdf"'
    return response
