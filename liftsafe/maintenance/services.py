"""Maintenance writes: plan, check-in, item results, check-out, offline submission, countersign, chain.

Every write is ``visit_<action>``: validates fully, one transaction, server-side times and users only
(the phone's clock is kept as ``claimed_started_at`` and never used for who-did-what-when).
Errors (liftsafe.core.errors): ``ValidationError`` {field: [reason]} (nothing written), ``NotFound``
(missing or outside the caller's scope), ``PermissionDenied`` (the role may not), ``Conflict`` (state).
Sources: docs/domain §5 (T5002), §15.1 (on-site proof, countersignature, overdue), §15.3 (working days).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core import permissions
from liftsafe.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry.selectors import current_contracts, scope_elevators
from liftsafe.rules import rule

from . import catalogue, domain
from .models import Certificate, Visit, VisitPhoto

RESULT_CODES = ("normal", "adjusted", "abnormal", "skipped")
CLOCK_SKEW = dt.timedelta(minutes=5)


# --------------------------------------------------------------------------- helpers
def _now():
    return timezone.now()


def _elevator_for(user, elevator_id: int) -> Elevator:
    e = scope_elevators(scope_of(user)).filter(pk=elevator_id).first()
    if e is None:
        raise NotFound(_("elevator not found"))
    return e


def _visit_for(user, visit_id: int, *, lock: bool = False) -> Visit:
    qs = scope_elevators(scope_of(user), Visit.objects.all(), prefix="elevator__")
    if lock:
        qs = qs.select_for_update()
    v = qs.filter(pk=visit_id).select_related("elevator").first()
    if v is None:
        raise NotFound(_("visit not found"))
    return v


def _own_unit(user, visit: Visit) -> None:
    prof = getattr(user, "profile", None)
    if prof is None or prof.organisation_id != visit.maintenance_unit_id:
        raise PermissionDenied(_("only the maintenance unit of this visit may do this"))


def _annex(elevator: Elevator) -> str:
    annex = catalogue.annex_for_category(elevator.category)
    if annex is None:
        raise ValidationError({"elevator": [_("no T5002 annex applies to this equipment category")]})
    return annex


def _cert_valid(user_id: int | None, on: dt.date) -> bool:
    return user_id is not None and Certificate.objects.filter(user_id=user_id, valid_from__lte=on, valid_until__gte=on).exists()


def _flags(v: Visit) -> list[str]:
    e = v.elevator
    day = timezone.localdate(v.checked_in_at or v.claimed_started_at or _now())
    return domain.evidence_flags(domain.Evidence(
        checked_in_at=v.checked_in_at, checked_out_at=v.checked_out_at,
        location=(v.latitude, v.longitude) if v.latitude is not None and v.longitude is not None else None,
        lift_location=(e.latitude, e.longitude) if e.latitude is not None and e.longitude is not None else None,
        devices=(v.device_id, v.worker2_device_id), second_worker=v.worker2_id is not None,
        certificates_valid=tuple(_cert_valid(w, day) for w in (v.worker1_id, v.worker2_id) if w is not None) or (False,),
        received_at=v.received_at, claimed_started_at=v.claimed_started_at))


def code_tail(code: str) -> str:
    """The lift code a typed rescue code or a QR payload (a URL or text) ends with; "" for nothing."""
    code = (code or "").strip()
    return code.rstrip("/").rsplit("/", 1)[-1].rsplit("=", 1)[-1] if code else ""


def _code_matches(e: Elevator, code: str) -> bool:
    """A typed rescue code, or a QR payload (a URL or text) ending with the rescue, registration or equipment code."""
    tail = code_tail(code)
    return bool(tail) and any(c and tail == c for c in (e.rescue_code, e.registration_code, e.equipment_code))


def _workers(user, worker2_id: int | None, unit_id: int):
    if worker2_id is None:
        return None
    if worker2_id == user.pk:
        raise ValidationError({"worker2": [_("the second worker must be another person")]})
    w2 = get_user_model().objects.filter(pk=worker2_id, profile__organisation_id=unit_id, is_active=True).first()
    if w2 is None:
        raise ValidationError({"worker2": [_("not a worker of this maintenance unit")]})
    return w2


def _validate_location(lat, lon, acc):
    errs = {}
    if lat is not None and not -90 <= lat <= 90:
        errs["latitude"] = [_("must be between -90 and 90")]
    if lon is not None and not -180 <= lon <= 180:
        errs["longitude"] = [_("must be between -180 and 180")]
    if acc is not None and acc < 0:
        errs["accuracy_m"] = [_("must not be negative")]
    if (lat is None) != (lon is None):
        errs["latitude"] = [_("latitude and longitude go together")]
    if errs:
        raise ValidationError(errs)


def _clean_results(v: Visit, results: dict) -> dict:
    """Validate ``{code: {"r", "note", "action", "value"}}`` against the lift's annex and the visit's tier."""
    if not isinstance(results, dict):
        raise ValidationError({"results": [_("expected an object of item results")]})
    items = catalogue.item_map(_annex(v.elevator), v.tier)
    out, errs = {}, {}
    for code, res in results.items():
        key = f"results.{code}"
        item = items.get(code)
        if item is None:
            errs[key] = [_("item %(code)s is not in this lift's checklist (annex %(annex)s, %(tier)s)")
                         % {"code": code, "annex": _annex(v.elevator), "tier": v.get_tier_display()}]
            continue
        if not isinstance(res, dict) or res.get("r") not in RESULT_CODES:
            errs[key] = [_("result must be one of: normal, adjusted, abnormal, skipped")]
            continue
        note, action = str(res.get("note") or "")[:500], str(res.get("action") or "")[:500]
        if res["r"] == "abnormal" and not (note and action):
            errs[key] = [_("an abnormal item needs a note and what was done")]
            continue
        if res["r"] == "skipped" and not item.optional:
            errs[key] = [_("only items a lift may lack can be skipped")]
            continue
        value = res.get("value")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
                errs[key] = [_("measurement must be a number")]
                continue
            if not item.unit:
                errs[key] = [_("this item takes no measurement")]
                continue
        out[code] = {"r": res["r"], "note": note, "action": action, "value": value}
    if errs:
        raise ValidationError(errs)
    return out


def _assert_open(v: Visit, *states):
    if v.frozen:
        raise ValidationError({"frozen": [_("this record is countersigned and frozen; record a correction instead")]})
    if v.state not in states:
        raise Conflict({"state": [_("not possible in state %(state)s") % {"state": v.get_state_display()}]})


# --------------------------------------------------------------------------- monitoring flow
def visit_open(*, elevator_id: int, at: dt.datetime) -> bool:
    """Handler of ``monitoring.maintenance_visit_open``: True while a visit of the elevator is checked in
    at ``at`` and not checked out (alarms are then suppressed like in inspection mode)."""
    return Visit.objects.filter(Q(checked_out_at__isnull=True) | Q(checked_out_at__gt=at), elevator_id=elevator_id,
                                checked_in_at__isnull=False, checked_in_at__lte=at).exists()


# --------------------------------------------------------------------------- plan
@dataclass
class PlanResult:
    created: int = 0
    existing: int = 0
    calendar_unknown_years: set[int] = field(default_factory=set)


def completed_visits(elevator_ids) -> dict[int, list[tuple[dt.date, str]]]:
    """``{elevator_id: [(checked-out local date, tier), …]}`` of completed (checked-out or countersigned) visits."""
    out: dict[int, list] = {}
    for eid, at, tier in Visit.objects.filter(elevator_id__in=list(elevator_ids), checked_out_at__isnull=False) \
            .values_list("elevator_id", "checked_out_at", "tier"):
        out.setdefault(eid, []).append((timezone.localdate(at), tier))
    return out


def visit_plan(unit: Organisation, *, today: dt.date | None = None) -> PlanResult:
    """Plan the next visit of every lift ``unit`` holds a current contract for (idempotent job).

    For each lift without an open (planned / checked-in) visit: the tiers' due dates
    (:func:`domain.next_due`); if one falls within ``maintenance_plan_horizon_days``, a visit of the
    deepest tier due by then is planned on the last working day on or before the due date (never
    after: docs/domain §15.1), not before ``today``. Running it twice creates nothing new.
    ``calendar_unknown_years``: years the official calendar does not cover (weekends-only fallback).
    """
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=rule("maintenance_plan_horizon_days"))
    res = PlanResult()
    contracts = current_contracts(today).filter(maintenance_unit=unit).select_related("elevator")
    contracts = contracts.exclude(elevator__status="scrapped")
    by_elev = {c.elevator_id: c for c in contracts}
    done = completed_visits(by_elev)
    open_ids = set(Visit.objects.filter(elevator_id__in=list(by_elev), state__in=[Visit.State.PLANNED, Visit.State.CHECKED_IN])
                   .values_list("elevator_id", flat=True))
    with transaction.atomic():
        for eid, c in by_elev.items():
            if eid in open_ids:
                res.existing += 1
                continue
            due = domain.next_due(done.get(eid, []), start=max(c.start_date, today))
            first_due = min(due.values())
            if first_due > horizon:
                continue
            tier = domain.tier_due(due, max(first_due, today))
            wd = domain.working_day_on_or_before(max(first_due, today), not_before=today)
            if not wd.calendar_known:
                res.calendar_unknown_years.add(wd.day.year)
            Visit.objects.create(elevator_id=eid, maintenance_unit=unit, tier=tier, planned_date=wd.day)
            res.created += 1
    return res


# --------------------------------------------------------------------------- the visit
def visit_check_in(user, visit_id: int, *, code: str, method: str = "rescue_code", worker2_id: int | None = None,
                   device_id: str = "", latitude: float | None = None, longitude: float | None = None,
                   accuracy_m: float | None = None) -> Visit:
    """Check in on site: ``code`` is the typed rescue code or the scanned QR payload; server time, this user.

    Raises: ValidationError ``code`` (does not match the lift), ``worker2``, ``latitude``…; Conflict ``state``.
    """
    if method not in Visit.Method.values:
        raise ValidationError({"method": [_("must be qr or rescue_code")]})
    _validate_location(latitude, longitude, accuracy_m)
    with transaction.atomic():
        v = _visit_for(user, visit_id, lock=True)
        permissions.require(user, "visit.check_in")
        _own_unit(user, v)
        _assert_open(v, Visit.State.PLANNED)
        if not _code_matches(v.elevator, code):
            raise ValidationError({"code": [_("this code is not the lift of this visit")]})
        w2 = _workers(user, worker2_id, v.maintenance_unit_id)
        v.worker1, v.worker2 = user, w2
        v.checked_in_at, v.checked_in_by, v.check_in_method = _now(), user, method
        v.device_id = (device_id or "")[:64]
        v.latitude, v.longitude, v.accuracy_m = latitude, longitude, accuracy_m
        v.state = Visit.State.CHECKED_IN
        v.flags = _flags(v)
        v.save()
    return v


def visit_join(user, visit_id: int, *, device_id: str = "") -> Visit:
    """The second worker confirms presence from their own phone (``device_id``); same device as the first → flag."""
    with transaction.atomic():
        v = _visit_for(user, visit_id, lock=True)
        permissions.require(user, "visit.check_in")
        _assert_open(v, Visit.State.CHECKED_IN)
        if v.worker2_id != user.pk:
            raise PermissionDenied(_("only the visit's second worker may confirm"))
        v.worker2_device_id = (device_id or "")[:64]
        v.flags = _flags(v)
        v.save()
    return v


def visit_record_items(user, visit_id: int, results: dict) -> Visit:
    """Add or replace item results (merged by item code) while checked in.

    Raises: ValidationError ``results.<code>`` naming the item (not in the lift's annex/tier, bad result,
    abnormal without note and action, measurement not a number); Conflict ``state``; ``frozen``.
    """
    with transaction.atomic():
        v = _visit_for(user, visit_id, lock=True)
        permissions.require(user, "visit.record_items")
        _own_unit(user, v)
        _assert_open(v, Visit.State.CHECKED_IN)
        merged = dict(v.results)
        merged.update(_clean_results(v, results))
        v.results = merged
        v.abnormal_count = sum(1 for r in merged.values() if r["r"] == "abnormal")
        v.save()
    return v


def visit_check_out(user, visit_id: int) -> Visit:
    """Check out (server time); computes the evidence flags (never blocking)."""
    with transaction.atomic():
        v = _visit_for(user, visit_id, lock=True)
        permissions.require(user, "visit.check_out")
        _own_unit(user, v)
        _assert_open(v, Visit.State.CHECKED_IN)
        v.checked_out_at, v.checked_out_by, v.state = _now(), user, Visit.State.CHECKED_OUT
        v.received_at = v.received_at or v.checked_out_at
        v.flags = _flags(v)
        v.save()
    return v


def visit_submit_offline(user, *, client_id: str, elevator_id: int, tier: str, started_at: dt.datetime,
                         code: str, method: str = "rescue_code", worker2_id: int | None = None, device_id: str = "",
                         latitude: float | None = None, longitude: float | None = None, accuracy_m: float | None = None,
                         results: dict | None = None) -> tuple[Visit, bool]:
    """A whole visit recorded offline, sent when the signal returns; idempotent by ``client_id``
    (sent three times → one visit; returns ``(visit, created)``).

    The server stamps ``checked_in_at``/``checked_out_at``/``received_at`` with its own time of receipt;
    the phone's ``started_at`` is kept as ``claimed_started_at``. A start in the future is refused
    (``started_at``); a start long ago is accepted and flagged ``back_filled``.
    """
    e = _elevator_for(user, elevator_id)  # out of scope: 404 before anything else
    permissions.require(user, "visit.submit_offline")
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise ValidationError({"client_id": [_("required, at most 64 characters")]})
    existing = Visit.objects.filter(client_id=client_id).first()
    if existing is not None:
        if existing.checked_in_by_id != user.pk:
            raise ValidationError({"client_id": [_("this submission id is already used")]})
        return existing, False
    now = _now()
    if timezone.is_naive(started_at):
        raise ValidationError({"started_at": [_("needs a time zone")]})
    if started_at > now + CLOCK_SKEW:
        raise ValidationError({"started_at": [_("a visit cannot start in the future")]})
    if tier not in catalogue.TIERS:
        raise ValidationError({"tier": [_("unknown tier")]})
    if method not in Visit.Method.values:
        raise ValidationError({"method": [_("must be qr or rescue_code")]})
    _validate_location(latitude, longitude, accuracy_m)
    unit_id = user.profile.organisation_id
    if not current_contracts(timezone.localdate(started_at)).filter(elevator=e, maintenance_unit_id=unit_id).exists():
        raise PermissionDenied(_("your unit had no contract for this lift on that date"))
    if not _code_matches(e, code):
        raise ValidationError({"code": [_("this code is not the lift of this visit")]})
    w2 = _workers(user, worker2_id, unit_id)
    try:
        with transaction.atomic():
            v = Visit(elevator=e, maintenance_unit_id=unit_id, tier=tier, planned_date=timezone.localdate(started_at),
                      worker1=user, worker2=w2, checked_in_at=now, checked_in_by=user, check_in_method=method,
                      device_id=(device_id or "")[:64], latitude=latitude, longitude=longitude, accuracy_m=accuracy_m,
                      client_id=client_id, claimed_started_at=started_at, received_at=now)
            v.results = _clean_results(v, results or {})
            v.abnormal_count = sum(1 for r in v.results.values() if r["r"] == "abnormal")
            v.checked_out_at, v.checked_out_by, v.state = now, user, Visit.State.CHECKED_OUT
            v.flags = _flags(v)
            v.save()
    except Exception:
        again = Visit.objects.filter(client_id=client_id, checked_in_by=user).first()
        if again is not None:  # a concurrent duplicate won the unique client_id
            return again, False
        raise
    return v, True


PHOTO_TYPES = {"jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n", "webp": None}


def _is_image(head: bytes, ext: str) -> bool:
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return head.startswith(PHOTO_TYPES[ext])


def visit_add_photo(user, visit_id: int, upload, *, item: str = "") -> VisitPhoto:
    """Attach a photo while checked in (``upload``: an UploadedFile). JPEG, PNG or WebP by extension AND content;
    size ≤ rule ``maintenance_photo_max_bytes``.

    Raises: ValidationError ``file`` (not an image, wrong content, empty, too large), ``item`` (not in the
    checklist); Conflict ``state``; ``frozen``."""
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in PHOTO_TYPES:
        raise ValidationError({"file": [_("only JPEG, PNG or WebP photos are accepted")]})
    size = upload.size or 0
    if not size:
        raise ValidationError({"file": [_("the file is empty")]})
    if size > rule("maintenance_photo_max_bytes"):
        raise ValidationError({"file": [_("the photo is %(mb).1f MB; the limit is %(max).1f MB") % {
            "mb": size / 1048576, "max": rule("maintenance_photo_max_bytes") / 1048576}]})
    upload.seek(0)
    if not _is_image(upload.read(16), ext):
        raise ValidationError({"file": [_("the content of %(name)s is not an image") % {"name": name}]})
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        v = _visit_for(user, visit_id, lock=True)
        permissions.require(user, "visit.record_items")
        _own_unit(user, v)
        _assert_open(v, Visit.State.CHECKED_IN)
        if item and item not in catalogue.item_map(_annex(v.elevator), v.tier):
            raise ValidationError({"item": [_("item %(code)s is not in this lift's checklist") % {"code": item}]})
        photo = VisitPhoto(visit=v, item=item, sha256=digest.hexdigest(), size=size, uploaded_by=user)
        photo.file.save(name, upload, save=False)
        photo.save()
    return photo


# --------------------------------------------------------------------------- countersign, freeze, chain
HASH_FIELDS = ("id", "elevator_id", "maintenance_unit_id", "tier", "planned_date", "worker1_id", "worker2_id",
               "checked_in_at", "checked_in_by_id", "check_in_method", "device_id", "worker2_device_id", "latitude",
               "longitude", "accuracy_m", "checked_out_at", "checked_out_by_id", "results", "abnormal_count", "flags",
               "client_id", "claimed_started_at", "received_at", "countersigned_by_id", "countersigned_at",
               "corrects_id", "chain_seq", "prev_hash")


def content_hash(v: Visit) -> str:
    """sha256 (hex) of the canonical JSON of :data:`HASH_FIELDS` plus the sorted photo hashes (times in UTC
    ISO 8601, keys sorted)."""
    def norm(x):
        if isinstance(x, dt.datetime):
            return x.astimezone(dt.timezone.utc).isoformat()
        if isinstance(x, dt.date):
            return x.isoformat()
        return x
    body = {f: norm(getattr(v, f)) for f in HASH_FIELDS}
    body["photos"] = sorted(VisitPhoto.objects.filter(visit_id=v.pk).values_list("sha256", flat=True))
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def visit_countersign(user, visit_id: int) -> Visit:
    """The use unit's safety manager countersigns; the record is frozen and chained.

    Only a use-unit account of **that lift's** use unit (docs/domain §15.1: signing on behalf is fraud).
    Raises: PermissionDenied (another role, or another organisation); Conflict ``state`` (not checked out;
    countersigned twice).
    """
    with transaction.atomic():
        v = _visit_for(user, visit_id)
        permissions.require(user, "visit.countersign")
        Elevator.objects.select_for_update().filter(pk=v.elevator_id).first()  # serialises the lift's chain
        v = Visit.objects.select_for_update().select_related("elevator").get(pk=v.pk)
        prof = getattr(user, "profile", None)
        if prof is None or v.elevator.use_unit_id is None or prof.organisation_id != v.elevator.use_unit_id:
            raise PermissionDenied(_("only the lift's own use unit may countersign"))
        if v.frozen or v.state == Visit.State.COUNTERSIGNED:
            raise Conflict({"state": [_("this visit is already countersigned")]})
        if v.state != Visit.State.CHECKED_OUT:
            raise Conflict({"state": [_("only a checked-out visit can be countersigned")]})
        prev = Visit.objects.filter(elevator_id=v.elevator_id, frozen=True).order_by("-chain_seq").first()
        v.countersigned_by, v.countersigned_at = user, _now()
        v.state = Visit.State.COUNTERSIGNED
        v.chain_seq = (prev.chain_seq if prev else 0) + 1
        v.prev_hash = prev.content_hash if prev else ""
        v.content_hash = content_hash(v)
        v.frozen = True
        v.save()
    return v


@dataclass
class ChainReport:
    elevator_id: int
    ok: bool
    checked: int
    broken_at: int | None = None  # chain_seq of the first bad link
    visit_id: int | None = None
    reason: str = ""


def verify_chain(elevator: Elevator) -> ChainReport:
    """Recompute every frozen visit's hash of ``elevator`` in chain order; the first mismatch, a gap in
    ``chain_seq`` or a ``prev_hash`` not equal to the previous link's hash breaks the chain."""
    prev_hash, n = "", 0
    for v in Visit.objects.filter(elevator=elevator, frozen=True).order_by("chain_seq").iterator():
        n += 1
        if v.chain_seq != n:
            return ChainReport(elevator.pk, False, n - 1, n, v.pk, "gap in the chain")
        if v.prev_hash != prev_hash:
            return ChainReport(elevator.pk, False, n - 1, n, v.pk, "previous hash does not match")
        if content_hash(v) != v.content_hash:
            return ChainReport(elevator.pk, False, n - 1, n, v.pk, "content changed after freezing")
        prev_hash = v.content_hash
    return ChainReport(elevator.pk, True, n)


def visit_correct(user, visit_id: int) -> Visit:
    """Start a correction of a frozen visit: a new planned visit of the same lift and tier linked by ``corrects``."""
    v = _visit_for(user, visit_id)
    permissions.require(user, "visit.check_in")
    _own_unit(user, v)
    if not v.frozen:
        raise Conflict({"state": [_("only a frozen record is corrected by a new record; edit this one")]})
    return Visit.objects.create(elevator=v.elevator, maintenance_unit=v.maintenance_unit, tier=v.tier,
                                planned_date=timezone.localdate(), corrects=v)
