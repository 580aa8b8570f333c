"""Reports API (mounted at /api/reports/): live indicators, stored reports, publication and downloads.

Errors (shared format, see liftsafe.core.api): 422 ``{"detail", "errors": {field: [...]}}`` for a bad
``area``, ``period`` or ``language`` (an area outside the caller's scope is reported like an unknown one);
403 for a caller who may not generate/publish; 404 for a report outside the caller's scope.
"""
from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from ninja import Router, Schema
from ninja.pagination import paginate

from liftsafe.core.pagination import BoundedPage

from liftsafe.core.csp import allow_document_styles
from liftsafe.core.api import ErrorOut, Status

from . import selectors, services

router = Router(tags=["reports"])


class ReportOut(Schema):
    id: int
    area_code: str
    area_name: str
    period_kind: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    language: str
    status: str
    scheduled: bool
    empty: bool
    generated_at: dt.datetime
    generated_by: str | None
    published_at: dt.datetime | None
    published_by: str | None

    @staticmethod
    def resolve_area_code(obj) -> str:
        return obj.area.code

    @staticmethod
    def resolve_area_name(obj) -> str:
        return obj.area.name

    @staticmethod
    def resolve_empty(obj) -> bool:
        return bool(obj.data.get("empty"))

    @staticmethod
    def resolve_generated_by(obj) -> str | None:
        return obj.generated_by.username if obj.generated_by else None

    @staticmethod
    def resolve_published_by(obj) -> str | None:
        return obj.published_by.username if obj.published_by else None


class ReportDetailOut(ReportOut):
    data: dict

    @staticmethod
    def resolve_data(obj) -> dict:
        return obj.data


class ReportIn(Schema):
    area: str
    period: str
    language: str = "zh-hans"


ERRS = {403: ErrorOut, 422: ErrorOut}


@router.get("/indicators", response={200: dict, 422: ErrorOut},
            summary="Live indicators (ReportData) for an area and period; the current period is allowed")
def indicators(request, area: str | None = None, period: str | None = None, language: str = "zh-hans"):
    return selectors.dashboard(request.user, area_code=area, period=period, language=language)


@router.get("/reports", response=list[ReportOut], summary="Stored reports the caller may see")
@paginate(BoundedPage)
def report_list(request, status: str | None = None, period: str | None = None, area: str | None = None):
    qs = selectors.reports_for(request.user)
    if status:
        qs = qs.filter(status=status)
    if period:
        qs = qs.filter(period_label=period)
    if area:
        qs = qs.filter(area__code=area)
    return qs


@router.post("/reports", response={201: ReportDetailOut, **ERRS},
             summary="Generate (or regenerate a draft of) the report of an area and a finished period")
def report_generate(request, data: ReportIn):
    report = services.generate_report(request.user, area_code=data.area, period=data.period, language=data.language)
    return Status(201, report)


@router.get("/reports/{report_id}", response=ReportDetailOut, summary="One stored report with its frozen data")
def report_detail(request, report_id: int):
    return selectors.report_get(request.user, report_id)


@router.post("/reports/{report_id}/publish", response={200: ReportOut, **ERRS}, summary="Publish a draft report")
def report_publish(request, report_id: int):
    report = selectors.report_get(request.user, report_id)
    return services.publish_report(request.user, report)


def _download(request, report_id: int, kind: str) -> HttpResponse:
    from . import render  # lazy: the renderer module is written separately

    report = selectors.report_get(request.user, report_id)
    name = f"report-{report.area.code}-{report.period_label}-{report.language}"
    if kind == "pdf":
        resp = HttpResponse(render.render_pdf(report.data, status=report.status), content_type="application/pdf")
    elif kind == "xlsx":
        resp = HttpResponse(render.render_xlsx(report.data, status=report.status),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        doc = render.render_html(report.data, status=report.status)
        resp = allow_document_styles(HttpResponse(doc, content_type="text/html; charset=utf-8"), doc)  # CSP: its styles by hash
    disposition = "inline" if kind == "html" else "attachment"
    resp["Content-Disposition"] = f'{disposition}; filename="{name}.{kind}"'
    return resp


@router.get("/reports/{report_id}/pdf", summary="Download the report as PDF")
def report_pdf(request, report_id: int):
    return _download(request, report_id, "pdf")


@router.get("/reports/{report_id}/xlsx", summary="Download the report as XLSX")
def report_xlsx(request, report_id: int):
    return _download(request, report_id, "xlsx")


@router.get("/reports/{report_id}/html", summary="The report as a standalone HTML page")
def report_html(request, report_id: int):
    return _download(request, report_id, "html")
