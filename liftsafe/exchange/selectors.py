"""Exchange reads, scoped to the caller.

Who sees what (decided for issue 6, documented in docs/exchange.md):

- data officers (platform admins, users with ``exchange.manage_exchange``): every destination,
  record, batch, send-log entry and import schedule;
- regulators: READ-ONLY the destinations whose area overlaps theirs (a destination without an
  area, covering their area, or inside it), their batches and send log — and of the records only
  those of elevators in the regulator's own scope (a city-wide destination does not show a
  district regulator another district's cases); receiver response excerpts are hidden from them;
  no import schedules;
- everyone else: ``PermissionDenied`` (403) on every exchange page and API operation.

Out of scope = ``Http404``, like missing.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.registry.selectors import scope_elevators

from .models import Batch, BatchItem, Destination, ImportFile, ImportSchedule, OutboxRecord, SendLog
from .services import is_data_officer


def access(user) -> str:
    """``"officer"`` (manage), ``"viewer"`` (regulator: read in its area).

    Raises:
        PermissionDenied: anyone else.
    """
    if is_data_officer(user):
        return "officer"
    require(user, "exchange.view")  # a regulator (always scoped to an area, core.scoping): read in its area
    return "viewer"


def destinations_for(user) -> QuerySet[Destination]:
    """Destinations ``user`` may see (raises PermissionDenied for roles without exchange access)."""
    qs = Destination.objects.select_related("area")
    if access(user) == "officer":
        return qs
    path = scope_of(user).area_path
    ancestors = [path[: i + 1] for i, ch in enumerate(path) if ch == "/"]
    return qs.filter(Q(area__isnull=True) | Q(area__path__startswith=path) | Q(area__path__in=ancestors))


def destination_get(user, pk: int) -> Destination:
    obj = destinations_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("destination not found")
    return obj


def records_for(user, destination: Destination | None = None, *, status: str | None = None, record_type: str | None = None,
                q: str = "") -> QuerySet[OutboxRecord]:
    """Outbox records of visible destinations; regulators only those of elevators in their scope."""
    qs = OutboxRecord.objects.filter(destination__in=destinations_for(user)).select_related("destination", "batch")
    if access(user) != "officer":
        qs = scope_elevators(scope_of(user), qs, prefix="elevator__")
    if destination is not None:
        qs = qs.filter(destination=destination)
    if status:
        qs = qs.filter(status=status)
    if record_type:
        qs = qs.filter(record_type=record_type)
    if q:
        qs = qs.filter(Q(record_key__icontains=q) | Q(idempotency_key__icontains=q))
    return qs.order_by("-created_at", "-pk")


def batches_for(user, destination: Destination | None = None, *, status: str | None = None) -> QuerySet[Batch]:
    """Batches of visible destinations; regulators only batches holding at least one record of an elevator
    in their scope (a shared national or city-wide destination does not show another district's batches)."""
    qs = Batch.objects.filter(destination__in=destinations_for(user)).select_related("destination")
    if access(user) != "officer":
        mine = scope_elevators(scope_of(user), OutboxRecord.objects.all(), prefix="elevator__")
        qs = qs.filter(pk__in=BatchItem.objects.filter(record__in=mine).values("batch_id"))
    if destination is not None:
        qs = qs.filter(destination=destination)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def batch_get(user, pk: int) -> Batch:
    obj = batches_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("batch not found")
    return obj


def batch_items(user, batch: Batch) -> QuerySet[BatchItem]:
    """The batch's records with their per-record results (regulators: their elevators only)."""
    qs = BatchItem.objects.filter(batch=batch).select_related("record")
    if access(user) != "officer":
        qs = scope_elevators(scope_of(user), qs, prefix="record__elevator__")
    return qs.order_by("pk")


def logs_for(user, destination: Destination | None = None, *, errors_only: bool = False, batch: Batch | None = None) -> QuerySet[SendLog]:
    """Send-log entries of visible destinations; regulators only those of the batches they may see."""
    qs = SendLog.objects.filter(destination__in=destinations_for(user)).select_related("destination", "batch")
    if access(user) != "officer":
        qs = qs.filter(batch__in=batches_for(user).values("pk"))
    if destination is not None:
        qs = qs.filter(destination=destination)
    if batch is not None:
        qs = qs.filter(batch=batch)
    if errors_only:
        qs = qs.filter(Q(http_status__isnull=True) | ~Q(error_class="") | Q(rejected__gt=0) | ~Q(http_status__range=(200, 299)))
    return qs.order_by("-started_at", "-pk")


def attach_record_links(user, records) -> None:
    """Give each outbox record of ``records`` (a page, a list) ``display_label`` and ``display_url`` for the pages.

    ``display_label``: a case record's order number (处置单号), an elevator record's registration code (注册代码;
    the stored ``record_key`` when the object is gone or has no code). ``display_url``: the case / elevator page
    when ``user`` may see it (scoped by :func:`liftsafe.emergency.selectors.scope_cases` /
    :func:`liftsafe.registry.selectors.scope_elevators`), else ``None``. At most one query per record type,
    whatever the number of records (no N+1).
    """
    from django.db.models import Exists, OuterRef
    from django.urls import reverse

    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.emergency.selectors import scope_cases
    from liftsafe.registry.models import Elevator

    records = list(records)
    scope = scope_of(user)
    found: dict[tuple[str, int], tuple[str, str | None]] = {}
    kinds = (
        ("case", EmergencyCase, "order_number", lambda qs: scope_cases(scope, qs), "emergency:case_detail"),
        ("elevator", Elevator, "registration_code", lambda qs: scope_elevators(scope, qs), "registry:elevator_detail"),
    )
    for record_type, model, field, scoped, url_name in kinds:
        ids = {r.object_id for r in records if r.record_type == record_type}
        if not ids:
            continue
        visible = scoped(model.objects.filter(pk=OuterRef("pk"))).values("pk")
        for pk, label, seen in (model.objects.filter(pk__in=ids).annotate(_seen=Exists(visible))
                                .values_list("pk", field, "_seen")):
            found[(record_type, pk)] = (label, reverse(url_name, args=[pk]) if seen else None)
    for r in records:
        label, url = found.get((r.record_type, r.object_id), ("", None))
        r.display_label = label or r.record_key
        r.display_url = url


def shows_excerpts(user) -> bool:
    """Receiver response excerpts may name records of other areas: data officers only."""
    return is_data_officer(user)


def endpoint_shown(user, destination: Destination) -> str:
    """The endpoint as ``user`` may see it: the full URL for data officers, the host only for regulators."""
    if is_data_officer(user):
        return destination.endpoint_url
    from urllib.parse import urlsplit

    return urlsplit(destination.endpoint_url).hostname or ""


def destination_counts(destination: Destination) -> dict[str, int]:
    from django.db.models import Count

    rows = OutboxRecord.objects.filter(destination=destination).order_by().values("status").annotate(n=Count("pk"))
    return {r["status"]: r["n"] for r in rows}


def schedules_for(user) -> QuerySet[ImportSchedule]:
    """Import schedules: data officers only (PermissionDenied otherwise)."""
    if access(user) != "officer":
        raise PermissionDenied(_("Only data officers may see import schedules."))
    return ImportSchedule.objects.all()


def schedule_get(user, pk: int) -> ImportSchedule:
    obj = schedules_for(user).filter(pk=pk).first()
    if obj is None:
        raise Http404("schedule not found")
    return obj


def schedule_files(user, schedule: ImportSchedule) -> QuerySet[ImportFile]:
    schedules_for(user)
    return ImportFile.objects.filter(schedule=schedule).select_related("run").order_by("-seen_at", "-pk")


def schedule_open_runs(user, schedule: ImportSchedule, limit: int = 20):
    """Import runs of the schedule's mapping that have no file record yet: running now, or interrupted
    (their process ended; marked by ``registry.interrupted_imports``), newest first."""
    from liftsafe.registry.models import ImportRun

    schedules_for(user)
    linked = ImportFile.objects.filter(run__isnull=False).values("run_id")
    return list(ImportRun.objects.filter(mapping=schedule.mapping, dry_run=False)
                .filter(Q(status=ImportRun.Status.RUNNING) | Q(status=ImportRun.Status.FAILED, error=ImportRun.INTERRUPTED))
                .exclude(pk__in=linked).order_by("-started_at")[:limit])
