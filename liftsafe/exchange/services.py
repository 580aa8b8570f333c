"""Exchange writes: destinations, the outbox (enqueue, send, re-send) and scheduled imports.

Who: *data officers* — platform administrators and users holding the permission
``exchange.manage_exchange`` (:func:`is_data_officer`). Everyone else gets ``PermissionDenied``.
The periodic jobs (:mod:`liftsafe.exchange.tasks`) call :func:`enqueue_changed`,
:func:`send_due` and :func:`run_schedule` as the platform (no user).

Errors: ``ValidationError({field: [message]})`` for bad input (nothing written),
``PermissionDenied`` for a caller who is not a data officer.

Sending (:func:`send_due`), per destination and call:

1. at most ``rate_limit_per_min`` attempts in any 60 s (counted in :class:`SendLog`);
2. batches due for a retry first, then new batches of pending records (records that must go
   alone first, one per batch; then up to ``batch_size`` records of one type);
3. a batch is claimed with a lease (``next_attempt_at`` moved past the timeout) so two workers
   never send it at once; the POST runs outside any transaction;
4. outcome: 2xx/400/422 with a reply → per-record results (a record the reply does not name follows
   the reply's ``code``); a 200 with a non-zero ``code`` and no per-record results, other statuses,
   timeouts (overall deadline), connection errors, a reply over ``exchange_max_reply_bytes`` or an
   unreadable 2xx reply → the whole batch is retried with exponential backoff (rule
   ``exchange_retry_base_s`` doubling, capped at ``exchange_retry_max_s``). Transport-class failures
   (:func:`_is_transport`: no reply, 5xx, 429, too slow, too large, and a "busy" 200 — non-zero
   ``code``, no per-record results) never finalise a batch; after ``exchange_max_attempts`` explicit
   refusals (other 4xx, an unreadable 2xx reply) the batch and its records are ``failed``. The result is
   recorded only while the worker still holds the batch's lease; one call stops after ``exchange_send_budget_s``;
5. a record rejected in a batch of several is retried alone; rejected again alone, it is
   ``rejected`` with the receiver's reason and reported (notification to the destination's creator).
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import httpx
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.models import Area
from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.permissions import allowed, require
from liftsafe.rules import rule

from .adapters import ADAPTERS, get_adapter
from .models import (BATCH_REJECTED, REPLY_BUSY, REPLY_REFUSED, Batch, BatchItem, Destination, ImportFile, ImportSchedule,
                     OutboxRecord, RecordType, SendLog)

log = logging.getLogger(__name__)


def overlap() -> dt.timedelta:
    """Look-back before the watermark, rule ``exchange_watermark_overlap_s`` (liftsafe design): a write
    committed late with an older ``updated_at`` (a long registry import) is still collected; an unchanged
    record is not enqueued again (content hash), so the overlap costs a cheap re-scan only."""
    return dt.timedelta(seconds=float(rule("exchange_watermark_overlap_s")))
#: a batch being sent is leased for its timeout plus this margin
LEASE_MARGIN = dt.timedelta(seconds=30)
#: statuses whose reply carries record-level results; any other status is a transport failure (retried)
ANSWER_STATUSES = {400, 422}
ENQUEUE_CHUNK = 1000
EXCERPT = 2000


# --------------------------------------------------------------------------- permission
def is_data_officer(user) -> bool:
    """Platform administrators and users with ``exchange.manage_exchange``."""
    return user is not None and allowed(user, "exchange.manage")


def require_data_officer(user) -> None:
    """Raises PermissionDenied unless ``user`` is a data officer."""
    require(user, "exchange.manage")


# --------------------------------------------------------------------------- destinations
DEST_FIELDS = ("name", "kind", "adapter", "endpoint_url", "auth_token", "enabled", "batch_size", "rate_limit_per_min",
               "timeout_s", "record_types", "area")


def allowed_hosts() -> set[str]:
    """Setting ``LIFTSAFE_EXCHANGE_ALLOWED_HOSTS``: hosts (``host`` or ``host:port``, lower case) allowed although
    loopback, private or link-local (a receiver inside the operator's own network)."""
    from django.conf import settings

    return {str(h).strip().lower() for h in getattr(settings, "LIFTSAFE_EXCHANGE_ALLOWED_HOSTS", []) or []}


def url_problem(url: str) -> str:
    """Why ``url`` may not be a destination endpoint ('' = fine): credentials in the URL (``user:pass@``), or a
    loopback / private / link-local / unspecified host (IP literal or ``localhost``) not listed in
    :func:`allowed_hosts`. Host names are not resolved here (see docs/exchange.md)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return _("The URL must not contain a user name or password (user:pass@); use the auth token.")
    host = (parts.hostname or "").lower()
    allowed = allowed_hosts()
    try:
        port = parts.port
    except ValueError:
        return _("Enter a valid port.")
    if host in allowed or (port is not None and f"{host}:{port}" in allowed):
        return ""
    internal = host == "localhost" or host.endswith(".localhost")
    try:
        ip = ipaddress.ip_address(host)
        internal = internal or ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved \
            or ip.is_multicast
    except ValueError:
        pass
    if internal:
        return _("Host %(host)s is loopback, private or link-local; only hosts listed in LIFTSAFE_EXCHANGE_ALLOWED_HOSTS "
                 "may be used.") % {"host": host}
    return ""


def _origin(url: str) -> tuple:
    from urllib.parse import urlsplit

    p = urlsplit(url or "")
    try:
        port = p.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(p.scheme.lower())
    return (p.scheme.lower(), (p.hostname or "").lower(), port or default)


def _clean_destination(d: Destination, *, check_host: bool = True) -> None:
    errors: dict[str, list[str]] = {}

    def err(f, m):
        errors.setdefault(f, []).append(str(m))

    d.name = (d.name or "").strip()
    if not d.name:
        err("name", _("Enter a name."))
    elif Destination.objects.filter(name=d.name).exclude(pk=d.pk).exists():
        err("name", _("A destination with this name exists already."))
    if d.kind not in Destination.Kind.values:
        err("kind", _("Choose national or provincial."))
    adapter = ADAPTERS.get(d.adapter or "")
    if adapter is None:
        err("adapter", _("Unknown adapter %(key)r; known: %(known)s.") % {"key": d.adapter, "known": ", ".join(ADAPTERS)})
    elif d.kind in Destination.Kind.values and adapter.kind != d.kind:
        err("adapter", _("Adapter %(key)s is for %(kind)s destinations.") % {"key": d.adapter, "kind": adapter.kind})
    url = (d.endpoint_url or "").strip()
    d.endpoint_url = url
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        err("endpoint_url", _("Enter an http:// or https:// URL with a host."))
    else:
        problem = url_problem(url) if check_host else ""
        if problem:
            err("endpoint_url", problem)
    for f, lo, hi in (("batch_size", 1, 10000), ("rate_limit_per_min", 1, 6000)):
        v = getattr(d, f)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            err(f, _("Enter a whole number from %(lo)s to %(hi)s.") % {"lo": lo, "hi": hi})
    try:
        d.timeout_s = float(d.timeout_s)
        if not 0.1 <= d.timeout_s <= 600:
            raise ValueError
    except (TypeError, ValueError):
        err("timeout_s", _("Enter a timeout from 0.1 to 600 seconds."))
    types = d.record_types
    if not isinstance(types, list) or not types or any(t not in RecordType.values for t in types):
        err("record_types", _("Choose at least one record type of: %(types)s.") % {"types": ", ".join(RecordType.values)})
    elif adapter is not None and not set(types) <= set(adapter.record_types):
        err("record_types", _("Adapter %(key)s sends only: %(types)s.") % {"key": adapter.key, "types": ", ".join(adapter.record_types)})
    if d.area_id is not None and not Area.objects.filter(pk=d.area_id).exists():
        err("area", _("This area does not exist."))
    if len(d.auth_token or "") > 255:
        err("auth_token", _("The token is longer than 255 characters."))
    if errors:
        raise ValidationError(errors)


def _to_int(value, f: str):
    if value is None or isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValidationError({f: [_("Enter a whole number.")]})


def _apply(d: Destination, fields: dict) -> None:
    unknown = set(fields) - set(DEST_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("Unknown field.")]})
    for f, v in fields.items():
        if f == "auth_token" and v in (None, ""):
            continue  # write-only: blank keeps the stored token (clear_token=True clears it)
        if f in ("batch_size", "rate_limit_per_min"):
            v = _to_int(v, f)
        if f == "area":
            if v is not None and not isinstance(v, Area):
                area = Area.objects.filter(code=str(v)).first() or (Area.objects.filter(pk=v).first() if str(v).isdigit() else None)
                if area is None:
                    raise ValidationError({"area": [_("Area %(code)s does not exist.") % {"code": v}]})
                v = area
        setattr(d, f, v)


def destination_create(user, **fields) -> Destination:
    """Create a destination (data officers only).

    Fields: ``name``, ``kind`` (national|provincial), ``adapter`` (key of
    :data:`~liftsafe.exchange.adapters.ADAPTERS`, for that kind), ``endpoint_url`` (http/https),
    ``auth_token`` (write-only), ``enabled``, ``batch_size`` (1-10000), ``rate_limit_per_min``
    (1-6000), ``timeout_s`` (0.1-600), ``record_types`` (subset of the adapter's), ``area``
    (Area, its code or id; None = every elevator).

    Raises:
        PermissionDenied: not a data officer.
        ValidationError: ``{field: [reason]}``.
    """
    require_data_officer(user)
    d = Destination(created_by=user if getattr(user, "pk", None) else None)
    fields.setdefault("record_types", ["case"])
    _apply(d, fields)
    _clean_destination(d)
    with transaction.atomic():
        save_with_history(d, user, encode("core.created"))
    return d


def destination_update(user, destination: Destination, *, clear_token: bool = False, **fields) -> Destination:
    """Change a destination's settings (same fields and errors as :func:`destination_create`); a blank
    ``auth_token`` keeps the stored one, ``clear_token=True`` removes it.

    A new scheme, host or port of ``endpoint_url`` clears the stored token (it must never go to another
    server): give a new ``auth_token`` with it; an enabled destination without one is refused with
    ``{"auth_token": [...]}``.
    """
    require_data_officer(user)
    d = Destination.objects.get(pk=destination.pk)
    before, before_url = _origin(d.endpoint_url), d.endpoint_url
    _apply(d, fields)
    if clear_token:
        d.auth_token = ""
    # the host rules apply to a new URL; an unchanged one was accepted before (e.g. the demo's loopback receiver)
    _clean_destination(d, check_host=(d.endpoint_url or "").strip() != before_url)
    if _origin(d.endpoint_url) != before and not (fields.get("auth_token") or "").strip():
        d.auth_token = ""
        if d.enabled:
            raise ValidationError({"auth_token": [_("The endpoint's host changed: enter the token for the new host "
                                                    "(the stored one is never sent elsewhere).")]})
    with transaction.atomic():
        save_with_history(d, user, encode("core.updated"))
    return d


# --------------------------------------------------------------------------- enqueue
def _in_area(qs, area: Area | None, prefix: str = ""):
    return qs if area is None else qs.filter(**{f"{prefix}area__path__startswith": area.path})


def _comparable(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "operation"}


def content_hash(payload: dict) -> str:
    """SHA-256 (hex) of the mapped payload without ``operation`` (canonical JSON)."""
    import json

    raw = json.dumps(_comparable(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _store(dest: Destination, record_type: str, rows: list[tuple[int, int | None, dict]], adapter) -> int:
    """Enqueue ``rows`` ``(object id, elevator id, payload)``: a new version where the payload changed."""
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    latest: dict[int, tuple[int, str, int]] = {}
    # one query per chunk, reading the stored hash only (not the payloads): a re-scan stays cheap
    for pk, oid, version, h in (OutboxRecord.objects.filter(destination=dest, record_type=record_type, object_id__in=ids)
                                .order_by("object_id", "-version").values_list("pk", "object_id", "version", "content_hash")):
        latest.setdefault(oid, (version, h, pk))
    legacy = {v[2] for v in latest.values() if not v[1]}  # rows stored before content_hash existed
    if legacy:
        hashes = {pk: content_hash(p) for pk, p in OutboxRecord.objects.filter(pk__in=legacy).values_list("pk", "payload")}
        latest = {oid: (v, h or hashes.get(pk, ""), pk) for oid, (v, h, pk) in latest.items()}
    new: list[OutboxRecord] = []
    changed: list[int] = []
    for oid, elevator_id, payload in rows:
        prev = latest.get(oid)
        h = content_hash(payload)
        if prev is not None and prev[1] == h:
            continue
        version = 1 if prev is None else prev[0] + 1
        payload = {**payload, "operation": "UPLOAD" if version == 1 else "UPDATE"}  # docs/domain §1.6 operation type
        if prev is not None:
            changed.append(oid)
        new.append(OutboxRecord(destination=dest, record_type=record_type, object_id=oid, version=version,
                                elevator_id=elevator_id, payload=payload, content_hash=h, record_key=adapter.record_key(record_type, payload)[:64],
                                idempotency_key=f"{record_type}:{oid}:{version}"))
    if not new:
        return 0
    with transaction.atomic():
        if changed:
            _supersede_older(dest, record_type, changed)
        created = OutboxRecord.objects.bulk_create(new, ignore_conflicts=True)
    return len(created)


def _supersede_older(dest: Destination, record_type: str, object_ids: list[int]) -> None:
    """Older not-yet-delivered versions of ``object_ids`` are ``superseded``: waiting alone, or inside a batch
    waiting for a retry (removed from that batch; a batch left empty is ``superseded``). A batch being sent
    right now keeps its items; :func:`_attempt` records nothing as sent for a superseded record."""
    old = OutboxRecord.objects.filter(destination=dest, record_type=record_type, object_id__in=object_ids,
                                      status=OutboxRecord.Status.PENDING)
    old_ids = list(old.values_list("pk", flat=True))
    if not old_ids:
        return
    batch_ids = set(old.exclude(batch__isnull=True).values_list("batch_id", flat=True))
    OutboxRecord.objects.filter(pk__in=old_ids).update(status=OutboxRecord.Status.SUPERSEDED, batch=None)
    if batch_ids:
        BatchItem.objects.filter(batch_id__in=batch_ids, record_id__in=old_ids, result="",
                                 batch__status=Batch.Status.PENDING).delete()
        for b in Batch.objects.filter(pk__in=batch_ids, status=Batch.Status.PENDING):
            if not BatchItem.objects.filter(batch=b).exists():
                Batch.objects.filter(pk=b.pk, status=Batch.Status.PENDING).update(
                    status=Batch.Status.SUPERSEDED, next_attempt_at=None)


def enqueue_changed(destination: Destination, since: dt.datetime | None = None, *, now: dt.datetime | None = None) -> int:
    """Collect the records changed since ``since`` (default: the destination's watermark; None = all)
    in the destination's area into its outbox, mapped by its adapter, and move the watermark to the
    newest ``updated_at`` actually seen (never to the clock: a row committed later with an older
    ``updated_at`` is still found by the next run).

    Cases (record type ``case``) whose ``updated_at`` is at or after ``since`` − :func:`overlap`;
    elevators (``elevator``, the register) likewise. A record whose mapped payload equals the last
    enqueued version is skipped, so the job is idempotent; a changed one becomes version n+1
    (idempotency key ``type:id:n+1``). Returns the number of records enqueued.
    """
    from liftsafe.emergency.models import EmergencyCase
    from liftsafe.registry.models import Elevator

    dest = Destination.objects.select_related("area").get(pk=destination.pk)
    adapter = get_adapter(dest.adapter)
    now = now or timezone.now()
    since = since if since is not None else dest.watermark
    types = [t for t in dest.record_types if t in adapter.record_types]
    total = 0
    seen: list[dt.datetime] = []
    if RecordType.CASE in types:
        qs = _in_area(EmergencyCase.objects.all(), dest.area, "elevator__")
        if since is not None:
            qs = qs.filter(updated_at__gte=since - overlap())
        seen.append(qs.aggregate(m=Max("updated_at"))["m"])
        total += _chunked(dest, RecordType.CASE, qs.values_list("pk", flat=True).order_by("pk"), adapter,
                          case_rows, lambda cm: (cm[0].pk, cm[0].elevator_id, adapter.map_case(cm[0], cm[1])))
    if RecordType.ELEVATOR in types:
        qs = _in_area(Elevator.objects.all(), dest.area)
        if since is not None:
            qs = qs.filter(updated_at__gte=since - overlap())
        seen.append(qs.aggregate(m=Max("updated_at"))["m"])
        total += _chunked(dest, RecordType.ELEVATOR, qs.values_list("pk", flat=True).order_by("pk"), adapter,
                          lambda pks: Elevator.objects.filter(pk__in=pks).select_related("area", "use_unit").order_by("pk"),
                          lambda e: (e.pk, e.pk, adapter.map_elevator(e)))
    newest = max([t for t in seen if t is not None] + ([dest.watermark] if dest.watermark else []), default=None)
    if newest is not None:
        newest = min(newest, now)  # a clock-skewed future updated_at must not push the watermark ahead
        Destination.objects.filter(pk=dest.pk).update(watermark=newest)  # no history row for the watermark
    return total


class MilestoneRow(NamedTuple):
    """A milestone as the adapters and :func:`liftsafe.emergency.selectors.derive` read it (no model instance)."""

    pk: int
    case_id: int
    kind: str
    at: dt.datetime
    level: int | None
    responder_id: int | None
    data: dict


def case_rows(pks: list[int]) -> list[tuple]:
    """``[(case, [MilestoneRow, …]), …]`` for ``pks`` in id order: elevator and area joined, milestones read as
    plain rows in one query (a model instance per milestone cost two thirds of the export time; bench/RESULTS.md)."""
    from liftsafe.emergency.models import EmergencyCase, Milestone

    cases = list(EmergencyCase.objects.filter(pk__in=pks).select_related("elevator__area")
                 .defer("elevator__extra", "elevator__search_address").order_by("pk"))
    ms: dict[int, list[MilestoneRow]] = {c.pk: [] for c in cases}
    for row in (Milestone.objects.filter(case_id__in=pks).order_by("at", "id")
                .values_list("id", "case_id", "kind", "at", "level", "responder_id", "data")):
        ms[row[1]].append(MilestoneRow(*row))
    return [(c, ms[c.pk]) for c in cases]


def _chunked(dest, record_type, pk_qs, adapter, load: Callable, row: Callable) -> int:
    """Page through ``pk_qs`` by id (keyset, ENQUEUE_CHUNK ids a page: a first run over a whole province never
    holds every id in memory) and store each page."""
    n, last = 0, None
    while True:
        page = pk_qs if last is None else pk_qs.filter(pk__gt=last)
        pks = list(page[:ENQUEUE_CHUNK])
        if not pks:
            return n
        last = pks[-1]
        rows = [row(obj) for obj in load(pks)]
        n += _store(dest, record_type, [r for r in rows if r[2] is not None], adapter)


# --------------------------------------------------------------------------- sending
@dataclass
class SendSummary:
    """What one :func:`send_due` call did."""

    attempts: int = 0
    accepted: int = 0
    rejected: int = 0  # final rejections (rejected alone)
    retried_alone: int = 0  # rejected in a batch of several: queued to go alone
    failed_attempts: int = 0  # transport failures (timeout, 5xx, connection)
    rate_limited: bool = False
    out_of_time: bool = False  # stopped by rule exchange_send_budget_s with work still due
    batches: list[int] = field(default_factory=list)


def backoff_s(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failed attempts: ``exchange_retry_base_s`` ×
    2^(attempts−1), capped at ``exchange_retry_max_s`` (liftsafe design rules)."""
    base, cap = float(rule("exchange_retry_base_s")), float(rule("exchange_retry_max_s"))
    return min(base * (2 ** max(attempts - 1, 0)), cap)


def _lease(dest: Destination, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=dest.timeout_s) + LEASE_MARGIN


def _new_key() -> str:
    return uuid.uuid4().hex


def _claim_retry(dest: Destination, now: dt.datetime) -> Batch | None:
    for b in Batch.objects.filter(destination=dest, status=Batch.Status.PENDING, next_attempt_at__lte=now).order_by("next_attempt_at", "pk")[:5]:
        if Batch.objects.filter(pk=b.pk, status=Batch.Status.PENDING, next_attempt_at=b.next_attempt_at).update(
                next_attempt_at=_lease(dest, now)):
            b.refresh_from_db()
            return b
    return None


def _form_batch(dest: Destination, now: dt.datetime, *, user=None) -> Batch | None:
    """A new batch of pending records not in any batch: a record that must go alone first, else up
    to ``batch_size`` records of the oldest pending record's type."""
    base = OutboxRecord.objects.filter(destination=dest, status=OutboxRecord.Status.PENDING, batch__isnull=True)
    first = base.filter(solo=True).order_by("pk").first()
    if first is not None:
        ids, solo, rtype = [first.pk], True, first.record_type
    else:
        first = base.order_by("pk").first()
        if first is None:
            return None
        rtype, solo = first.record_type, False
        ids = list(base.filter(solo=False, record_type=rtype).order_by("pk").values_list("pk", flat=True)[:dest.batch_size])
    with transaction.atomic():
        b = Batch.objects.create(destination=dest, idempotency_key=_new_key(), record_type=rtype, solo=solo,
                                 next_attempt_at=_lease(dest, now), created_by=user)
        got = OutboxRecord.objects.filter(pk__in=ids, batch__isnull=True, status=OutboxRecord.Status.PENDING).update(batch=b)
        if not got:  # another worker took them
            b.delete()
            return None
        mine = list(OutboxRecord.objects.filter(batch=b).order_by("pk").values_list("pk", flat=True))
        BatchItem.objects.bulk_create([BatchItem(batch=b, record_id=pk) for pk in mine])
    return b


def _error_class(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = f"{exc} {exc.__cause__ or ''}".lower()
        return "connection refused" if "refused" in text or "errno 111" in text else "connection error"
    return type(exc).__name__


def _post(dest: Destination, batch: Batch, body: bytes, content_type: str) -> tuple[int | None, bytes, str, float]:
    """POST one batch; returns ``(status or None, content, error class or '', seconds)``. Never raises."""
    headers = {"Content-Type": content_type, "Idempotency-Key": batch.idempotency_key, "Accept": "application/json",
               "User-Agent": "liftsafe-exchange/1"}
    if dest.auth_token:
        headers["Authorization"] = f"Bearer {dest.auth_token}"
    t0 = time.monotonic()
    deadline = t0 + dest.timeout_s
    limit = int(rule("exchange_max_reply_bytes"))
    try:
        # httpx's timeout is per read/write; a receiver trickling bytes could hold us for ever: the reply is
        # streamed and the whole request stops at the destination's timeout or at exchange_max_reply_bytes
        with httpx.Client(timeout=httpx.Timeout(dest.timeout_s), follow_redirects=False, trust_env=False) as client:
            with client.stream("POST", dest.endpoint_url, content=body, headers=headers) as resp:
                status, err, chunks, size = resp.status_code, "", [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    chunks.append(chunk)
                    if size > limit:
                        err = "reply too large"
                        break
                    if time.monotonic() > deadline:
                        err = "timeout"
                        break
                content = b"".join(chunks)[:limit]
    except httpx.HTTPError as exc:
        status, content, err = None, b"", _error_class(exc)
    except OSError as exc:  # e.g. a socket error outside httpx's own classes
        status, content, err = None, b"", type(exc).__name__
    secs = time.monotonic() - t0
    if err == "" and secs > dest.timeout_s:
        err = "timeout"  # replied, but slower than the destination allows: a failed attempt
    return status, content, err, secs


#: error class of an HTTP 2xx whose body has a non-zero ``code`` and no per-record results (``{"code": 503,
#: "message": "system busy"}``): the receiver is busy or down behind a gateway that answers 200 (BUSY), or it
#: refused the batch (REFUSED); defined with their labels in :mod:`liftsafe.exchange.models`
BUSY, REFUSED = REPLY_BUSY, REPLY_REFUSED


def _busy_code(code) -> bool:
    """Whether a status code means "busy, try later": 5xx or 429 (as int or digit string), the HTTP status of a
    reply or the ``code`` inside a 200 reply alike (one definition, used by :func:`_is_transport` too)."""
    try:
        n = int(code)
    except (TypeError, ValueError):
        return False
    return n >= 500 or n == 429


def _is_transport(status: int | None, err: str) -> bool:
    """The one rule that tells a transport-class failure from an explicit refusal, on an attempt's HTTP status
    (None: no reply) and error class, as stored in :class:`SendLog`.

    Transport-class (the receiver did not judge the batch; retried with backoff for ever, never counted towards
    rule ``exchange_max_attempts``): no reply (timeout, connection refused/error), 5xx, 429, a reply too slow or
    too large, and a "busy" 200 (:data:`BUSY`). Anything else with an error class is an explicit refusal (401,
    403, 404 …, an unreadable 2xx reply ``bad reply``); ``exchange_max_attempts`` of those finalise the batch as
    ``failed``. Design rule of liftsafe (docs/exchange.md "Sending"), not a docs/domain rule.
    """
    return (status is None or _busy_code(status) or err in ("timeout", "reply too large")
            or err.startswith(BUSY.split("{", 1)[0]))


def _explicit_refusals(batch: Batch) -> int:
    """Earlier attempts of ``batch`` that the receiver refused explicitly (see :func:`_is_transport`); attempts
    logged as ``lease lost`` without an error of their own and successful ones do not count."""
    return sum(1 for status, err in SendLog.objects.filter(batch=batch).exclude(error_class__in=("", "lease lost"))
               .values_list("http_status", "error_class") if not _is_transport(status, err))


def _attempt(dest: Destination, batch: Batch, started: dt.datetime, summary: SendSummary) -> SendLog | None:
    adapter = get_adapter(dest.adapter)
    items = list(BatchItem.objects.filter(batch=batch, record__status=OutboxRecord.Status.PENDING)
                 .select_related("record").order_by("pk"))
    if not items:  # every record of it was superseded by a newer version (sent in a newer batch)
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.PENDING).update(status=Batch.Status.SUPERSEDED,
                                                                             next_attempt_at=None)
        return None
    lease = batch.next_attempt_at
    records = [i.record for i in items]
    payloads = [r.payload for r in records]
    body = adapter.encode(batch.record_type, payloads)
    status, content, err, secs = _post(dest, batch, body, adapter.content_type)
    attempt_no = batch.attempts + 1
    excerpt = content[:EXCERPT].decode("utf-8", "replace")
    reply = None
    if not err and status is not None and (200 <= status < 300 or status in ANSWER_STATUSES):
        try:
            reply = adapter.parse_reply(batch.record_type, status, content, payloads)
        except ValueError as exc:
            if 200 <= status < 300:
                err = "bad reply"  # the receiver answered something we cannot read: try again
                excerpt = f"{exc}\n{excerpt}"[:EXCERPT]
            else:
                reply = None  # a 400/422 without the documented body: the whole batch is refused
        if reply is not None and 200 <= status < 300 and not reply.results and not reply.batch_ok:
            # HTTP 200 with {"code": 503, "message": "system busy"} and no per-record result: the receiver
            # did not judge the records. Only a busy-like code (5xx, 429) is transport-class, retried with
            # backoff; any other code (e.g. {"code": 401}) is an explicit refusal like its HTTP counterpart.
            err = BUSY.format(code=reply.code) if _busy_code(reply.code) else REFUSED.format(code=reply.code)
            reply = None
    elif not err:
        err = f"HTTP {status}"
    summary.attempts += 1
    summary.batches.append(batch.pk)
    accepted = rejected = 0
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != Batch.Status.PENDING or batch.next_attempt_at != lease:
            # our lease expired and another worker claimed the batch (or it was superseded): log only
            summary.failed_attempts += 1 if err else 0
            return SendLog.objects.create(batch=batch, destination=dest, attempt=attempt_no, started_at=started,
                                          duration_ms=int(round(secs * 1000)), http_status=status,
                                          error_class=(err or "lease lost")[:64], records=len(records),
                                          response_excerpt=excerpt)
        batch.attempts = attempt_no
        now_rec = started
        OutboxRecord.objects.filter(pk__in=[r.pk for r in records]).update(attempts=F("attempts") + 1)
        if err:
            summary.failed_attempts += 1
            # the reply text stays in the send log (shown to data officers only), never in last_error
            batch.last_error = err
            # only explicit refusals count towards exchange_max_attempts; a long outage (or a receiver that keeps
            # answering "busy") keeps retrying at the cap
            if not _is_transport(status, err) and 1 + _explicit_refusals(batch) >= int(rule("exchange_max_attempts")):
                batch.status = Batch.Status.FAILED
                batch.next_attempt_at = None
                OutboxRecord.objects.filter(pk__in=[r.pk for r in records], status=OutboxRecord.Status.PENDING).update(
                    status=OutboxRecord.Status.FAILED, last_error=batch.last_error)
                _report_failed(dest, batch)
            else:
                batch.next_attempt_at = started + dt.timedelta(seconds=backoff_s(attempt_no))
                OutboxRecord.objects.filter(pk__in=[r.pk for r in records], status=OutboxRecord.Status.PENDING).update(
                    last_error=batch.last_error, next_attempt_at=batch.next_attempt_at)
        else:
            http_ok = 200 <= (status or 0) < 300
            whole_ok = http_ok and (reply is None or reply.batch_ok)
            whole_reason = (reply.message if reply and reply.message else excerpt[:300]) or f"HTTP {status}"
            final = len(records) == 1
            # record_key is stored cut to 64 characters: match the reply's keys cut the same way
            answers = {str(k)[:64]: v for k, v in reply.results.items()} if reply else {}
            for item, rec in zip(items, records):
                ok, reason = answers.get(rec.record_key) or (whole_ok, "" if whole_ok else whole_reason)
                item.result = BatchItem.Result.OK if ok else BatchItem.Result.REJECTED
                item.reason = reason
                if ok:
                    accepted += 1
                    OutboxRecord.objects.filter(pk=rec.pk, status=OutboxRecord.Status.PENDING).update(
                        status=OutboxRecord.Status.SENT, sent_at=now_rec, last_error="")
                elif final:
                    rejected += 1
                    OutboxRecord.objects.filter(pk=rec.pk, status=OutboxRecord.Status.PENDING).update(
                        status=OutboxRecord.Status.REJECTED, last_error=reason)
                    _report_rejected(dest, rec, reason)
                else:
                    rejected += 1
                    summary.retried_alone += 1
                    OutboxRecord.objects.filter(pk=rec.pk, status=OutboxRecord.Status.PENDING).update(
                        solo=True, batch=None, last_error=reason)
            BatchItem.objects.bulk_update(items, ["result", "reason"])
            summary.accepted += accepted
            if final:
                summary.rejected += rejected
            batch.status = (Batch.Status.SENT if not rejected else
                            Batch.Status.REJECTED if not accepted else Batch.Status.PARTIAL)
            batch.sent_at = started
            batch.next_attempt_at = None
            batch.last_error = "" if not rejected else BATCH_REJECTED.format(n=rejected)  # labelled by send_error_label
        batch.save()
        entry = SendLog.objects.create(batch=batch, destination=dest, attempt=attempt_no, started_at=started,
                                       duration_ms=int(round(secs * 1000)), http_status=status, error_class=err[:64],
                                       accepted=accepted, rejected=rejected, records=len(records), response_excerpt=excerpt)
    if err:
        log.warning("exchange: %s batch %s attempt %s failed: %s (%.0f ms)", dest.name, batch.pk, attempt_no, err, secs * 1000)
    return entry


def _report_rejected(dest: Destination, rec: OutboxRecord, reason: str) -> None:
    log.warning("exchange: %s rejected %s: %s", dest.name, rec.idempotency_key, reason)
    if dest.created_by_id:
        from liftsafe.core.notifications import notify

        notify(kind="exchange.rejected", user=dest.created_by,
               subject=_("%(dest)s rejected record %(key)s") % {"dest": dest.name, "key": rec.record_key},
               body=reason, payload={"destination": dest.pk, "record": rec.pk}, dedupe_key=f"exchange:rejected:{rec.pk}")


def _report_failed(dest: Destination, batch: Batch) -> None:
    log.error("exchange: %s batch %s failed after %s attempts: %s", dest.name, batch.pk, batch.attempts, batch.last_error)
    if dest.created_by_id:
        from liftsafe.core.notifications import notify

        notify(kind="exchange.failed", user=dest.created_by,
               subject=_("%(dest)s: batch #%(id)s failed") % {"dest": dest.name, "id": batch.pk},
               body=batch.last_error, payload={"destination": dest.pk, "batch": batch.pk},
               dedupe_key=f"exchange:failed:{batch.pk}:{batch.attempts}")


def send_due(destination: Destination, now: dt.datetime | None = None) -> SendSummary:
    """Send what is due for one destination (see the module docstring for the rules).

    ``now``: the clock of this call (tests pass it to step through backoff and rate windows; default
    the real time, read again before every attempt). Returns a :class:`SendSummary`. Transport errors
    are recorded, never raised.
    """
    dest = Destination.objects.get(pk=destination.pk)
    summary = SendSummary()
    if not dest.enabled:
        return summary
    clock = (lambda: now) if now is not None else timezone.now
    t = clock()
    budget = dest.rate_limit_per_min - SendLog.objects.filter(destination=dest, started_at__gt=t - dt.timedelta(seconds=60)).count()
    # rule exchange_send_budget_s: one slow destination cannot hold the worker's job for the others
    stop_at = time.monotonic() + float(rule("exchange_send_budget_s"))
    while True:
        t = clock()
        if budget <= 0:
            summary.rate_limited = _has_due(dest, t)
            break
        if time.monotonic() >= stop_at:
            summary.out_of_time = _has_due(dest, t)
            break
        batch = _claim_retry(dest, t) or _form_batch(dest, t)
        if batch is None:
            break
        if _attempt(dest, batch, t, summary) is not None:
            budget -= 1
    return summary


def _has_due(dest: Destination, now: dt.datetime) -> bool:
    return (Batch.objects.filter(destination=dest, status=Batch.Status.PENDING, next_attempt_at__lte=now).exists()
            or OutboxRecord.objects.filter(destination=dest, status=OutboxRecord.Status.PENDING, batch__isnull=True).exists())


def resend_batch(user, batch: Batch) -> Batch:
    """Re-send ``batch`` on demand (data officers).

    A batch still waiting for a retry is made due now (same batch, same ``Idempotency-Key``). A
    finished batch (sent, partly rejected, rejected, failed) is re-sent as a NEW batch with a new
    key (the receiver must process it again), ``resend_of`` the original, holding for each of its
    objects the LATEST version only (an older version is never re-sent after a newer one), unless that
    latest version is waiting to be sent anyway; they become pending again. The next
    :func:`send_due` (the worker's job, or the page right away) sends it.

    Raises:
        PermissionDenied: not a data officer.
        ValidationError: ``{"batch": [...]}`` when nothing of it can be re-sent.
    """
    require_data_officer(user)
    now = timezone.now()
    with transaction.atomic():
        b = Batch.objects.select_for_update().get(pk=batch.pk)
        if b.status == Batch.Status.PENDING:
            b.next_attempt_at = now
            b.save(update_fields=["next_attempt_at"])
            return b
        objs = set(OutboxRecord.objects.filter(items__batch=b).values_list("record_type", "object_id"))
        latest: dict[tuple, OutboxRecord] = {}
        for r in (OutboxRecord.objects.filter(destination_id=b.destination_id, object_id__in={o for _t, o in objs})
                  .exclude(status=OutboxRecord.Status.SUPERSEDED).order_by("-version")):
            if (r.record_type, r.object_id) in objs:
                latest.setdefault((r.record_type, r.object_id), r)
        recs = sorted((r for r in latest.values() if r.status != OutboxRecord.Status.PENDING), key=lambda r: r.pk)
        if not recs:
            raise ValidationError({"batch": [_("Nothing in this batch can be re-sent (its records were superseded or are queued again).")]})
        new = Batch.objects.create(destination=b.destination, idempotency_key=_new_key(), record_type=b.record_type,
                                   solo=len(recs) == 1, next_attempt_at=now, resend_of=b,
                                   created_by=user if getattr(user, "pk", None) else None)
        BatchItem.objects.bulk_create([BatchItem(batch=new, record=r) for r in recs])
        OutboxRecord.objects.filter(pk__in=[r.pk for r in recs]).update(status=OutboxRecord.Status.PENDING, batch=new)
    return new


def resend_failed(user, destination: Destination | None = None) -> list[Batch]:
    """Re-send every ``failed`` batch (of ``destination``, or of all destinations) with :func:`resend_batch`
    (data officers). Batches with nothing left to re-send are skipped. Returns the new batches.

    Raises:
        PermissionDenied: not a data officer.
    """
    require_data_officer(user)
    qs = Batch.objects.filter(status=Batch.Status.FAILED)
    if destination is not None:
        qs = qs.filter(destination=destination)
    # only failed batches not already re-sent
    qs = qs.exclude(resends__isnull=False).order_by("pk")
    out = []
    for b in qs:
        try:
            out.append(resend_batch(user, b))
        except ValidationError:
            continue
    return out


# --------------------------------------------------------------------------- inbound schedules
SCHEDULE_FIELDS = ("name", "mapping", "drop_dir", "file_glob", "enabled")


def _clean_schedule(s: ImportSchedule) -> None:
    from liftsafe.registry.importer import available_mappings

    errors: dict[str, list[str]] = {}
    s.name = (s.name or "").strip()
    if not s.name:
        errors["name"] = [_("Enter a name.")]
    elif ImportSchedule.objects.filter(name=s.name).exclude(pk=s.pk).exists():
        errors["name"] = [_("A schedule with this name exists already.")]
    known = list(available_mappings())
    if s.mapping not in known:
        errors["mapping"] = [_("Unknown mapping %(m)r; known: %(known)s.") % {"m": s.mapping, "known": ", ".join(known)}]
    raw = (s.drop_dir or "").strip()
    root = drop_root()
    resolved = resolve_drop_dir(raw)
    if not raw:
        errors["drop_dir"] = [_("Enter a directory inside %(root)s.") % {"root": root}]
    elif resolved is None:
        errors["drop_dir"] = [_("The directory must be inside %(root)s (setting LIFTSAFE_IMPORT_DIR); %(d)s is not.")
                              % {"root": root, "d": raw}]
    elif not resolved.is_dir():
        errors["drop_dir"] = [_("Directory %(d)s does not exist.") % {"d": raw}]
    else:
        s.drop_dir = str(resolved)  # stored resolved: what was checked is what is watched
    g = (s.file_glob or "").strip()
    s.file_glob = g
    if not g or "/" in g or "\\" in g or ".." in g:
        errors["file_glob"] = [_("Enter a file pattern such as *.csv (no directories).")]
    if errors:
        raise ValidationError(errors)


def drop_root() -> Path:
    """The import drop directory (setting ``LIFTSAFE_IMPORT_DIR``, environment variable of the same name, default
    ``<data dir>/imports``), resolved; created when missing. Import schedules may only watch directories inside it."""
    from django.conf import settings

    root = Path(getattr(settings, "LIFTSAFE_IMPORT_DIR", None) or Path(settings.DATA_DIR) / "imports")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only or not ours: schedules will say the directories do not exist
        pass
    return root.resolve()


def resolve_drop_dir(value: str) -> Path | None:
    """``value`` (absolute, or relative to :func:`drop_root`) resolved (symlinks followed, ``..`` applied), or
    ``None`` when the result is outside :func:`drop_root` (``/etc``, ``../..``, a symlink leading out) or the
    text is not a usable path (NUL byte, over-long)."""
    if not value or "\x00" in value or len(value) > 1000:
        return None
    root = drop_root()
    try:
        p = Path(value)
        full = (p if p.is_absolute() else root / p).resolve()
    except (OSError, ValueError, RuntimeError):  # symlink loop, bad path
        return None
    return full if full == root or full.is_relative_to(root) else None


def _under_drop_root(p: Path) -> bool:
    return resolve_drop_dir(str(p)) is not None


def schedule_create(user, **fields) -> ImportSchedule:
    """Create an import schedule (data officers). Fields: ``name``, ``mapping`` (a mapping of
    ``liftsafe/registry/mappings/``), ``drop_dir`` (existing absolute directory), ``file_glob``,
    ``enabled``. Raises PermissionDenied / ValidationError({field: [...]})."""
    require_data_officer(user)
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("Unknown field.")]})
    s = ImportSchedule(**fields)
    _clean_schedule(s)
    s.save()
    return s


def schedule_update(user, schedule: ImportSchedule, **fields) -> ImportSchedule:
    """Change an import schedule (same fields and errors as :func:`schedule_create`)."""
    require_data_officer(user)
    unknown = set(fields) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("Unknown field.")]})
    s = ImportSchedule.objects.get(pk=schedule.pk)
    for k, v in fields.items():
        setattr(s, k, v)
    _clean_schedule(s)
    s.save()
    return s


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_schedule(schedule: ImportSchedule, *, user=None) -> list[ImportFile]:
    """Import every new file of the schedule's drop directory through
    :func:`liftsafe.registry.importer.run_import` (the foundation's importer), oldest first.

    A file whose SHA-256 was seen before by this schedule is skipped (imported or failed: a broken
    file is tried once; a corrected one has a new hash). Each new file becomes an :class:`ImportFile`
    linked to its ``ImportRun`` (counts and the rejected-rows report); a file the importer refuses
    (``ImportFileError``, ``MappingError``) is recorded as failed with the error. Returns the files
    handled now. A missing directory is logged and handled as empty.
    """
    from liftsafe.registry.importer import ImportFileError, MappingError, run_import

    s = ImportSchedule.objects.get(pk=schedule.pk)
    d = Path(s.drop_dir)
    out: list[ImportFile] = []
    if not d.is_dir():
        log.warning("exchange: import schedule %s: drop directory %s is missing", s.name, d)
        return out
    if not _under_drop_root(d):
        log.error("exchange: import schedule %s: %s is outside LIFTSAFE_IMPORT_DIR; not run", s.name, d)
        return out
    # a file still being written (modified within rule exchange_import_settle_s) waits for the next run;
    # symlinks leading out of the drop directory are not followed
    settle = float(rule("exchange_import_settle_s"))
    cutoff = time.time() - settle
    files = sorted((p for p in d.iterdir() if p.is_file() and not p.is_symlink() and fnmatch.fnmatch(p.name, s.file_glob)
                    and p.stat().st_mtime <= cutoff),
                   key=lambda p: (p.stat().st_mtime, p.name))
    seen = set(ImportFile.objects.filter(schedule=s).values_list("sha256", flat=True))
    for p in files:
        sha = _sha256(p)
        if sha in seen:
            continue
        seen.add(sha)
        try:
            run = run_import(p, s.mapping, user=user)
            f = ImportFile(schedule=s, file_name=p.name[:255], sha256=sha, status=ImportFile.Status.IMPORTED, run=run)
        except (ImportFileError, MappingError) as exc:
            f = ImportFile(schedule=s, file_name=p.name[:255], sha256=sha, status=ImportFile.Status.FAILED, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the importer recorded a failed ImportRun; keep going
            from liftsafe.registry.models import ImportRun

            run = ImportRun.objects.filter(file_sha256=sha, mapping=s.mapping).order_by("-started_at").first()
            f = ImportFile(schedule=s, file_name=p.name[:255], sha256=sha, status=ImportFile.Status.FAILED,
                           error=f"{type(exc).__name__}: {exc}", run=run)
        f.save()
        out.append(f)
        if f.status == ImportFile.Status.IMPORTED:
            ImportSchedule.objects.filter(pk=s.pk).update(last_file_sha=sha)
    ImportSchedule.objects.filter(pk=s.pk).update(last_checked_at=timezone.now())
    return out
