"""Data exchange API (mounted at /api/exchange/): destinations, outbox, batches, send log, re-send,
import schedules (docs/domain §3.5, §10; docs/exchange.md).

Access: data officers (platform admins, permission ``exchange.manage_exchange``) read and write;
regulators read the destinations overlapping their area (records of their own elevators only);
everyone else 403. Errors: 401 / 403 / 404 (out of scope = missing) / 422 ``{"detail", "errors":
{field: [reason]}}``. The auth token of a destination is write-only: no response contains it.
"""

import datetime as dt

from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from liftsafe.core.pagination import BoundedPage

from . import selectors, services
from .models import ImportFile

router = Router(tags=["exchange"])


class DestinationOut(Schema):
    id: int
    name: str
    kind: str
    adapter: str
    endpoint_url: str
    has_token: bool
    enabled: bool
    batch_size: int
    rate_limit_per_min: int
    timeout_s: float
    record_types: list[str]
    area_code: str | None
    watermark: dt.datetime | None

    @staticmethod
    def resolve_has_token(obj) -> bool:
        return bool(obj.auth_token)

    @staticmethod
    def resolve_area_code(obj) -> str | None:
        return obj.area.code if obj.area_id else None


class DestinationIn(Schema):
    name: str
    kind: str
    adapter: str
    endpoint_url: str
    auth_token: str = ""
    enabled: bool = True
    batch_size: int | None = None
    rate_limit_per_min: int | None = None
    timeout_s: float | None = None
    record_types: list[str] = ["case"]
    area_code: str | None = None


class DestinationPatch(Schema):
    name: str | None = None
    endpoint_url: str | None = None
    auth_token: str | None = None
    clear_token: bool = False
    enabled: bool | None = None
    batch_size: int | None = None
    rate_limit_per_min: int | None = None
    timeout_s: float | None = None
    record_types: list[str] | None = None
    area_code: str | None = None


class RecordOut(Schema):
    id: int
    destination_id: int
    record_type: str
    object_id: int
    version: int
    record_key: str
    idempotency_key: str
    status: str
    attempts: int
    last_error: str
    batch_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    payload: dict


class RecordFilter(Schema):
    destination: int | None = None
    status: str | None = None
    record_type: str | None = None
    q: str = ""


class BatchOut(Schema):
    id: int
    destination_id: int
    destination_name: str
    idempotency_key: str
    record_type: str
    status: str
    solo: bool
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    resend_of_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @staticmethod
    def resolve_destination_name(obj) -> str:
        return obj["destination_name"] if isinstance(obj, dict) else obj.destination.name


class ItemOut(Schema):
    record_id: int
    record_key: str
    idempotency_key: str
    result: str
    reason: str
    record_status: str


class LogOut(Schema):
    id: int
    batch_id: int
    destination_id: int
    destination_name: str
    attempt: int
    started_at: dt.datetime
    duration_ms: int
    http_status: int | None
    error_class: str
    records: int
    accepted: int
    rejected: int
    response_excerpt: str


class BatchDetailOut(BatchOut):
    items: list[ItemOut]
    logs: list[LogOut]


class LogFilter(Schema):
    destination: int | None = None
    errors: bool = False


class BatchFilter(Schema):
    destination: int | None = None
    status: str | None = None


class ScheduleOut(Schema):
    id: int
    name: str
    mapping: str
    drop_dir: str
    file_glob: str
    enabled: bool
    last_file_sha: str
    last_checked_at: dt.datetime | None


class ScheduleIn(Schema):
    name: str
    mapping: str
    drop_dir: str
    file_glob: str = "*.csv"
    enabled: bool = True


class RunOut(Schema):
    id: int
    status: str
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    report_csv: str


class FileOut(Schema):
    file_name: str
    sha256: str
    status: str
    error: str
    seen_at: dt.datetime
    run: RunOut | None


class ScheduleDetailOut(ScheduleOut):
    files: list[FileOut]


def _log_rows(user, qs) -> list[dict]:
    show = selectors.shows_excerpts(user)
    return [{**{f: getattr(x, f) for f in ("id", "batch_id", "destination_id", "attempt", "started_at", "duration_ms",
                                           "http_status", "error_class", "records", "accepted", "rejected")},
             "destination_name": x.destination.name, "response_excerpt": x.response_excerpt if show else ""} for x in qs]


def _dest_fields(data) -> dict:
    d = data.dict(exclude_unset=False)
    area = d.pop("area_code", None)
    fields = {k: v for k, v in d.items() if v is not None and k != "clear_token"}
    if area is not None:
        fields["area"] = area or None
    return fields


def _shown(user, d):
    d.endpoint_url = selectors.endpoint_shown(user, d)  # regulators: host only (instance is never saved)
    return d


@router.get("/destinations", response=list[DestinationOut], summary="Destinations (data officers; regulators: overlapping their area)")
def destination_list(request):
    return [_shown(request.user, d) for d in selectors.destinations_for(request.user)]


@router.post("/destinations", response={201: DestinationOut}, summary="Create a destination (data officers)")
def destination_create(request, data: DestinationIn):
    selectors.access(request.user)
    return Status(201, services.destination_create(request.user, **_dest_fields(data)))


@router.get("/destinations/{destination_id}", response=DestinationOut, summary="One destination (the token is never shown)")
def destination_detail(request, destination_id: int):
    return _shown(request.user, selectors.destination_get(request.user, destination_id))


@router.patch("/destinations/{destination_id}", response=DestinationOut,
              summary="Change a destination (data officers); a blank auth_token keeps the stored one")
def destination_update(request, destination_id: int, data: DestinationPatch):
    d = selectors.destination_get(request.user, destination_id)
    fields = _dest_fields(data)
    if "area" not in fields and data.area_code == "":
        fields["area"] = None
    return services.destination_update(request.user, d, clear_token=data.clear_token, **fields)


@router.get("/records", response=list[RecordOut], summary="Outbox records, newest first, with filters")
@paginate(BoundedPage)
def record_list(request, filters: Query[RecordFilter]):
    f = filters.dict()
    dest_id = f.pop("destination", None)
    dest = selectors.destination_get(request.user, dest_id) if dest_id else None
    return selectors.records_for(request.user, dest, **f)


@router.get("/batches", response=list[BatchOut], summary="Batches, newest first")
@paginate(BoundedPage)
def batch_list(request, filters: Query[BatchFilter]):
    dest = selectors.destination_get(request.user, filters.destination) if filters.destination else None
    return selectors.batches_for(request.user, dest, status=filters.status)


@router.get("/batches/{batch_id}", response=BatchDetailOut, summary="One batch: its records with per-record results, and its send log")
def batch_detail(request, batch_id: int):
    b = selectors.batch_get(request.user, batch_id)
    items = [{"record_id": i.record_id, "record_key": i.record.record_key, "idempotency_key": i.record.idempotency_key,
              "result": i.result, "reason": i.reason, "record_status": i.record.status} for i in selectors.batch_items(request.user, b)]
    out = {f: getattr(b, f) for f in BatchOut.model_fields if f != "destination_name"}
    return {**out, "destination_name": b.destination.name, "items": items, "logs": _log_rows(request.user, selectors.logs_for(request.user, batch=b))}


@router.post("/batches/{batch_id}/resend", response={201: BatchOut}, summary="Re-send a batch on demand (data officers)")
def batch_resend(request, batch_id: int):
    b = selectors.batch_get(request.user, batch_id)
    return Status(201, services.resend_batch(request.user, b))


@router.post("/resend-failed", response={201: list[BatchOut]},
             summary="Re-send every failed batch, optionally of one destination (data officers)")
def resend_failed(request, destination: int | None = None):
    selectors.access(request.user)
    dest = selectors.destination_get(request.user, destination) if destination else None
    return Status(201, services.resend_failed(request.user, dest))


@router.get("/logs", response=list[LogOut], summary="Send log (every HTTP attempt), newest first")
@paginate(BoundedPage)
def log_list(request, filters: Query[LogFilter]):
    dest = selectors.destination_get(request.user, filters.destination) if filters.destination else None
    return _log_rows(request.user, selectors.logs_for(request.user, dest, errors_only=filters.errors)[:5000])


@router.get("/schedules", response=list[ScheduleOut], summary="Inbound import schedules (data officers)")
def schedule_list(request):
    return list(selectors.schedules_for(request.user))


@router.post("/schedules", response={201: ScheduleOut}, summary="Create an import schedule (data officers)")
def schedule_create(request, data: ScheduleIn):
    return Status(201, services.schedule_create(request.user, **data.dict()))


def _file_rows(files) -> list[dict]:
    return [{"file_name": f.file_name, "sha256": f.sha256, "status": f.status, "error": f.error, "seen_at": f.seen_at,
             "run": f.run} for f in files]


@router.get("/schedules/{schedule_id}", response=ScheduleDetailOut, summary="One import schedule with its files and import runs")
def schedule_detail(request, schedule_id: int):
    s = selectors.schedule_get(request.user, schedule_id)
    return {**{f: getattr(s, f) for f in ScheduleOut.model_fields}, "files": _file_rows(selectors.schedule_files(request.user, s)[:200])}


@router.post("/schedules/{schedule_id}/run", response=list[FileOut], summary="Import the new files of the drop directory now")
def schedule_run(request, schedule_id: int):
    s = selectors.schedule_get(request.user, schedule_id)
    services.require_data_officer(request.user)
    files: list[ImportFile] = services.run_schedule(s, user=request.user)
    return _file_rows(files)
