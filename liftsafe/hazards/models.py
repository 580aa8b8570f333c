"""Hazard rectification and supervision (隐患排查整治, docs/domain §7).

A :class:`Hazard` (隐患) is filed against one elevator, rectified by its
responsible unit by a deadline, verified and closed out (销号) by a regulator;
closed hazards are re-checked in look-back campaigns (回头看). A
:class:`StopUseOrder` (责令停用) keeps its elevator stopped until a verified
close-out lifts it. Overdue is derived from the deadline, never stored.

Every model keeps an audit history (django-simple-history). Writes go through
:mod:`liftsafe.hazards.services`; reads through :mod:`liftsafe.hazards.selectors`.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Level(models.TextChoices):
    """Hazard level (docs/domain §7: 重大 / 较大 / 一般 [M]/[U]); ordered from least to most serious in LEVEL_ORDER."""

    GENERAL = "general", _("General (一般)")
    SIGNIFICANT = "significant", _("Significant (较大)")
    MAJOR = "major", _("Major (重大)")


LEVEL_ORDER = [Level.GENERAL, Level.SIGNIFICANT, Level.MAJOR]


def raised(level: str) -> str:
    """One level up (major stays major)."""
    i = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[min(i + 1, len(LEVEL_ORDER) - 1)]


class Source(models.TextChoices):
    """Where a hazard came from (issue 5; docs/domain §7 issue sources)."""

    INSPECTION = "inspection", _("Inspection non-conformity")
    EMERGENCY = "emergency", _("Emergency case cause")
    IOT = "iot", _("IoT fault pattern")
    COMPLAINT = "complaint", _("Public complaint")
    SPOT_CHECK = "spot_check", _("Spot check")
    INCIDENT = "incident", _("Accident or incident report")
    SELF_REPORT = "self_report", _("Self-reported by a unit (自查自报)")


class State(models.TextChoices):
    """Hazard states. lead → open → rectifying → submitted → closed; submitted → rectifying (sent back);
    closed → open (reopened on recurrence); lead → dismissed."""

    LEAD = "lead", _("Lead (to be accepted)")
    OPEN = "open", _("Open")
    RECTIFYING = "rectifying", _("Rectifying")
    SUBMITTED = "submitted", _("Submitted for verification")
    CLOSED = "closed", _("Closed (verified)")
    DISMISSED = "dismissed", _("Dismissed lead")


OPEN_STATES = (State.OPEN, State.RECTIFYING, State.SUBMITTED)


class CauseClass(models.TextChoices):
    """Cause classes of docs/domain §4.3; the same codes as liftsafe.emergency.causes.CAUSES."""

    HUMAN = "human", _("Human (人为原因)")
    EXTERNAL = "external", _("External (外部原因)")
    DOOR = "door_system", _("Door system (门系统原因)")
    CONTROL = "control_system", _("Control system (控制系统原因)")
    TRACTION = "traction_system", _("Traction system (曳引系统)")
    SAFETY = "safety_devices", _("Safety devices (安全保护装置)")
    OTHER = "other", _("Other (其他)")


class AuthorityLevel(models.TextChoices):
    """Level of the authority supervising a listed hazard (挂牌督办)."""

    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")


class Hazard(models.Model):
    """One hazard (隐患) on one elevator.

    ``deadline`` is the rectification date (inclusive); a hazard in an open
    state past its deadline is overdue (derived, see :meth:`is_overdue`).
    ``version`` increases on every write: an edit based on an older version is
    refused (optimistic concurrency).
    ``source_ref`` identifies an imported or automatic lead so a re-run finds it.
    """

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="hazards")
    area = models.ForeignKey("core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+",
                             help_text=_("the elevator's area when filed (for statistics)"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    cause_class = models.CharField(_("cause class"), max_length=16, choices=CauseClass.choices, blank=True)
    cause_item = models.CharField(_("cause item"), max_length=200, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, default=Level.GENERAL)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    responsible_unit = models.ForeignKey("registry.Organisation", verbose_name=_("responsible unit"), null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="hazards")
    deadline = models.DateField(_("rectification deadline"), null=True, blank=True)
    occurred_on = models.DateField(_("found on"), null=True, blank=True)
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    listed = models.BooleanField(_("listed supervision (挂牌督办)"), default=False)
    listed_authority = models.CharField(_("supervising authority level"), max_length=16, choices=AuthorityLevel.choices, blank=True)
    listed_at = models.DateTimeField(_("listed at"), null=True, blank=True)
    rectification_note = models.TextField(_("rectification note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    sent_back_reason = models.TextField(_("sent-back reason"), blank=True)
    sent_back_count = models.PositiveIntegerField(_("times sent back"), default=0)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)
    recurrence_count = models.PositiveIntegerField(_("recurrences"), default=0)
    version = models.PositiveIntegerField(_("version"), default=1)
    extra = models.JSONField(_("other source fields"), default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], condition=~Q(source_ref=""), name="hazard_unique_source_ref"),
            models.CheckConstraint(condition=~Q(listed=True) | ~Q(listed_authority=""), name="hazard_listed_has_authority"),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"], name="hazard_state_deadline_idx"),
            models.Index(fields=["state", "closed_at"], name="hazard_state_closed_idx"),
            models.Index(fields=["elevator", "state"], name="hazard_elevator_state_idx"),
            models.Index(fields=["responsible_unit", "state"], name="hazard_unit_state_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("hazards:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_overdue(self, today: dt.date | None = None) -> bool:
        """True if open and past its deadline (derived from the deadline; never stored)."""
        today = today or self.local_today()
        return self.is_open and self.deadline is not None and self.deadline < today

    def days_overdue(self, today: dt.date | None = None) -> int:
        today = today or self.local_today()
        return (today - self.deadline).days if self.is_overdue(today) else 0

    def cause_item_display(self) -> str:
        """The cause item's label in the active language (:data:`liftsafe.emergency.causes.CAUSES`, docs/domain §4.3).
        Empty when unset or when the item only repeats its class (e.g. traction_system/other)."""
        from liftsafe.emergency.causes import CAUSES

        items = CAUSES.get(self.cause_class, ("", {}))[1]
        if not self.cause_item or (self.cause_item == "other" and len(items) <= 1):
            return ""
        label = items.get(self.cause_item)
        return self.cause_item if label is None else str(label)

    def days_left(self, today: dt.date | None = None) -> int | None:
        today = today or self.local_today()
        return (self.deadline - today).days if self.deadline and self.is_open else None

    def local_today(self) -> dt.date:
        """Today where the lift is: the date in the zone of the hazard's area (issue 16; ``liftsafe.core.zones``)."""
        from liftsafe.core.zones import local_today

        return local_today(self.area_id)


def evidence_storage():
    """Storage for evidence files: ``STORAGES["hazard_evidence"]`` if configured (e.g. an S3-compatible
    backend of django-storages), else the default storage (local files under MEDIA_ROOT)."""
    from django.core.files.storage import storages

    return storages["hazard_evidence"] if "hazard_evidence" in settings.STORAGES else storages["default"]


class Evidence(models.Model):
    """A rectification evidence file (photo or document) of a hazard; served only through a scoped view."""

    class Kind(models.TextChoices):
        RECTIFICATION = "rectification", _("Rectification evidence")
        VERIFICATION = "verification", _("Verification record")
        REPORT = "report", _("Evidence of the report")

    hazard = models.ForeignKey(Hazard, verbose_name=_("hazard"), on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RECTIFICATION)
    file = models.FileField(_("file"), upload_to="hazards/evidence/%Y/%m/", storage=evidence_storage, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    note = models.CharField(_("note"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class StopUseOrder(models.Model):
    """A stop-use order (责令停用) on an elevator, issued for a hazard; lifted only by its verified close-out."""

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="stop_use_orders")
    hazard = models.ForeignKey(Hazard, verbose_name=_("hazard"), on_delete=models.PROTECT, related_name="stop_use_orders")
    reason = models.CharField(_("reason"), max_length=255)
    ordered_on = models.DateField(_("ordered on"))
    ordered_at = models.DateTimeField(default=timezone.now)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("stop-use order")
        verbose_name_plural = _("stop-use orders")
        ordering = ["-ordered_at"]
        constraints = [
            models.UniqueConstraint(fields=["elevator"], condition=Q(lifted_at__isnull=True), name="stop_use_one_active_per_elevator"),
        ]

    def __str__(self) -> str:
        return f"{self.elevator} {self.ordered_on}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class Campaign(models.Model):
    """A look-back campaign (回头看) over an area and a closing period; its sample is reproducible from ``seed``."""

    name = models.CharField(_("name"), max_length=200)
    area = models.ForeignKey("core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("closed from"))
    period_end = models.DateField(_("closed until"))
    rate = models.FloatField(_("sampling rate"))
    seed = models.BigIntegerField(_("random seed"))
    population = models.PositiveIntegerField(_("closed hazards in scope"), default=0)
    sample_size = models.PositiveIntegerField(_("re-checks"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("look-back campaign")
        verbose_name_plural = _("look-back campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("hazards:campaign_detail", args=[self.pk])


class Recheck(models.Model):
    """One re-check task of a campaign: a sampled closed hazard, its stratum and the result."""

    class Result(models.TextChoices):
        PENDING = "pending", _("Awaiting re-check")
        PASS = "pass", _("Pass")
        RECURRENCE = "recurrence", _("Recurrence")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="rechecks")
    hazard = models.ForeignKey(Hazard, verbose_name=_("hazard"), on_delete=models.PROTECT, related_name="rechecks")
    stratum = models.CharField(_("stratum"), max_length=16, choices=Level.choices)
    listed = models.BooleanField(_("included as listed"), default=False)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.PENDING)
    note = models.TextField(_("note"), blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("re-check")
        verbose_name_plural = _("re-checks")
        ordering = ["campaign", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "hazard"], name="recheck_unique_per_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.hazard_id}"
