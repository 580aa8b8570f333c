"""Every write of the disclosure app: public codes, publication settings, public reports and their loop.

Staff writes take the user first and ``require`` the action; the public writes (filing, reopening, the
questionnaire) take no user: the ticket number is the reporter's key and the rate limits plus the signed
challenge (:func:`liftsafe.disclosure.domain.check_challenge`) protect them. Sources: docs/domain §15.6.
"""
from __future__ import annotations

import datetime as dt
import io
import re

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from liftsafe.core.errors import NotFound
from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode, render_kind
from liftsafe.core.notifications import notify
from liftsafe.core.permissions import require
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import maintenance_unit_on
from liftsafe.rules import rule

from . import messages as msg
from .domain import EMERGENCY_CATEGORIES, Category, PublicField, address_hash, check_challenge, new_code, new_ticket, normalise_ticket
from .models import OPEN_STATES, PublicationSetting, PublicCode, PublicReport, ReportState
from .public import published_fields
from .workflow import REPORT_FLOW

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\+?\d[\d -]{6,18}\d)$")
CHALLENGE_NEEDED = "challenge_required"


# ------------------------------------------------------------------ public codes
def ensure_codes(elevator_ids: list[int] | None = None, *, batch: int = 2000) -> int:
    """Give every lift without a public code a fresh random one (system job; idempotent). ``elevator_ids``
    narrows to those lifts. Returns the number of codes issued. A rare collision of two random codes is
    retried with new ones."""
    issued = 0
    qs = Elevator.objects.filter(public_code__isnull=True)
    if elevator_ids is not None:
        qs = qs.filter(pk__in=elevator_ids)
    while True:
        ids = list(qs.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return issued
        rows = [PublicCode(elevator_id=i, code=new_code()) for i in ids]
        for attempt in range(5):
            try:
                with transaction.atomic():
                    bulk_create_with_history(rows, PublicCode, batch_size=500, default_change_reason=encode(msg.CODE_ISSUED))
                break
            except IntegrityError:
                if attempt == 4:
                    raise
                taken = set(PublicCode.objects.filter(elevator_id__in=ids).values_list("elevator_id", flat=True))
                rows = [PublicCode(elevator_id=i, code=new_code()) for i in ids if i not in taken]
        issued += len(rows)


def code_for(elevator: Elevator) -> str:
    """The lift's public code, issuing one if it has none."""
    pc = PublicCode.objects.filter(elevator=elevator).values_list("code", flat=True).first()
    if pc:
        return pc
    ensure_codes([elevator.pk])
    return PublicCode.objects.get(elevator=elevator).code


@transaction.atomic
def code_reissue(user, elevator: Elevator) -> PublicCode:
    """Replace a lift's public code (a label was copied or vandalised); the old code stops working at once.
    Raises PermissionDenied / NotFound (out of scope) through ``require``."""
    require(user, "disclosure.publication")
    from .selectors import label_elevators

    if not label_elevators(user).filter(pk=elevator.pk).exists():
        raise NotFound("elevator")
    pc = PublicCode.objects.select_for_update().filter(elevator=elevator).first() or PublicCode(elevator=elevator)
    for _attempt in range(5):
        candidate = new_code()
        if not PublicCode.objects.filter(code=candidate).exists():
            break
    pc.code = candidate
    pc.created_at = timezone.now()
    return save_with_history(pc, user, encode(msg.CODE_REISSUED))


# ------------------------------------------------------------------ publication settings
@transaction.atomic
def publication_set(user, area, *, page: bool, accept_reports: bool, fields: list[str]) -> PublicationSetting:
    """Set what the public page shows for ``area`` and its sub-areas without their own setting.

    Raises:
        PermissionDenied: not a regulator. NotFound: area outside the regulator's area.
        ValidationError: ``{"fields": ...}`` an unknown field name.
    """
    require(user, "disclosure.publication")
    from .selectors import publication_areas

    if not publication_areas(user).filter(pk=area.pk).exists():
        raise NotFound("area")
    unknown = sorted(set(fields) - set(PublicField.values))
    if unknown:
        raise ValidationError({"fields": [_("Unknown field(s): %(f)s.") % {"f": ", ".join(unknown)}]})
    s = PublicationSetting.objects.select_for_update().filter(area=area).first() or PublicationSetting(area=area)
    s.page, s.accept_reports = bool(page), bool(accept_reports)
    s.fields = [f for f in PublicField.values if f in set(fields)]
    s.updated_by = user
    return save_with_history(s, user, encode(msg.PUBLICATION_CHANGED))


# ------------------------------------------------------------------ photos
def clean_photo(upload) -> ContentFile:
    """Check a public photo and return it re-encoded as JPEG with all metadata (EXIF, GPS location, comments) removed.

    Limits: rule ``disclosure_photo_max_bytes`` (checked on the declared size before reading), rule
    ``disclosure_photo_max_pixels`` (before decoding: decompression bombs), formats JPEG, PNG, WebP, HEIF is
    not accepted. Orientation is applied first, so the picture still shows upright without its EXIF.

    Raises:
        ValidationError: ``{"photo": ...}`` too large, not an image, unsupported format.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_bytes = int(rule("disclosure_photo_max_bytes"))
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise ValidationError({"photo": [_("The photo is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}]})
    if size == 0:
        raise ValidationError({"photo": [_("The photo is empty.")]})
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError({"photo": [_("The photo is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}]})
    not_image = ValidationError({"photo": [_("The file is not a photo (JPEG, PNG or WebP).")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("JPEG", "PNG", "WEBP"):
                raise not_image
            w, h = probe.size
            if w * h > int(rule("disclosure_photo_max_pixels")):
                raise ValidationError({"photo": [_("The photo has too many pixels.")]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB")
            img.thumbnail((2048, 2048))
            out = io.BytesIO()
            img.save(out, format="JPEG", quality=85, optimize=True)  # no exif= argument: nothing of the original's metadata is written
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise not_image from None
    return ContentFile(out.getvalue(), name="photo.jpg")


# ------------------------------------------------------------------ filing
def limits_hit(elevator: Elevator, ip: str, now: dt.datetime | None = None) -> bool:
    """Whether a new report from ``ip`` on ``elevator`` exceeds the hourly limits (rules
    ``disclosure_reports_per_address_per_hour``, ``disclosure_reports_per_lift_per_hour``) and so needs the challenge."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=1)
    recent = PublicReport.objects.filter(created_at__gte=since)
    return (recent.filter(address_hash=address_hash(ip)).count() >= int(rule("disclosure_reports_per_address_per_hour"))
            or recent.filter(elevator=elevator).count() >= int(rule("disclosure_reports_per_lift_per_hour")))


def report_file(*, elevator: Elevator, category: str, text: str = "", photo=None, phone: str = "", ip: str = "",
                challenge: str = "", answer: str = "", now: dt.datetime | None = None) -> PublicReport:
    """File a public report about ``elevator`` (no user: the public). Routed to the lift's use unit and its
    maintenance unit on the day, visible to the area's regulator; both units are notified (never the reporter:
    anonymous reporters are never e-mailed).

    Raises:
        ValidationError: ``{"category": ...}`` unknown or "trapped now" (call 96333 instead);
            ``{"elevator": ...}`` a scrapped lift or an area that does not accept public reports;
            ``{"text": ...}`` empty without a photo or longer than 2,000 characters;
            ``{"phone": ...}`` not a phone number; ``{"photo": ...}`` see :func:`clean_photo`;
            ``{"challenge": ["challenge_required" …]}`` the hourly limit is reached and the challenge is missing or wrong.
    """
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = [_("Choose a category.")]
    elif category in EMERGENCY_CATEGORIES:
        errors["category"] = [_("Someone trapped needs help now: call 96333. A report is not an emergency call.")]
    page, accept, _fields = published_fields(elevator.area)
    if elevator.status == Elevator.Status.SCRAPPED or not (page and accept):
        errors["elevator"] = [_("Public reports are not accepted for this lift. In an emergency call 96333.")]
    text = (text or "").strip()
    if len(text) > 2000:
        errors["text"] = [_("At most 2,000 characters.")]
    elif not text and not photo:
        errors["text"] = [_("Describe the problem or attach a photo.")]
    phone = re.sub(r"\s+", "", phone or "")
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = [_("Not a phone number.")]
    if errors:
        raise ValidationError(errors)
    if limits_hit(elevator, ip, now) and not check_challenge(challenge, answer):
        raise ValidationError({"challenge": [ValidationError(_("Too many reports in a short time: answer the question to continue."),
                                                             code=CHALLENGE_NEEDED)]})
    content = clean_photo(photo) if photo else None
    with transaction.atomic():
        report = PublicReport(ticket=new_ticket(), elevator=elevator, category=category, text=text, phone=phone,
                              use_unit=elevator.use_unit, maintenance_unit=maintenance_unit_on(elevator, now.date()),
                              address_hash=address_hash(ip), created_at=now)
        if content is not None:
            report.photo.save(content.name, content, save=False)
        save_with_history(report, None, encode(msg.REPORT_FILED))
        subject = render_kind(msg.NOTIFY_NEW, {"ticket": report.ticket, "lift": elevator.display_code})
        for org in (report.use_unit, report.maintenance_unit):
            if org is not None:
                notify(kind="disclosure.report_filed", subject=subject, body=subject, organisation=org,
                       payload={"ticket": report.ticket, "elevator": elevator.pk}, dedupe_key=f"pubreport:{report.ticket}:{org.pk}")
    return report


def report_by_ticket(ticket: str) -> PublicReport:
    """The report with this ticket number (``NotFound`` for a malformed or unknown one)."""
    t = normalise_ticket(ticket)
    r = PublicReport.objects.select_related("elevator", "use_unit", "maintenance_unit", "duplicate_of").filter(ticket=t).first() if t else None
    if r is None:
        raise NotFound("ticket")
    return r


# ------------------------------------------------------------------ staff loop
def _lock(report: PublicReport) -> PublicReport:
    return PublicReport.objects.select_for_update().get(pk=report.pk)


@transaction.atomic
def report_act(user, report: PublicReport, action: str, *, note: str = "", expected_on: dt.date | None = None,
               into: str = "") -> PublicReport:
    """Take a staff transition of :data:`~.workflow.REPORT_FLOW` (acknowledge, progress, note, close, merge, reject).

    ``note`` is the status note the reporter sees (required to close, reject and for ``note``); ``expected_on``
    the expected date (not in the past); ``into`` the ticket of the report a duplicate is merged into (same lift).

    Raises:
        PermissionDenied / NotFound (``require``); ValidationError ``{"state"}`` wrong state,
        ``{"note"}``, ``{"expected_on"}``, ``{"into"}``, ``{"action"}`` (unknown or not a staff action here).
    """
    if action in ("reopen", "to_hazard", "to_case"):
        raise ValidationError({"action": [_("This action has its own form.")]})
    t = REPORT_FLOW.get(action)
    require(user, t.permission, report)
    report = _lock(report)
    REPORT_FLOW.check(action, report.state, state_label=report.get_state_display())
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if len(note) > 500:
        errors["note"] = [_("At most 500 characters.")]
    elif not note and action in ("note", "close", "reject"):
        errors["note"] = [_("Write a note for the reporter.")]
    if expected_on is not None and expected_on < timezone.localdate():
        errors["expected_on"] = [_("The expected date is in the past.")]
    target = None
    if action == "merge":
        target = PublicReport.objects.filter(ticket=normalise_ticket(into) or "-").first()
        if target is None or target.pk == report.pk or target.elevator_id != report.elevator_id:
            errors["into"] = [_("Name an open report about the same lift.")]
        elif target.state not in OPEN_STATES:
            errors["into"] = [_("Name an open report about the same lift.")]
    if errors:
        raise ValidationError(errors)
    if note:
        report.status_note = note
    if expected_on is not None:
        report.expected_on = expected_on
    if t.target:
        report.state = t.target
    if report.state == ReportState.CLOSED:
        report.closed_at = timezone.now()
    reason = encode(msg.REPORT_TRANSITION, action=action)
    if target is not None:
        report.duplicate_of = target
        reason = encode(msg.REPORT_MERGED, ticket=target.ticket)
    return save_with_history(report, user, reason)


@transaction.atomic
def report_reopen(ticket: str, *, comment: str, now: dt.datetime | None = None) -> PublicReport:
    """The reporter says it is not fixed: reopen a closed report within rule ``disclosure_reopen_window_days``
    of its closure, with a comment; the area's regulators and both units are notified.

    Raises:
        NotFound: unknown ticket. ValidationError: ``{"comment"}`` missing/too long, ``{"state"}`` not closed,
        ``{"closed_at"}`` the reopen window has passed.
    """
    now = now or timezone.now()
    report = _lock(report_by_ticket(ticket))
    comment = (comment or "").strip()
    if not comment or len(comment) > 500:
        raise ValidationError({"comment": [_("Say in at most 500 characters what is still wrong.")]})
    REPORT_FLOW.check("reopen", report.state, state_label=report.get_state_display())
    days = int(rule("disclosure_reopen_window_days"))
    if report.closed_at is None or now - report.closed_at > dt.timedelta(days=days):
        raise ValidationError({"closed_at": [_("This report was closed more than %(d)d days ago; please file a new report.") % {"d": days}]})
    report.state = ReportState.REOPENED
    report.reopen_comment = comment
    report.reopen_count += 1
    report.closed_at = None
    save_with_history(report, None, encode(msg.REPORT_REOPENED))
    subject = render_kind(msg.NOTIFY_REOPENED, {"ticket": report.ticket})
    key = f"pubreport-reopen:{report.ticket}:{report.reopen_count}"
    notify(kind="disclosure.report_reopened", subject=subject, body=comment, area=report.elevator.area,
           payload={"ticket": report.ticket}, dedupe_key=key + ":reg")
    for org in (report.use_unit, report.maintenance_unit):
        if org is not None:
            notify(kind="disclosure.report_reopened", subject=subject, body=comment, organisation=org,
                   payload={"ticket": report.ticket}, dedupe_key=f"{key}:{org.pk}")
    return report


@transaction.atomic
def report_survey(ticket: str, *, fixed: bool, score: int, comment: str = "") -> PublicReport:
    """The short questionnaire after closure (Open311/FixMyStreet): fixed yes/no, satisfaction 1–5, a comment.
    Once per closure.

    Raises:
        NotFound: unknown ticket. ValidationError: ``{"state"}`` not closed, ``{"score"}``, ``{"comment"}``,
        ``{"survey"}`` already answered.
    """
    report = _lock(report_by_ticket(ticket))
    if report.state != ReportState.CLOSED:
        raise ValidationError({"state": [_("The questionnaire opens when the report is closed.")]})
    if report.survey_fixed is not None:
        raise ValidationError({"survey": [_("The questionnaire was already answered.")]})
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": [_("Choose 1 to 5.")]})
    if len(comment or "") > 500:
        raise ValidationError({"comment": [_("At most 500 characters.")]})
    report.survey_fixed, report.survey_score, report.survey_comment = bool(fixed), score, (comment or "").strip()
    return save_with_history(report, None, encode(msg.REPORT_SURVEY))


@transaction.atomic
def report_to_hazard(user, report: PublicReport) -> PublicReport:
    """Turn a public report into a hazard lead (source "public complaint") in one step, the photo attached to the
    lead as the regulator's verification record. The report is ``forwarded`` and keeps the lead's id.

    Raises: PermissionDenied / NotFound; ValidationError ``{"state"}``; the hazards app's own validation."""
    from liftsafe.hazards import services as hazards
    from liftsafe.hazards.models import Level, Source

    require(user, "publicreport.convert", report)
    report = _lock(report)
    REPORT_FLOW.check("to_hazard", report.state, state_label=report.get_state_display())
    title = f"{report.get_category_display()} · {report.ticket}"
    lead = hazards.lead_raise(elevator=report.elevator, source=Source.COMPLAINT, source_ref=f"public-report:{report.ticket}",
                              title=title, level=Level.GENERAL, description=report.text, occurred_on=report.created_at.date(),
                              extra={"public_report": report.ticket})
    if lead is None:
        raise ValidationError({"state": [_("This report was already forwarded.")]})
    if report.photo:
        with report.photo.open("rb") as fh:
            hazards.evidence_add(user, lead, File(fh, name=f"{report.ticket}.jpg"), note=report.ticket)
    report.state = ReportState.FORWARDED
    report.hazard_id = lead.pk
    reason = encode(msg.REPORT_FORWARDED, target="hazard", id=lead.pk)
    return save_with_history(report, user, reason)


@transaction.atomic
def report_to_case(user, report: PublicReport) -> PublicReport:
    """Turn a public report into a 96333 case (channel "public QR report", a fault report) in one step; the
    photo's address and the ticket travel in the case's details. The report is ``forwarded``.

    Raises: PermissionDenied / NotFound; ValidationError ``{"state"}``; the emergency app's own validation."""
    from liftsafe.emergency import services as emergency
    from liftsafe.emergency.models import CaseType, Channel

    require(user, "publicreport.convert", report)
    report = _lock(report)
    REPORT_FLOW.check("to_case", report.state, state_label=report.get_state_display())
    details = {"public_report": report.ticket, "category": report.category, "text": report.text[:500]}
    if report.photo:
        details["photo"] = report.get_absolute_url() + "photo/"
    result = emergency.intake_alarm(report.elevator, channel=Channel.QR_REPORT, case_type=CaseType.FAULT_REPORT,
                                    received_at=timezone.now(), actor=None, details=details, caller_phone=report.phone,
                                    source_ref=f"public-report:{report.ticket}", idempotency_key=f"public-report:{report.ticket}")
    report.state = ReportState.FORWARDED
    report.case_id = result.case.pk
    reason = encode(msg.REPORT_FORWARDED, target="96333", id=result.case.pk)
    return save_with_history(report, user, reason)
