"""Hazard writes and their invariants (issue 5, docs/domain §7).

Every function validates fully before it writes and writes in one
transaction: nothing is half-written. Bad input raises
:class:`django.core.exceptions.ValidationError` with a dict naming the field;
a caller without the right raises :class:`~django.core.exceptions.PermissionDenied`;
an edit based on a stale ``version`` raises :class:`HazardConflict`.

Who may do what:
- regulator (in whose area the elevator is) or administrator: file, accept or
  dismiss a lead, edit, list for supervision, order stop-use, send back,
  verify and close out (销号), launch look-back campaigns, record re-checks;
- the responsible unit (a user of that organisation): start rectifying,
  upload evidence, submit — and never close out its own hazard;
- an inspection agency serving the elevator: record re-check results.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from liftsafe.core import flows
from liftsafe.core.errors import Conflict, NotFound
from liftsafe.core import flows
from liftsafe.core.history import save_with_history, stamp
from liftsafe.core.messages import encode, fit
from liftsafe.core.models import Area, Role
from liftsafe.core.permissions import require
from liftsafe.core.scoping import Scope, scope_of
from liftsafe.core.zones import local_today
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.rules import rule

from . import messages as msg
from .models import (
    LEVEL_ORDER, AuthorityLevel, Campaign, CauseClass, Evidence, Hazard, Level, Recheck, Source,
    State, StopUseOrder, raised,
)
from .workflow import EVIDENCE_STATES, HAZARD_FLOW


class HazardConflict(Conflict):
    """The hazard changed since the caller read it (optimistic concurrency); reload and redo the edit."""


RESPONSIBLE_KINDS = {Organisation.Kind.USE_UNIT, Organisation.Kind.MAINTENANCE_UNIT}
_AREA_RANK = {"country": 4, "province": 3, "city": 2, "district": 1}
_AUTH_RANK = {AuthorityLevel.PROVINCE: 3, AuthorityLevel.CITY: 2, AuthorityLevel.DISTRICT: 1}


# --------------------------------------------------------------------------- helpers
def _require_regulator(user, perm: str, action: str) -> Scope:
    """``require(user, perm)`` (a regulator's action of :data:`liftsafe.core.permissions.ACTIONS`), refused as
    "Only a regulator may <action>"."""
    require(user, perm, message=_("Only a regulator may %(action)s.") % {"action": action})
    return scope_of(user)


def _visible_elevator(user, elevator: Elevator) -> Elevator:
    from liftsafe.registry.selectors import elevator_get

    return elevator_get(user, elevator.pk)


def _lock(user, hazard: Hazard | int, version: int | None) -> Hazard:
    """Re-read ``hazard`` for update within the caller's scope and check its version."""
    from .selectors import hazards_for

    pk = hazard if isinstance(hazard, int) else hazard.pk
    if not hazards_for(user).filter(pk=pk).exists():
        raise NotFound("hazard not found")
    locked = Hazard.objects.select_for_update().select_related("elevator", "area").get(pk=pk)
    if version is not None and not str(version).strip().isdigit():  # a page posts text: never a 500
        raise ValidationError({"version": _("Reload the page: the hazard's version is missing or malformed.")})
    if version is not None and int(version) != locked.version:
        raise HazardConflict({"version": _(
            "This hazard was changed by someone else (version %(now)s, your copy %(yours)s). "
            "Reload it and make your change again; nothing was saved.") % {"now": locked.version, "yours": version}})
    return locked


def _save(hazard: Hazard, reason: str, user=None) -> Hazard:
    hazard.version += 1
    stamp(hazard, user, reason)
    hazard.full_clean()
    hazard.save()
    _changed(hazard)
    return hazard


def _changed(hazard: Hazard) -> None:
    """Tell the reacting apps a hazard of the lift opened, changed or closed (flow ``hazards.changed``)."""
    flows.send("hazards.changed", elevator_id=hazard.elevator_id, hazard_id=hazard.pk, state=hazard.state)


def _require_state(hazard: Hazard, transition: str):
    """Check ``transition`` of :data:`~liftsafe.hazards.workflow.HAZARD_FLOW` may start from the hazard's state
    (``ValidationError({"state": ...})`` otherwise); returns the transition (its ``target`` is the next state)."""
    return HAZARD_FLOW.check(transition, hazard.state, state_label=hazard.get_state_display())


def _check_deadline(deadline: dt.date | None, *, required: bool = True, area_id: int | None = None) -> None:
    """A deadline is required (``required``) and not before today in the zone of ``area_id`` (the lift's area)."""
    if deadline is None:
        if required:
            raise ValidationError({"deadline": _("A rectification deadline is required.")})
        return
    if deadline < _local_today(area_id):
        raise ValidationError({"deadline": _("The deadline %(d)s is in the past.") % {"d": deadline}})


def _check_unit(unit: Organisation | None, user=None, elevator: Elevator | None = None) -> None:
    """Check a responsible unit: required, a use or maintenance unit, and — when ``user`` is given — either
    the elevator's own use unit / current maintenance unit or an organisation in the user's scope
    (:func:`liftsafe.registry.selectors.organisations_for`). Raises ValidationError on ``responsible_unit``."""
    if unit is None:
        raise ValidationError({"responsible_unit": _("A responsible unit is required.")})
    if user is not None:
        from .selectors import responsible_unit_allowed

        if not responsible_unit_allowed(user, unit, elevator):
            raise ValidationError({"responsible_unit": _(
                "Organisation #%(id)s is not the elevator's use or maintenance unit and is outside your scope.") % {"id": unit.pk}})
    if unit.kind not in RESPONSIBLE_KINDS:
        raise ValidationError({"responsible_unit": _("%(org)s is not a use unit or a maintenance unit.") % {"org": unit}})


def _local_today(area_id: int | None, now: dt.datetime | None = None) -> dt.date:
    """Today in the zone of the area (issue 16: deadlines count in the lift's local time, ``liftsafe.core.zones``)."""
    return local_today(area_id, now)


def default_deadline(level: str, today: dt.date | None = None, *, area_id: int | None = None) -> dt.date:
    """Default rectification deadline for ``level``: today (in the zone of ``area_id``) + rule
    ``hazard_deadline_days`` (docs/domain §7 [U])."""
    today = today or _local_today(area_id)
    return today + dt.timedelta(days=int(rule("hazard_deadline_days")[level]))


def _check_level(level: str) -> None:
    if level not in Level.values:
        raise ValidationError({"level": _("Unknown level %(l)r.") % {"l": level}})


# --------------------------------------------------------------------------- filing
@transaction.atomic
def hazard_file(user, *, elevator: Elevator, source: str, title: str, level: str,
                responsible_unit: Organisation | None, deadline: dt.date | None = None, description: str = "",
                cause_class: str = "", cause_item: str = "", occurred_on: dt.date | None = None) -> Hazard:
    """File a hazard (state open). ``deadline`` None = the default for the level (rule ``hazard_deadline_days``).

    Raises:
        PermissionDenied: not a regulator. Http404: elevator out of scope.
        ValidationError: past deadline, missing/wrong responsible unit, unknown level/source/cause.
    """
    _require_regulator(user, "hazard.file", _("file a hazard"))
    elevator = _visible_elevator(user, elevator)
    _check_level(level)
    if source not in Source.values:
        raise ValidationError({"source": _("Unknown source %(s)r.") % {"s": source}})
    _check_unit(responsible_unit, user, elevator)
    deadline = deadline or default_deadline(level, area_id=elevator.area_id)
    _check_deadline(deadline, area_id=elevator.area_id)
    if cause_class and cause_class not in CauseClass.values:
        raise ValidationError({"cause_class": _("Unknown cause class %(c)r.") % {"c": cause_class}})
    hazard = Hazard(elevator=elevator, area=elevator.area, source=source, title=title.strip(), description=description,
                    level=level, responsible_unit=responsible_unit, deadline=deadline, state=State.OPEN,
                    cause_class=cause_class, cause_item=cause_item, occurred_on=occurred_on or _local_today(elevator.area_id),
                    filed_by=user, version=1)
    if not hazard.title:
        raise ValidationError({"title": _("A title is required.")})
    hazard.full_clean()
    save_with_history(hazard, user, encode(msg.FILED))
    _changed(hazard)
    return hazard


def lead_raise(*, elevator: Elevator, source: str, source_ref: str, title: str, level: str, description: str = "",
               cause_class: str = "", cause_item: str = "", occurred_on: dt.date | None = None,
               filed_at: dt.datetime | None = None, extra: dict | None = None) -> Hazard | None:
    """Raise a lead automatically (system; no user). Idempotent: returns None if ``source``/``source_ref`` exists.

    Hooks: emergency recurrence (:func:`raise_entrapment_leads`), monitoring IoT fault
    patterns (``source="iot"``), incident imports.
    """
    if not source_ref:
        raise ValidationError({"source_ref": _("An automatic lead needs a source reference.")})
    with transaction.atomic():
        if Hazard.objects.filter(source=source, source_ref=source_ref).exists():
            return None
        hazard = Hazard(elevator=elevator, area_id=elevator.area_id, source=source, source_ref=source_ref, title=title[:200],
                        description=description, level=level, state=State.LEAD, cause_class=cause_class,
                        cause_item=cause_item[:200], occurred_on=occurred_on, filed_at=filed_at or timezone.now(),
                        extra=extra or {})
        hazard.full_clean()
        return save_with_history(hazard, None, encode(msg.LEAD_RAISED))


@transaction.atomic
def lead_accept(user, hazard: Hazard, *, version: int | None, responsible_unit: Organisation | None,
                deadline: dt.date | None = None, level: str | None = None) -> Hazard:
    """Accept a lead: it becomes an open hazard with a responsible unit and a deadline."""
    _require_regulator(user, "hazard.accept", _("accept a lead"))
    h = _lock(user, hazard, version)
    t = _require_state(h, "accept")
    if level:
        _check_level(level)
        h.level = level
    _check_unit(responsible_unit, user, h.elevator)
    deadline = deadline or default_deadline(h.level, area_id=h.area_id)
    _check_deadline(deadline, area_id=h.area_id)
    h.responsible_unit, h.deadline, h.state, h.filed_by = responsible_unit, deadline, t.target, user
    return _save(h, encode(msg.LEAD_ACCEPTED), user)


@transaction.atomic
def lead_dismiss(user, hazard: Hazard, *, version: int | None, reason: str) -> Hazard:
    """Dismiss a lead that is not a hazard (reason required)."""
    _require_regulator(user, "hazard.dismiss", _("dismiss a lead"))
    h = _lock(user, hazard, version)
    t = _require_state(h, "dismiss")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for dismissing the lead.")})
    h.state, h.sent_back_reason = t.target, reason.strip()
    return _save(h, encode(msg.LEAD_DISMISSED), user)


EDITABLE = {"title", "description", "level", "deadline", "responsible_unit", "cause_class", "cause_item"}


@transaction.atomic
def hazard_update(user, hazard: Hazard, *, version: int | None, changes: dict[str, Any], reason: str = "") -> Hazard:
    """Edit a hazard's fields (``EDITABLE``) by a regulator; a stale ``version`` raises :class:`HazardConflict`."""
    _require_regulator(user, "hazard.edit", _("edit a hazard"))
    h = _lock(user, hazard, version)
    if not HAZARD_FLOW.can("edit", h.state):
        raise ValidationError({"state": _("A closed hazard cannot be edited.")})
    for field, value in changes.items():
        if field not in EDITABLE:
            raise ValidationError({field: _("This field cannot be edited here.")})
        if field == "deadline" and value != h.deadline:
            _check_deadline(value, area_id=h.area_id)
        if field == "level":
            _check_level(value)
        if field == "responsible_unit":
            _check_unit(value, user, h.elevator)
        setattr(h, field, value)
    return _save(h, reason or encode(msg.EDITED), user)


@transaction.atomic
def hazard_list(user, hazard: Hazard, *, version: int | None, authority: str) -> Hazard:
    """Put a hazard under listed supervision (挂牌督办) by an authority of ``authority`` level.

    A regulator cannot list at a level above its own area (a district cannot list for the province).
    """
    scope = _require_regulator(user, "hazard.list", _("list a hazard for supervision"))
    h = _lock(user, hazard, version)
    _require_state(h, "list")
    if authority not in AuthorityLevel.values:
        raise ValidationError({"listed_authority": _("Choose province, city or district.")})
    if not scope.is_admin:
        own = Area.objects.filter(path=scope.area_path).values_list("level", flat=True).first()
        if _AUTH_RANK[authority] > _AREA_RANK.get(own, 0):
            raise ValidationError({"listed_authority": _("A %(own)s regulator cannot list at %(auth)s level.") % {
                "own": own, "auth": authority}})
    if h.listed and h.listed_authority == authority:
        raise ValidationError({"listed_authority": _("Already listed at this level.")})
    h.listed, h.listed_authority, h.listed_at = True, authority, timezone.now()
    return _save(h, encode(msg.LISTED, level=authority), user)


# --------------------------------------------------------------------------- stop-use
def active_order(elevator: Elevator | int) -> StopUseOrder | None:
    pk = elevator if isinstance(elevator, int) else elevator.pk
    return StopUseOrder.objects.filter(elevator_id=pk, lifted_at__isnull=True).first()


def stop_use_holds(elevator_ids: list[int]) -> dict[int, str]:
    """Status-hold provider (registered in :class:`~liftsafe.hazards.apps.HazardsConfig`): an active
    stop-use order holds its elevator out of service until a verified close-out of the hazard lifts it.

    Returns ``{elevator_id: reason}`` for the held ones among ``elevator_ids`` (one query).
    """
    rows = StopUseOrder.objects.filter(elevator_id__in=elevator_ids, lifted_at__isnull=True).values_list(
        "elevator_id", "ordered_on", "hazard_id")
    return {e: _("Stop-use order of %(d)s (hazard #%(h)s) is in force; only a verified close-out of the hazard lifts it.")
            % {"d": d, "h": h} for e, d, h in rows}


@transaction.atomic
def stop_use_order(user, hazard: Hazard, *, reason: str, version: int | None = None) -> StopUseOrder:
    """Order the hazard's elevator out of use (责令停用): sets its status to stopped (lifecycle event).

    Raises:
        ValidationError: ``elevator`` already under a stop-use order; ``reason`` empty; hazard not open.
    """
    _require_regulator(user, "hazard.stop_use", _("order an elevator out of use"))
    h = _lock(user, hazard, version)
    _require_state(h, "stop-use")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the stop-use order.")})
    elevator = Elevator.objects.select_for_update().get(pk=h.elevator_id)
    if active_order(elevator) is not None:
        raise ValidationError({"elevator": _("Elevator %(e)s is already under a stop-use order.") % {"e": elevator.display_code}})
    if elevator.status == Elevator.Status.SCRAPPED:
        raise ValidationError({"elevator": _("Elevator %(e)s is scrapped.") % {"e": elevator.display_code}})
    today = _local_today(elevator.area_id)
    order = StopUseOrder.objects.create(elevator=elevator, hazard=h, reason=reason.strip(), ordered_on=today, ordered_by=user)
    if elevator.status != Elevator.Status.STOPPED:
        from liftsafe.registry.services import elevator_set_status

        elevator_set_status(user, elevator, Elevator.Status.STOPPED, on=today, reason=fit(encode(msg.STOP_USE_ORDERED, hazard=h.pk, reason=reason.strip()), 255))
    _save(h, encode(msg.ORDER_ISSUED), user)
    flows.send("hazards.stop_use_ordered", user=user, order=order)  # notices: the numbered stop-use document
    return order


# --------------------------------------------------------------------------- rectification
_RESPONSIBLE_VERBS = {"hazard.start": _l("start rectification"), "hazard.submit": _l("submit the rectification"),
                      "hazard.add_evidence": _l("upload rectification evidence")}


def _require_responsible(user, h: Hazard, perm: str) -> None:
    """``require(user, perm, h)``: the responsible unit's actions (condition registered in hazards/permissions.py)."""
    require(user, perm, h, message=_("Only the responsible unit may %(action)s.") % {"action": _RESPONSIBLE_VERBS[perm]})


@transaction.atomic
def rectification_start(user, hazard: Hazard, *, version: int | None, note: str = "") -> Hazard:
    """The responsible unit acknowledges the hazard and starts rectifying (open → rectifying)."""
    h = _lock(user, hazard, version)
    _require_responsible(user, h, "hazard.start")
    h.state = _require_state(h, "start").target
    if note:
        h.rectification_note = note
    return _save(h, encode(msg.RECTIFYING), user)


def _sniff(head: bytes, ext: str) -> bool:
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return False


def evidence_add(user, hazard: Hazard, upload, *, note: str = "") -> Evidence:
    """Attach an evidence file (``upload``: a Django UploadedFile / File with ``name`` and ``size``).

    The responsible unit uploads rectification evidence; a regulator may add a
    verification record. Type: extension in rule ``hazard_evidence_types`` and
    content matching it (magic bytes); size ≤ rule ``hazard_evidence_max_bytes``.

    Raises:
        ValidationError: ``{"file": ...}`` forbidden type, content not matching, empty or oversize.
        PermissionDenied: neither the responsible unit nor a regulator.
    """
    name, ext, size, digest = _checked_upload(upload)
    types = rule("hazard_evidence_types")
    stored = None
    try:
        with transaction.atomic():
            h = _lock(user, hazard, None)
            _require_responsible(user, h, "hazard.add_evidence")
            if scope_of(user).role == Role.REGULATOR:
                kind = Evidence.Kind.VERIFICATION
            else:
                kind = Evidence.Kind.RECTIFICATION
                if h.state not in EVIDENCE_STATES:
                    raise ValidationError({"state": _("Cannot %(action)s a hazard that is %(state)s.") % {
                        "action": _("add evidence to"), "state": h.get_state_display()}})
            ev = Evidence(hazard=h, kind=kind, original_name=name[:255], content_type=types[ext], size=size,
                          sha256=digest, note=note[:255], uploaded_by=user)
            ev.file.save(f"{h.pk}-{digest[:16]}.{ext}", upload, save=False)
            stored = ev.file.name
            ev.save()
            if h.state == State.OPEN and kind == Evidence.Kind.RECTIFICATION:
                h.state = State.RECTIFYING
            _save(h, encode(msg.EVIDENCE, name=name), user)
            return ev
    except Exception:
        if stored:
            _storage_delete(stored)
        raise


def _checked_upload(upload, field: str = "file") -> tuple[str, str, int, str]:
    """Validate an evidence upload: extension in rule ``hazard_evidence_types``, content matching it (magic bytes),
    size ≤ rule ``hazard_evidence_max_bytes``. Returns ``(name, ext, size, sha256 hex)``.
    Raises ValidationError ``{field: ...}``."""
    types = rule("hazard_evidence_types")
    max_bytes = int(rule("hazard_evidence_max_bytes"))
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in types:
        raise ValidationError({field: _("Files of type .%(ext)s are not accepted; allowed: %(ok)s.") % {
            "ext": ext or "?", "ok": ", ".join(sorted(types))}})
    size = upload.size
    if not size:
        raise ValidationError({field: _("The file is empty.")})
    if size > max_bytes:
        raise ValidationError({field: _("The file is %(mb).1f MB; the limit is %(max).1f MB.") % {
            "mb": size / 1048576, "max": max_bytes / 1048576}})
    upload.seek(0)
    head = upload.read(16)
    if not _sniff(head, ext):
        raise ValidationError({field: _("The content of %(n)s is not a .%(ext)s file.") % {"n": name, "ext": ext}})
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    return name, ext, size, digest.hexdigest()


#: most evidence files one self-report may carry
SELF_REPORT_MAX_FILES = 10


def hazard_self_report(user, *, elevator: Elevator, title: str, level: str, description: str = "",
                       occurred_on: dt.date | None = None, files=()) -> Hazard:
    """A use unit, maintenance unit or inspection agency reports a hazard it found on one of ITS lifts (自查自报,
    issue 15; docs/domain §7): the report becomes a *lead* (``source="self_report"``) for the regulator of the
    area, who accepts it (naming the responsible unit and deadline) or dismisses it through the ordinary lead
    workflow. ``files``: evidence uploads (photos / PDF, the rules of :func:`evidence_add`), at most
    :data:`SELF_REPORT_MAX_FILES`, stored as ``Evidence.Kind.REPORT``. The reporter's organisation and role are kept
    in ``extra`` (``reported_by_org``, ``reported_by_role``); ``filed_by`` is the reporting user.

    Raises:
        PermissionDenied: a role that may not self-report (regulators file, insurers only read).
        Http404: the elevator is not one the caller holds (another unit's lift looks missing).
        ValidationError: ``title`` empty / too long, ``level`` unknown, ``occurred_on`` in the future,
            ``files`` too many or one of them not an accepted photo / document.
    """
    require(user, "hazard.self_report")
    elevator = _visible_elevator(user, elevator)
    errs: dict[str, Any] = {}
    title = (title or "").strip()
    if not title:
        errs["title"] = [_("A title is required.")]
    elif len(title) > 200:
        errs["title"] = [_("At most %(n)d characters.") % {"n": 200}]
    if level not in Level.values:
        errs["level"] = [_("Unknown level %(l)r.") % {"l": level}]
    if len(description or "") > 5000:
        errs["description"] = [_("At most %(n)d characters.") % {"n": 5000}]
    today = _local_today(elevator.area_id)
    if occurred_on is not None and occurred_on > today:
        errs["occurred_on"] = [_("The date cannot be in the future.")]
    files = [f for f in (files or []) if f is not None]
    if len(files) > SELF_REPORT_MAX_FILES:
        errs["files"] = [_("At most %(n)d files.") % {"n": SELF_REPORT_MAX_FILES}]
    if errs:
        raise ValidationError(errs)
    checked = [(f, *_checked_upload(f, "files")) for f in files]  # all validated before anything is written
    scope = scope_of(user)
    types = rule("hazard_evidence_types")
    stored: list[str] = []
    try:
        with transaction.atomic():
            hazard = Hazard(elevator=elevator, area_id=elevator.area_id, source=Source.SELF_REPORT,
                            source_ref=f"self-{secrets.token_hex(8)}", title=title, description=description or "",
                            level=level, state=State.LEAD, occurred_on=occurred_on or today, filed_by=user,
                            extra={"reported_by_org": scope.organisation_id, "reported_by_role": str(scope.role or "")})
            hazard.full_clean()
            save_with_history(hazard, user, encode(msg.SELF_REPORTED))
            for upload, name, ext, size, digest in checked:
                ev = Evidence(hazard=hazard, kind=Evidence.Kind.REPORT, original_name=name[:255], content_type=types[ext],
                              size=size, sha256=digest, uploaded_by=user)
                ev.file.save(f"{hazard.pk}-{digest[:16]}.{ext}", upload, save=False)
                stored.append(ev.file.name)
                ev.save()
            return hazard
    except Exception:
        for name in stored:
            _storage_delete(name)
        raise


def _storage_delete(name: str) -> None:
    from .models import evidence_storage

    try:
        evidence_storage().delete(name)
    except Exception:  # pragma: no cover - best effort cleanup
        pass


@transaction.atomic
def rectification_submit(user, hazard: Hazard, *, version: int | None, note: str) -> Hazard:
    """The responsible unit submits its rectification for verification (→ submitted); needs evidence and a note."""
    h = _lock(user, hazard, version)
    _require_responsible(user, h, "hazard.submit")
    t = _require_state(h, "submit")
    if not h.evidence.filter(kind=Evidence.Kind.RECTIFICATION).exists():
        raise ValidationError({"evidence": _("Upload rectification evidence (photos or documents) before submitting.")})
    if not note.strip():
        raise ValidationError({"rectification_note": _("Describe what was rectified.")})
    h.state, h.rectification_note, h.submitted_at = t.target, note.strip(), timezone.now()
    return _save(h, encode(msg.SUBMITTED), user)


@transaction.atomic
def hazard_send_back(user, hazard: Hazard, *, version: int | None, reason: str) -> Hazard:
    """A regulator sends a submitted rectification back (→ rectifying) with reasons."""
    _require_regulator(user, "hazard.send_back", _("send a rectification back"))
    h = _lock(user, hazard, version)
    t = _require_state(h, "send-back")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reasons for sending it back.")})
    h.state, h.sent_back_reason = t.target, reason.strip()
    h.sent_back_count += 1
    return _save(h, encode(msg.SENT_BACK), user)


@transaction.atomic
def hazard_close(user, hazard: Hazard, *, version: int | None, note: str = "", resume: bool = True) -> Hazard:
    """Verify and close out (销号) a submitted hazard. Regulators only — never the responsible unit.

    Lifts the hazard's stop-use orders; with ``resume`` puts the elevator back
    in use when no other order remains.

    Raises:
        PermissionDenied: the caller is the responsible unit or not a regulator.
        ValidationError: ``state`` not submitted; ``evidence`` missing.
    """
    scope = scope_of(user)
    if scope.organisation_id and hazard.responsible_unit_id == scope.organisation_id and not scope.is_admin:
        raise PermissionDenied(_("The responsible unit cannot close out its own hazard; a regulator verifies and closes it."))
    _require_regulator(user, "hazard.close", _("verify and close out a hazard"))
    h = _lock(user, hazard, version)
    t = _require_state(h, "close")
    if not h.evidence.filter(kind=Evidence.Kind.RECTIFICATION).exists():
        raise ValidationError({"evidence": _("No rectification evidence: a hazard cannot be closed out without it.")})
    now = timezone.now()
    h.state, h.closed_at, h.closed_by = t.target, now, user
    h.closed_on_time = h.deadline is None or _local_today(h.area_id, now) <= h.deadline  # where the lift is
    if note:
        h.rectification_note = (h.rectification_note + "\n" + _("Verified: ") + note).strip()
    _save(h, encode(msg.CLOSED), user)
    orders = list(StopUseOrder.objects.select_for_update().filter(hazard=h, lifted_at__isnull=True))
    for order in orders:
        order.lifted_at, order.lifted_by = now, user
        save_with_history(order, user, encode(msg.ORDER_LIFTED, hazard=h.pk))
    if orders and resume:
        elevator = Elevator.objects.select_for_update().get(pk=h.elevator_id)
        if elevator.status == Elevator.Status.STOPPED and active_order(elevator) is None:
            from liftsafe.registry.services import elevator_set_status

            elevator_set_status(user, elevator, Elevator.Status.IN_USE, on=_local_today(elevator.area_id, now),
                                reason=encode(msg.STOP_USE_LIFTED, hazard=h.pk))
    return h


# --------------------------------------------------------------------------- look-back
def sample_key(seed: int, hazard_id: int) -> str:
    """Sampling order of a hazard in a campaign: md5 of ``"<seed>:<id>"`` (hex). The same in Python and
    in PostgreSQL (``md5(seed || ':' || id)``), so a sample is reproducible from its seed on any database."""
    return hashlib.md5(f"{seed}:{hazard_id}".encode()).hexdigest()  # noqa: S324 - not security


def stratum_target(n: int, rate: float, min_per_level: int) -> int:
    """Re-checks for a level stratum of ``n`` closed hazards: ``max(min_per_level, round(rate × n))``, at most n."""
    return min(n, max(min_per_level, int(math.floor(rate * n + 0.5)))) if n else 0


def sample_lookback(rows: list[tuple[int, str, bool]], *, rate: float, seed: int, min_per_level: int = 1) -> list[tuple[int, str, bool]]:
    """Stratified look-back sample (pure; reproducible from ``seed``).

    ``rows``: (hazard id, level, listed). Every listed hazard is included; per
    level the sample has :func:`stratum_target` hazards, listed ones counting
    towards it, the rest being that level's unlisted hazards with the smallest
    :func:`sample_key` (a seeded pseudo-random order). Returns (id, level, listed)
    in (level, listed first, id) order.
    """
    by_level: dict[str, list[int]] = defaultdict(list)
    listed_by_level: dict[str, list[int]] = defaultdict(list)
    for pk, level, listed in rows:
        (listed_by_level if listed else by_level)[level].append(pk)
    out: list[tuple[int, str, bool]] = []
    for level in LEVEL_ORDER:
        pool = by_level.get(level, [])
        listed = sorted(listed_by_level.get(level, []))
        extra = max(0, stratum_target(len(pool) + len(listed), rate, min_per_level) - len(listed))
        picked = sorted(pool, key=lambda pk: sample_key(seed, pk))[:extra]
        out.extend((pk, str(level), True) for pk in listed)
        out.extend((pk, str(level), False) for pk in sorted(picked))
    return out


def campaign_population(area: Area, start: dt.date, end: dt.date):
    """Closed hazards of ``area`` (and below) closed between ``start`` and ``end`` (inclusive, local dates)."""
    lo, hi = _period_bounds(start, end)
    return Hazard.objects.filter(state=State.CLOSED, closed_at__gte=lo, closed_at__lt=hi,
                                 area_id__in=Area.objects.filter(path__startswith=area.path).values("id"))


def _period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(start, dt.time.min, tzinfo=tz), dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


_PG_SAMPLE = """
WITH pop AS MATERIALIZED (
    SELECT h.id, h.level, h.listed FROM {hazard} h
    WHERE h.state = 'closed' AND h.closed_at >= %(lo)s AND h.closed_at < %(hi)s
      AND h.area_id IN (SELECT id FROM {area} WHERE path LIKE %(path)s)
), counts AS MATERIALIZED (
    SELECT level, count(*) AS n, count(*) FILTER (WHERE listed) AS nl,
           LEAST(count(*), GREATEST(%(min)s, floor(%(rate)s * count(*) + 0.5)::bigint)) AS target
    FROM pop GROUP BY level
), ins AS (
    INSERT INTO {recheck} (campaign_id, hazard_id, stratum, listed, result, note)
    SELECT %(cid)s, id, level, true, 'pending', '' FROM pop WHERE listed
    {strata}
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT coalesce(sum(n), 0) FROM counts)
"""
# one bounded top-N sort per level (cheaper than ranking the whole population)
_PG_STRATUM = """
    UNION ALL
    (SELECT %(cid)s, id, level, false, 'pending', '' FROM pop WHERE NOT listed AND level = '{level}'
     ORDER BY md5(%(seed)s || ':' || id)
     LIMIT (SELECT GREATEST(0, target - nl) FROM counts WHERE level = '{level}'))"""


def campaign_create(user, *, name: str, area: Area, period_start: dt.date, period_end: dt.date,
                    rate: float | None = None, seed: int | None = None) -> Campaign:
    """Launch a look-back campaign (回头看): sample closed hazards of ``area`` closed in the period into re-checks.

    ``rate`` default rule ``hazard_lookback_rate``; ``seed`` default random, recorded on the campaign
    (the same seed over the same closed hazards gives the same sample — :func:`sample_lookback`; on
    PostgreSQL the identical sample is drawn server side in one statement).

    Raises:
        ValidationError: ``area`` outside the regulator's area; ``period_end`` before start or in the future;
            ``rate`` not in (0, 1]; no closed hazard in the period (``period_start``).
    """
    scope = _require_regulator(user, "hazard.campaign_launch", _("launch a look-back campaign"))
    if not scope.is_admin and not area.path.startswith(scope.area_path or "\0"):
        raise ValidationError({"area": _("%(a)s is outside your area.") % {"a": area}})
    if not name.strip():
        raise ValidationError({"name": _("A campaign name is required.")})
    if period_end < period_start:
        raise ValidationError({"period_end": _("The period ends before it starts.")})
    if period_end > timezone.localdate():
        raise ValidationError({"period_end": _("The period cannot end in the future.")})
    rate = float(rule("hazard_lookback_rate") if rate is None else rate)
    if not 0 < rate <= 1:
        raise ValidationError({"rate": _("The sampling rate must be more than 0 and at most 1.")})
    seed = secrets.randbits(48) if seed is None else int(seed)
    min_per_level = int(rule("hazard_lookback_min_per_level"))
    with transaction.atomic():
        campaign = Campaign(name=name.strip(), area=area, period_start=period_start, period_end=period_end, rate=rate,
                            seed=seed, created_by=user)
        save_with_history(campaign, user, encode(msg.CAMPAIGN_LAUNCHED))
        if connection.vendor == "postgresql":
            lo, hi = _period_bounds(period_start, period_end)
            sql = _PG_SAMPLE.format(hazard=Hazard._meta.db_table, area=Area._meta.db_table, recheck=Recheck._meta.db_table,
                                    strata="".join(_PG_STRATUM.format(level=str(lv)) for lv in LEVEL_ORDER))
            with connection.cursor() as cur:
                cur.execute(sql, {"lo": lo, "hi": hi, "path": area.path.replace("%", r"\%").replace("_", r"\_") + "%",
                                  "min": min_per_level, "rate": rate, "seed": str(seed), "cid": campaign.pk})
                sample_size, population = cur.fetchone()
        else:
            rows = list(campaign_population(area, period_start, period_end).values_list("id", "level", "listed").iterator(chunk_size=20000))
            sample = sample_lookback(rows, rate=rate, seed=seed, min_per_level=min_per_level)
            Recheck.objects.bulk_create([Recheck(campaign=campaign, hazard_id=pk, stratum=level, listed=listed)
                                         for pk, level, listed in sample], batch_size=5000)
            sample_size, population = len(sample), len(rows)
        if not population:
            raise ValidationError({"period_start": _("No hazard in %(a)s was closed in this period.") % {"a": area}})
        campaign.population, campaign.sample_size = int(population), int(sample_size)
        campaign.save(update_fields=["population", "sample_size"])
    return campaign


@transaction.atomic
def recheck_record(user, campaign: Campaign, hazard: Hazard, *, result: str, note: str = "") -> Recheck:
    """Record a re-check: pass, or recurrence (reopens the hazard, counts it, raises its level one step
    by default — rule ``hazard_recurrence_raise_level`` — with a new default deadline).

    Raises:
        ValidationError: ``hazard`` not in this campaign; ``result`` not pass/recurrence; already recorded;
            ``note`` missing for a recurrence.
        PermissionDenied: not a regulator or the elevator's inspection agency.
    """
    require(user, "hazard.recheck")
    from .selectors import hazards_for

    if not hazards_for(user).filter(pk=hazard.pk).exists():
        raise NotFound("hazard not found")
    rc = Recheck.objects.select_for_update().filter(campaign=campaign, hazard_id=hazard.pk).first()
    if rc is None:
        raise ValidationError({"hazard": _("Hazard #%(h)s is not in campaign “%(c)s”.") % {"h": hazard.pk, "c": campaign}})
    if result not in (Recheck.Result.PASS, Recheck.Result.RECURRENCE):
        raise ValidationError({"result": _("The result must be pass or recurrence.")})
    if rc.result != Recheck.Result.PENDING:
        raise ValidationError({"result": _("This re-check was already recorded (%(r)s).") % {"r": rc.get_result_display()}})
    if result == Recheck.Result.RECURRENCE and not note.strip():
        raise ValidationError({"note": _("Describe the recurrence.")})
    rc.result, rc.note, rc.checked_at, rc.checked_by = result, note.strip(), timezone.now(), user
    save_with_history(rc, user, encode(msg.RECHECK, result=result))
    if result == Recheck.Result.RECURRENCE:
        h = Hazard.objects.select_for_update().get(pk=hazard.pk)
        if HAZARD_FLOW.can("reopen", h.state):
            h.state = HAZARD_FLOW.get("reopen").target
            h.recurrence_count += 1
            if rule("hazard_recurrence_raise_level"):
                h.level = raised(h.level)
            h.deadline = default_deadline(h.level, area_id=h.area_id)
            h.closed_at = h.closed_by = h.closed_on_time = h.submitted_at = None
            h.sent_back_reason = _("Recurrence found on re-check: ") + rc.note
            _save(h, encode(msg.REOPENED, campaign=campaign.pk), user)
    return rc


# --------------------------------------------------------------------------- automatic leads
def raise_iot_lead(*, elevator: Elevator, pattern: str, ref: str, title: str, level: str = Level.GENERAL,
                   cause_class: str = "", description: str = "", extra: dict | None = None) -> Hazard | None:
    """Hook for the monitoring module: an IoT fault pattern (e.g. repeated door faults) raises a lead once
    per ``ref`` (``source_ref = "iot:<pattern>:<ref>"``). Returns None if it was already raised."""
    return lead_raise(elevator=elevator, source=Source.IOT, source_ref=f"iot:{pattern}:{ref}"[:64], title=title, level=level,
                      cause_class=cause_class, description=description, occurred_on=timezone.localdate(), extra=extra)


def raise_entrapment_leads(now: dt.datetime | None = None) -> int:
    """Raise a lead for each elevator with ≥ N entrapments in the last D days (rules
    ``hazard_entrapment_lead_count``, ``hazard_entrapment_lead_window_days``); once per elevator per window.

    What counts as an entrapment is emergency's definition (:data:`liftsafe.emergency.domain.ENTRAPMENT_Q`:
    calls closed as false alarms or cancelled are not entrapments), the same the reports count.
    Returns the number of leads raised.
    """
    from liftsafe.emergency.domain import ENTRAPMENT_Q
    from liftsafe.emergency.models import EmergencyCase as Case

    now = now or timezone.now()
    n = int(rule("hazard_entrapment_lead_count"))
    days = int(rule("hazard_entrapment_lead_window_days"))
    since = now - dt.timedelta(days=days)
    hot = (Case.objects.filter(ENTRAPMENT_Q, received_at__gte=since, received_at__lte=now, elevator__isnull=False)
           .values("elevator_id").annotate(n=Count("id")).filter(n__gte=n))
    raised_n = 0
    for row in hot:
        eid = row["elevator_id"]
        if Hazard.objects.filter(elevator_id=eid, source=Source.EMERGENCY, source_ref__startswith="entrapments:",
                                 filed_at__gte=since).exists():
            continue
        last = Case.objects.filter(ENTRAPMENT_Q, elevator_id=eid, received_at__lte=now).order_by("-received_at", "-pk").first()
        elevator = Elevator.objects.get(pk=eid)
        lead = lead_raise(elevator=elevator, source=Source.EMERGENCY, source_ref=f"entrapments:{eid}:{last.pk}",
                          title=f"{days} 天内困人 {row['n']} 次 / {row['n']} entrapments in {days} days",
                          level=Level.SIGNIFICANT, cause_class="", occurred_on=timezone.localdate(last.received_at),
                          filed_at=now, extra={"entrapments": row["n"], "window_days": days})
        raised_n += lead is not None
    return raised_n


def raise_inspection_lead(*, elevator: Elevator, state: str, ref: str, title: str, occurred_on: dt.date | None = None) -> Hazard | None:
    """Handler of the flow ``inspection.invalid`` (registered in :class:`~liftsafe.hazards.apps.HazardsConfig`):
    a lift whose inspection failed (level significant) or expired (level general) becomes a lead, once per ``ref``."""
    level = Level.SIGNIFICANT if state == "failed" else Level.GENERAL
    return lead_raise(elevator=elevator, source=Source.INSPECTION, source_ref=ref[:64], title=title, level=level,
                      occurred_on=occurred_on, extra={"inspection_state": state})
