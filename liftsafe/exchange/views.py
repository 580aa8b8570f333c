"""Pages of the exchange app (thin: selectors and services do the work).

Access: data officers manage; regulators read (destinations overlapping their area); everyone else
403 (the role check comes before the object lookup; an object out of scope is 404). The loopback
receiver (:func:`loopback`) is a stand-in national / provincial platform for the demo, enabled only
with ``settings.DEBUG`` or ``LIFTSAFE_DEMO=1``.
"""
from __future__ import annotations

import json
import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from liftsafe.core.errors import add_service_error
from liftsafe.core.models import Area

from . import selectors, services
from .adapters import ADAPTERS, adapter_choices
from .models import Batch, Destination, ImportFile, OutboxRecord, RecordType


def _labelled(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """Outbox counts as ``(status, translated label, n)`` for badges."""
    labels = dict(OutboxRecord.Status.choices)
    return [(k, str(labels.get(k, k)), n) for k, n in counts.items()]


def _errors(request, exc: Exception) -> None:
    """A service error as page messages, each field named by its label and values by their translated label
    (the one page helper, :func:`liftsafe.core.errors.add_service_error`)."""
    add_service_error(request, exc, Destination, ImportFile, Batch, OutboxRecord)


def _ctx(request, **kw) -> dict:
    return {"is_officer": services.is_data_officer(request.user), **kw}


def _officer(request) -> None:
    selectors.access(request.user)  # 403 for roles without exchange access
    services.require_data_officer(request.user)


@login_required
def destination_list(request):
    dests = list(selectors.destinations_for(request.user))
    officer = services.is_data_officer(request.user)
    for d in dests:  # outbox counts span the destination's whole area: data officers only
        d.counts = selectors.destination_counts(d) if officer else None
    return render(request, "exchange/destinations.html", _ctx(request, destinations=dests))


def _form_ctx(request, d: Destination | None, form) -> dict:
    return _ctx(request, d=d, form=form, kinds=Destination.Kind.choices, adapters=adapter_choices(),
                record_types=RecordType.choices, areas=Area.objects.filter(level__in=["country", "province", "city", "district"])
                .order_by("path")[:500])


def _posted(p) -> dict:
    fields = {k: p.get(k, "").strip() for k in ("name", "kind", "adapter", "endpoint_url", "batch_size", "rate_limit_per_min", "timeout_s")}
    fields["enabled"] = p.get("enabled") in ("1", "on", "true")
    fields["record_types"] = p.getlist("record_types")
    fields["auth_token"] = p.get("auth_token", "")
    fields["area"] = p.get("area") or None
    t = fields["timeout_s"]
    try:
        fields["timeout_s"] = float(t) if t else None
    except ValueError:
        raise ValidationError({"timeout_s": [_("Enter a number of seconds.")]})
    return {k: v for k, v in fields.items() if v not in (None, "") or k in ("area", "record_types", "enabled")}


@login_required
def destination_new(request):
    _officer(request)
    if request.method == "POST":
        try:
            d = services.destination_create(request.user, **_posted(request.POST))
            messages.success(request, _("Destination created."))
            return redirect(d)
        except ValidationError as exc:
            _errors(request, exc)
    return render(request, "exchange/destination_form.html", _form_ctx(request, None, request.POST or {"enabled": "on", "record_types": ["case"]}))


@login_required
def destination_detail(request, pk: int):
    selectors.access(request.user)
    d = selectors.destination_get(request.user, pk)
    ctx = _ctx(request, d=d, endpoint=selectors.endpoint_shown(request.user, d), counts=_labelled(selectors.destination_counts(d)) if services.is_data_officer(request.user) else None,
               batches=selectors.batches_for(request.user, d)[:20], logs=selectors.logs_for(request.user, d)[:20],
               adapter=ADAPTERS.get(d.adapter), show_excerpts=selectors.shows_excerpts(request.user))
    return render(request, "exchange/destination_detail.html", ctx)


@login_required
def destination_edit(request, pk: int):
    selectors.access(request.user)
    d = selectors.destination_get(request.user, pk)
    services.require_data_officer(request.user)
    if request.method == "POST":
        try:
            fields = _posted(request.POST)
            fields.pop("kind", None)
            d = services.destination_update(request.user, d, clear_token=request.POST.get("clear_token") == "on", **fields)
            messages.success(request, _("Saved."))
            return redirect(d)
        except ValidationError as exc:
            _errors(request, exc)
        form = request.POST
    else:
        form = {"name": d.name, "kind": d.kind, "adapter": d.adapter, "endpoint_url": d.endpoint_url, "enabled": "on" if d.enabled else "",
                "batch_size": d.batch_size, "rate_limit_per_min": d.rate_limit_per_min, "timeout_s": d.timeout_s,
                "record_types": d.record_types, "area": str(d.area_id or "")}
    return render(request, "exchange/destination_form.html", _form_ctx(request, d, form))


@login_required
def outbox(request):
    selectors.access(request.user)
    g = request.GET
    dest = selectors.destination_get(request.user, int(g["destination"])) if g.get("destination", "").isdigit() else None
    qs = selectors.records_for(request.user, dest, status=g.get("status") or None, record_type=g.get("record_type") or None,
                               q=g.get("q", "").strip())
    page = Paginator(qs, 50).get_page(g.get("page"))
    page.object_list = list(page.object_list)  # evaluated once: the labels set below stay on the rows shown
    selectors.attach_record_links(request.user, page.object_list)
    return render(request, "exchange/outbox.html", _ctx(request, page=page, filters=g, destinations=selectors.destinations_for(request.user),
                                                        statuses=OutboxRecord.Status.choices, record_types=RecordType.choices))


@login_required
def send_log(request):
    selectors.access(request.user)
    g = request.GET
    dest = selectors.destination_get(request.user, int(g["destination"])) if g.get("destination", "").isdigit() else None
    qs = selectors.logs_for(request.user, dest, errors_only=g.get("errors") in ("1", "on"))
    page = Paginator(qs, 50).get_page(g.get("page"))
    batches = selectors.batches_for(request.user, dest, status=g.get("batch_status") or None)[:50]
    return render(request, "exchange/log.html", _ctx(request, page=page, filters=g, destinations=selectors.destinations_for(request.user),
                                                     batches=batches, batch_statuses=Batch.Status.choices,
                                                     show_excerpts=selectors.shows_excerpts(request.user)))


@login_required
def batch_detail(request, pk: int):
    selectors.access(request.user)
    b = selectors.batch_get(request.user, pk)
    items = list(selectors.batch_items(request.user, b))
    selectors.attach_record_links(request.user, [i.record for i in items])
    return render(request, "exchange/batch_detail.html", _ctx(request, b=b, items=items,
                                                              logs=selectors.logs_for(request.user, batch=b),
                                                              show_excerpts=selectors.shows_excerpts(request.user),
                                                              resends=b.resends.all()))


@login_required
@require_POST
def resend_failed(request):
    """Re-send every failed batch (data officers); ``destination`` (POST) limits it to one destination."""
    selectors.access(request.user)
    dest_id = request.POST.get("destination") or ""
    try:
        dest = selectors.destination_get(request.user, int(dest_id)) if dest_id.isdigit() else None
        new = services.resend_failed(request.user, dest)
        messages.success(request, _("%(n)s failed batches queued for re-sending.") % {"n": len(new)})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("exchange:log")


@login_required
@require_POST
def batch_resend(request, pk: int):
    selectors.access(request.user)
    b = selectors.batch_get(request.user, pk)
    try:
        new = services.resend_batch(request.user, b)
        if new.pk == b.pk:
            messages.success(request, _("The batch is due now; the worker sends it within seconds."))
        else:
            messages.success(request, _("Re-send queued as batch #%(id)s; the worker sends it within seconds.") % {"id": new.pk})
            return redirect(new)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect(b)


@login_required
def schedule_list(request):
    _officer(request)
    return render(request, "exchange/schedules.html", _ctx(request, schedules=selectors.schedules_for(request.user)))


@login_required
def schedule_new(request):
    _officer(request)
    from liftsafe.registry.importer import available_mappings

    form = request.POST or {"file_glob": "*.csv", "enabled": "on"}
    if request.method == "POST":
        p = request.POST
        try:
            s = services.schedule_create(request.user, name=p.get("name", ""), mapping=p.get("mapping", ""), drop_dir=p.get("drop_dir", "").strip(),
                                         file_glob=p.get("file_glob", ""), enabled=p.get("enabled") == "on")
            messages.success(request, _("Import schedule created."))
            return redirect(s)
        except ValidationError as exc:
            _errors(request, exc)
    return render(request, "exchange/schedule_form.html", _ctx(request, form=form, mappings=available_mappings(),
                                                               import_dir=services.drop_root()))


@login_required
def schedule_detail(request, pk: int):
    _officer(request)
    s = selectors.schedule_get(request.user, pk)
    files = list(selectors.schedule_files(request.user, s)[:100])
    for f in files:
        f.report_head = "\n".join(f.run.report_csv.splitlines()[:51]) if f.run and f.run.report_csv else ""
    return render(request, "exchange/schedule_detail.html", _ctx(request, s=s, files=files,
                                                                 open_runs=selectors.schedule_open_runs(request.user, s)))


@login_required
@require_POST
def schedule_run(request, pk: int):
    _officer(request)
    s = selectors.schedule_get(request.user, pk)
    files = services.run_schedule(s, user=request.user)
    ok = sum(1 for f in files if f.status == ImportFile.Status.IMPORTED)
    messages.success(request, _("%(n)s new file(s), %(ok)s imported.") % {"n": len(files), "ok": ok})
    return redirect(s)


# --------------------------------------------------------------------------- demo loopback receiver
def loopback_enabled() -> bool:
    """The loopback receiver answers only in debug mode or under ``liftsafe demo`` (``LIFTSAFE_DEMO=1``)."""
    return bool(settings.DEBUG) or os.environ.get("LIFTSAFE_DEMO", "").strip().lower() in {"1", "true", "yes", "on"}


@csrf_exempt
@require_POST
def loopback(request, kind: str):
    """A stand-in receiver speaking the documented contracts (docs/exchange.md), for the demo.

    ``kind``: ``national`` (JSON ``{"records": [...]}``) or ``provincial`` (the CSV profile). It
    needs ``Authorization: Bearer <token>`` of an enabled destination of that kind, and rejects
    rows failing the basic checks of :func:`liftsafe.exchange.adapters.national.check_case_row`
    with the reason. 404 unless :func:`loopback_enabled`.
    """
    from .adapters.national import check_case_row
    from .adapters.provincial_csv import parse_csv

    if not loopback_enabled() or kind not in ("national", "provincial"):
        raise Http404("no loopback receiver")
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    import hmac

    # one answer for a missing, unknown, disabled or other-kind token, compared in constant time (no oracle)
    known = Destination.objects.filter(kind=kind, enabled=True).exclude(auth_token="").values_list("auth_token", flat=True)
    ok = any([hmac.compare_digest(token.encode(), t.encode()) for t in known]) if token else False
    if not ok:
        return JsonResponse({"code": 401, "message": "unauthorized", "results": []}, status=401)
    try:
        if kind == "provincial":
            rows = parse_csv(request.body)
        else:
            rows = json.loads(request.body.decode("utf-8"))["records"]
            if not isinstance(rows, list):
                raise ValueError("records is not a list")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        return JsonResponse({"code": 400, "message": f"unreadable body: {exc}", "results": []}, status=400)
    results = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            results.append({"row": n, "status": "rejected", "reason": "not an object"})
            continue
        if "device_id" in row:  # elevator register rows
            reason = "" if (row.get("registration_code") or row.get("equipment_code") or row.get("rescue_code")) else "no identity code"
            item = {"device_id": row["device_id"]}
        else:
            reason = check_case_row(row)
            item = {"row": n, "order_number": row.get("order_number")} if kind == "provincial" else {"fault_id": row.get("fault_id")}
        item.update({"status": "rejected", "reason": reason} if reason else {"status": "ok"})
        results.append(item)
    bad = sum(1 for r in results if r["status"] != "ok")
    return JsonResponse({"code": 0 if not bad else 1, "message": "ok" if not bad else f"{bad} of {len(results)} rejected",
                         "results": results})
