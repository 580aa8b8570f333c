"""Pages of the elevator file: the file, a section's CSV/XLSX, the PDF dossier. 404 when the lift is outside the
caller's scope (like a missing one) and when a section is unknown or not visible to the caller."""
from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from liftsafe.core import exports, panels
from liftsafe.core.errors import NotFound
from liftsafe.registry.selectors import elevator_get

from .pdf import dossier_pdf as render_dossier


def file_sections(user, elevator) -> list[tuple[panels.Panel, dict]]:
    """``[(panel, context)]`` of the sections ``user`` may see for ``elevator`` (the page, the dossier)."""
    return panels.contexts(user, elevator)


@login_required
@require_GET
def elevator_file(request, pk: int):
    """The whole file of one lift: a table of contents and every visible section, each with its export links."""
    started = time.perf_counter()
    elevator = elevator_get(request.user, pk)
    sections = []
    for panel, ctx in file_sections(request.user, elevator):
        html = render_to_string(panel.template, {"elevator": elevator, "panel": panel, **ctx}, request=request)
        sections.append({"panel": panel, "html": html})
    return render(request, "efile/file.html", {"e": elevator, "sections": sections,
                                                "elapsed_ms": round((time.perf_counter() - started) * 1000)})


def _section(user, pk: int, key: str):
    elevator = elevator_get(user, pk)
    panel = panels.get(key)
    if panel is None or panel.export is None or panel.context(user, elevator) is None:
        raise NotFound("section not found")
    headers, rows = panel.export(user, elevator)
    return elevator, panel, [headers, *rows]


@login_required
@require_GET
def section_csv(request, pk: int, key: str):
    """One section's rows as CSV (exactly the rows the section shows)."""
    elevator, panel, rows = _section(request.user, pk, key)
    return exports.csv_response(rows, f"elevator-{elevator.pk}-{panel.key}.csv", stream=False)


@login_required
@require_GET
def section_xlsx(request, pk: int, key: str):
    """One section's rows as XLSX (exactly the rows the section shows)."""
    elevator, panel, rows = _section(request.user, pk, key)
    return exports.xlsx_response(rows, f"elevator-{elevator.pk}-{panel.key}.xlsx", sheet_title=panel.key, stream=False)


@login_required
@require_GET
def dossier_pdf(request, pk: int):
    """The whole file as a PDF dossier (every visible section's rows), for printing."""
    elevator = elevator_get(request.user, pk)
    sections = []
    for panel, _ctx in file_sections(request.user, elevator):
        table = panel.export(request.user, elevator) if panel.export else None
        sections.append((str(panel.title), table))
    resp = HttpResponse(render_dossier(elevator, sections, viewer=request.user.get_username()), content_type="application/pdf")
    resp["Content-Disposition"] = f'inline; filename="elevator-{elevator.pk}-dossier.pdf"'
    return resp
