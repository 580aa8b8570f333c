"""96333 emergency cases and their milestones (docs/domain §3).

A case's *facts* are its intake data (who called, how, how many trapped…)
and its append-only :class:`Milestone` events (received, dispatched,
responded, arrived, released, completed, false alarm, cancelled, escalated,
call attached). Everything else — state, current level and responder, every
duration, the upload status code — derives from the milestones through
:func:`liftsafe.emergency.services.derive`. The few derived columns kept on
:class:`EmergencyCase` (``state``, ``level``, ``responder``,
``level_dispatched_at``) are a cache rewritten from the milestones by every
write, so that the database can index them: the partial unique constraint
"one open case per elevator" and the escalation scan need them.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .causes import CAUSE_CLASS_CHOICES


class Channel(models.TextChoices):
    """How the alarm reached the platform (docs/domain §3.3 step 1)."""

    PHONE_96333 = "phone_96333", _("96333 phone call")
    CAR_ALARM = "car_alarm", _("Car alarm button")
    IOT = "iot", _("IoT auto-alarm")
    QR_REPORT = "qr_report", _("Public QR report")
    TRANSFER_12345 = "transfer_12345", _("12345 transfer")
    TRANSFER_119 = "transfer_119", _("119 transfer")


class CaseType(models.TextChoices):
    """Call/appeal categories (docs/domain §3.5, Huai'an report): 困人求救, 故障报修, 咨询及其他."""

    ENTRAPMENT = "entrapment", _("Entrapment")
    FAULT_REPORT = "fault_report", _("Fault report")
    ENQUIRY = "enquiry", _("Enquiry / other")


class State(models.TextChoices):
    """A case's state, derived from its milestones (latest progress milestone wins)."""

    RECEIVED = "received", _("Received")
    DISPATCHED = "dispatched", _("Dispatched")
    RESPONDED = "responded", _("Responded")
    ARRIVED = "arrived", _("Arrived")
    RELEASED = "released", _("Released")
    COMPLETED = "completed", _("Completed")
    FALSE_ALARM = "false_alarm", _("False alarm")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = (State.RECEIVED, State.DISPATCHED, State.RESPONDED, State.ARRIVED, State.RELEASED)
CLOSED_STATES = (State.COMPLETED, State.FALSE_ALARM, State.CANCELLED)


class Level(models.IntegerChoices):
    """Response levels 三级救援 (docs/domain §3.2)."""

    MAINTENANCE_UNIT = 1, _("Level 1: contracted maintenance unit")
    RESCUE_STATION = 2, _("Level 2: rescue station")
    FIRE_BRIGADE = 3, _("Level 3: fire brigade")


def trapped_text(case_type: str, count: int | None) -> str:
    """The people-trapped figure as shown on the board and the case page: the count when known; ``"?"`` for
    an entrapment whose count is unknown; ``"—"`` (not applicable) for a fault report or an enquiry."""
    if count is not None:
        return str(count)
    return "?" if case_type == CaseType.ENTRAPMENT else "—"


class EmergencyCase(models.Model):
    """One emergency case (处置单) for one elevator.

    Intake checklist (docs/domain §3.3 step 1): ``trapped_count``, ``injured_count``,
    ``car_position`` (floor/level as told), ``caller_phone`` (personal data:
    shown only to operators and the dispatched responder, masked elsewhere),
    ``special_circumstances``; ``details`` is a JSON snapshot of whatever else
    the channel sent (IoT status snapshot, QR form, MTA ticket fields).
    ``source_ref`` is the sender's own reference (IoT alarm id, ticket no.).
    ``received_at`` is when the platform received the first alarm (aware).
    ``cause_class``/``cause_item``: the two-level cause (docs/domain §4.3, see
    :mod:`liftsafe.emergency.causes`). ``released_count``: people freed.

    ``area``: the area where the case happened — the elevator's area at intake,
    set by :func:`liftsafe.emergency.services.intake_alarm` (the only place
    cases are created). A later re-coding of the elevator's area does not move
    old cases; statistics (``liftsafe.reports``) filter cases by it without
    joining elevators. Null only for rows written outside the service (bench
    SQL, old rows before migration 0004's backfill).

    Cached from milestones (never written except by the services' refresh):
    ``state``, ``level`` (0 = not dispatched), ``responder``,
    ``level_dispatched_at`` (when the current level was dispatched), and the
    first ``dispatched_at``, ``responded_at``, ``arrived_at``, ``released_at``
    and the ``closed_at`` of :class:`~liftsafe.emergency.selectors.Derived`, so
    that statistics (``liftsafe.reports``) read durations from one table.
    """

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="emergency_cases")
    area = models.ForeignKey("core.Area", verbose_name=_("area (at intake)"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", db_index=False)  # indexed by emergency_case_area_recv_idx (area first)
    order_number = models.CharField(_("order number (处置单号)"), max_length=32, unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    case_type = models.CharField(_("case type"), max_length=16, choices=CaseType.choices)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    trapped_count = models.PositiveSmallIntegerField(_("people trapped"), null=True, blank=True)
    injured_count = models.PositiveSmallIntegerField(_("people injured"), null=True, blank=True)
    car_position = models.CharField(_("car position"), max_length=32, blank=True)
    caller_phone = models.CharField(_("caller phone"), max_length=32, blank=True)
    special_circumstances = models.TextField(_("special circumstances"), blank=True)
    details = models.JSONField(_("intake details"), default=dict, blank=True)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True, db_index=True)
    cause_class = models.CharField(_("cause class"), max_length=32, choices=CAUSE_CLASS_CHOICES, blank=True)
    cause_item = models.CharField(_("cause item"), max_length=32, blank=True)
    cause_reported_at = models.DateTimeField(_("cause reported at"), null=True, blank=True)
    released_count = models.PositiveSmallIntegerField(_("people released"), null=True, blank=True)

    # cache of derive(milestones); see module docstring
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED, db_index=True)
    level = models.PositiveSmallIntegerField(_("current level"), default=0)
    responder = models.ForeignKey("registry.Organisation", verbose_name=_("current responder"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="emergency_cases")
    level_dispatched_at = models.DateTimeField(_("current level dispatched at"), null=True, blank=True)
    # first occurrences, for statistics in one table scan (reports): same cache, same rule
    dispatched_at = models.DateTimeField(_("first dispatched at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("emergency case")
        verbose_name_plural = _("emergency cases")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["elevator"], condition=Q(state__in=[s.value for s in OPEN_STATES]),
                                    name="emergency_one_open_case_per_elevator"),
            models.CheckConstraint(condition=Q(level__gte=0) & Q(level__lte=3), name="emergency_case_level_0_3"),
        ]
        indexes = [
            models.Index(fields=["state", "level_dispatched_at"], name="emergency_case_state_disp_idx"),
            models.Index(fields=["responder", "state"], name="emergency_case_responder_idx"),
            # area reports: the cases of an area's period without reading the whole period (reports.selectors)
            models.Index(fields=["area", "received_at"], name="emergency_case_area_recv_idx"),
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def trapped_display(self) -> str:
        """People trapped for display (:func:`trapped_text`)."""
        return trapped_text(self.case_type, self.trapped_count)

    def save(self, *args, **kwargs):
        if getattr(self, "_personal_masked", False):
            raise RuntimeError("a case with masked personal data (from a selector) must not be saved")
        super().save(*args, **kwargs)


class EscalationReason(models.TextChoices):
    """Why a dispatch level was escalated (``services.escalate_overdue``; limits docs/domain §3 via rules.py):
    the responder did not acknowledge within the response limit, or did not arrive within the arrival limit."""

    NO_RESPONSE = "no_response", _("no response")
    NO_ARRIVAL = "no_arrival", _("no arrival")


#: prefix of the ``reason`` of a dispatch made by escalation (``"escalated: no_response"``)
ESCALATED_PREFIX = "escalated: "


def milestone_reason_label(reason) -> str:
    """Display text of a milestone's ``data["reason"]``: an escalation reason's label (``"no_response"`` →
    "no response"), a dispatch by escalation's (``"escalated: no_arrival"`` → "escalated: no arrival"), any
    other (operator-typed) reason unchanged; ``""`` for None."""
    if not reason:
        return ""
    reason = str(reason)
    if reason in EscalationReason.values:
        return str(EscalationReason(reason).label)
    if reason.startswith(ESCALATED_PREFIX) and reason[len(ESCALATED_PREFIX):] in EscalationReason.values:
        return str(_("escalated: %(reason)s") % {"reason": EscalationReason(reason[len(ESCALATED_PREFIX):]).label})
    return reason


class Milestone(models.Model):
    """One event in a case's life; append-only, the single source of the case's state and durations.

    ``at`` is when it happened (as reported, aware); ``recorded_at`` when the
    platform stored it. ``level``/``responder`` are set on ``dispatched``
    (and on ``escalated``: the level escalated *from*). ``data`` carries the
    kind's extra fields (``released_count`` on released; channel/phone of an
    attached call; escalation reason). ``idempotency_key`` (globally unique
    when set) makes a double-tapped submission record once.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        DISPATCHED = "dispatched", _("Dispatched")
        RESPONDED = "responded", _("Responded")
        ARRIVED = "arrived", _("Arrived")
        RELEASED = "released", _("Released")
        COMPLETED = "completed", _("Completed")
        FALSE_ALARM = "false_alarm", _("False alarm")
        CANCELLED = "cancelled", _("Cancelled")
        ESCALATED = "escalated", _("Escalated")
        CALL_ATTACHED = "call_attached", _("Call attached")

    case = models.ForeignKey(EmergencyCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(_("milestone"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    responder = models.ForeignKey("registry.Organisation", verbose_name=_("responder"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="emergency_milestone_idempotency"),
        ]
        indexes = [models.Index(fields=["case", "at"], name="emergency_milestone_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"


class LocationCheck(models.TextChoices):
    """What the platform concluded from the responder's phone location (:func:`liftsafe.emergency.domain.assess_location`;
    radius and accuracy bounds: rules ``arrival_far_radius_m``, ``arrival_accuracy_max_m``)."""

    NEAR = "near", _("at the lift")
    FAR = "far", _("far from the lift")
    MISSING = "missing", _("no location")
    UNRELIABLE = "unreliable", _("location unreliable")
    LIFT_UNLOCATED = "lift_unlocated", _("lift has no coordinates")


def field_photo_path(instance, filename: str) -> str:
    """Random, non-guessable storage name (the photo is served only through a scoped view, never by URL guess)."""
    import secrets

    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"emergency/field/{secrets.token_hex(16)}.{ext}"


class FieldRecord(models.Model):
    """On-site proof of a responder's ``arrived`` or ``released`` milestone (issue 15; docs/domain §3.3 steps 4-5, §15.1).

    ``latitude``/``longitude`` (WGS-84 degrees) and ``accuracy_m`` (metres, as the phone stated it) are what the
    phone gave — all null when it gave nothing (recorded as missing, never blocking). ``location_check`` (with
    ``location_reason``, a code of :data:`liftsafe.emergency.domain.LOCATION_REASONS`) and ``distance_m``
    (metres to the lift's coordinates, null when either side is unknown) are computed once at recording time from
    the lift's coordinates then. ``photo``: re-encoded by the platform (EXIF/GPS metadata stripped), ``photo_sha256``
    of the stored bytes. ``confirmed_by``: on ``released``, the name of the use unit's person who confirmed the
    release on site (blank = not confirmed).

    Personal data of the worker: read only by the regulator of the area and the worker's own unit
    (``organisation``), see :func:`liftsafe.emergency.selectors.field_records_for`; kept as long as the case
    (PROTECT, never purged).
    """

    milestone = models.OneToOneField(Milestone, verbose_name=_("milestone"), on_delete=models.PROTECT, related_name="field_record")
    case = models.ForeignKey(EmergencyCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="field_records")
    organisation = models.ForeignKey("registry.Organisation", verbose_name=_("responder unit"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("location accuracy (m)"), null=True, blank=True)
    location_check = models.CharField(_("location check"), max_length=16, choices=LocationCheck.choices)
    location_reason = models.CharField(_("location check reason"), max_length=32, blank=True)
    distance_m = models.FloatField(_("distance to the lift (m)"), null=True, blank=True)
    photo = models.FileField(_("photo"), upload_to=field_photo_path, max_length=255, blank=True)
    photo_sha256 = models.CharField(_("photo SHA-256"), max_length=64, blank=True)
    confirmed_by = models.CharField(_("confirmed by (use unit)"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("on-site record")
        verbose_name_plural = _("on-site records")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["location_check", "created_at"], name="emergency_field_check_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.milestone_id} {self.location_check}"

    @property
    def flagged(self) -> bool:
        """Shown to the regulator as a flag: far away, no location or an unreliable one."""
        return self.location_check in (LocationCheck.FAR, LocationCheck.MISSING, LocationCheck.UNRELIABLE)


class CallBack(models.Model):
    """An operator's call-back on a case (回访/回拨; issue 15): who was called, when, and the outcome.

    ``phone`` is personal data (masked like the caller's phone for roles that may not see it). Append-only.
    """

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        VOICEMAIL = "voicemail", _("Left a message")

    class Party(models.TextChoices):
        CALLER = "caller", _("Caller")
        USE_UNIT = "use_unit", _("Use unit")
        RESPONDER = "responder", _("Responder")
        OTHER = "other", _("Other")

    case = models.ForeignKey(EmergencyCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="callbacks")
    party = models.CharField(_("who was called"), max_length=16, choices=Party.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    called_at = models.DateTimeField(_("called at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("call-back")
        verbose_name_plural = _("call-backs")
        ordering = ["called_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.party} {self.outcome}"
