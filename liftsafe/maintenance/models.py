"""Maintenance visits (TSG T5002, docs/domain §5, §15.1), workers' certificates and local catalogue items.

Storage of item results — one JSON object per visit (``Visit.results``), not one row per item:
``{"A-1-05": {"r": "normal|adjusted|abnormal|skipped", "note": str, "action": str, "value": float|null}}``.
At 1,000,000 lifts × ~24 visits a year × 2 years ≈ 48M visits, rows per item would be 30–76 × more
(1.5–3.6 billion rows with their indexes); a visit is written, countersigned, frozen and hashed as one
unit, and every read (worker page, print, verify, regulator drill-down) wants the whole checklist of one
visit. The questions asked across visits (overdue, abnormal items, flags) read the denormalised columns
``abnormal_count`` and ``flags`` instead. One row per visit also makes the hash chain one row per link.

Immutability: once ``frozen`` (countersigned) no path changes or deletes the row:
``save``/``delete`` refuse, :class:`VisitQuerySet` refuses ``update``/``delete`` touching frozen rows,
the admin shows it read-only, and on PostgreSQL a trigger (migration 0002) refuses UPDATE/DELETE of a frozen
row. Corrections are new visits linked by ``corrects``.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .catalogue import LOCATIONS, TIERS

TIER_CHOICES = [("half_monthly", _("Half-monthly")), ("quarterly", _("Quarterly")),
                ("half_yearly", _("Half-yearly")), ("yearly", _("Yearly"))]
LOCATION_CHOICES = [("machine_room", _("Machine room")), ("car_top", _("Car top")), ("car", _("Car")),
                    ("landing_doors", _("Landing doors")), ("pit", _("Pit")), ("unspecified", _("Unspecified"))]
assert [c for c, _l in TIER_CHOICES] == list(TIERS) and [c for c, _l in LOCATION_CHOICES] == list(LOCATIONS)


def frozen_error():
    return ValidationError({"frozen": [_("this record is countersigned and frozen; record a correction instead")]})


class LocalItem(models.Model):
    """An item a deployment adds to the T5002 catalogue (code unique, e.g. ``A-L-01``)."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    annex = models.CharField(_("annex"), max_length=1, choices=[(a, a) for a in "ABCD"])
    tier = models.CharField(_("tier"), max_length=16, choices=TIER_CHOICES)
    location = models.CharField(_("location"), max_length=16, choices=LOCATION_CHOICES)
    text = models.CharField(_("text"), max_length=255)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    min_value = models.FloatField(_("minimum"), null=True, blank=True)
    max_value = models.FloatField(_("maximum"), null=True, blank=True)
    optional = models.BooleanField(_("skip if the lift lacks it"), default=False)
    months = models.JSONField(_("months (seasonal)"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("local checklist item")
        verbose_name_plural = _("local checklist items")

    def __str__(self):
        return f"{self.code} {self.text}"


class Certificate(models.Model):
    """A worker's 特种设备作业人员证 (docs/domain §5, §15.1); valid ``valid_from``..``valid_until`` inclusive."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("worker"), on_delete=models.PROTECT, related_name="certificates")
    number = models.CharField(_("certificate number"), max_length=64)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("worker certificate")
        verbose_name_plural = _("worker certificates")

    def __str__(self):
        return self.number


class VisitQuerySet(models.QuerySet):
    """Refuses bulk ``update``/``delete`` that would touch a frozen visit (raises ValidationError ``frozen``)."""

    def update(self, **kwargs):
        if self.filter(frozen=True).exists():
            raise frozen_error()
        return super().update(**kwargs)

    def delete(self):
        if self.filter(frozen=True).exists():
            raise frozen_error()
        return super().delete()

    update.queryset_only = True
    delete.queryset_only = True


class Visit(models.Model):
    """One maintenance visit of one elevator.

    States: planned → checked_in → checked_out → countersigned (frozen). Times (``checked_in_at``,
    ``checked_out_at``, ``countersigned_at``, ``received_at``) are server times; ``claimed_started_at``
    is what an offline phone said (kept, never trusted: a gap makes the ``back_filled`` flag).
    Location ``latitude``/``longitude`` in degrees, ``accuracy_m`` in metres (the phone's, at check-in).
    ``flags``: evidence flags (:func:`liftsafe.maintenance.domain.evidence_flags`) — never blocking.
    ``content_hash`` = sha256 of the frozen content and ``prev_hash`` (the lift's previous frozen visit),
    ``chain_seq`` its position (1, 2, …) in the lift's chain.
    """

    class State(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CHECKED_IN = "checked_in", _("Checked in")
        CHECKED_OUT = "checked_out", _("Awaiting countersignature")
        COUNTERSIGNED = "countersigned", _("Countersigned")

    class Method(models.TextChoices):
        QR = "qr", _("QR code scan")
        RESCUE_CODE = "rescue_code", _("Rescue code typed")

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="maintenance_visits")
    maintenance_unit = models.ForeignKey("registry.Organisation", verbose_name=_("maintenance unit"), on_delete=models.PROTECT, related_name="maintenance_visits")
    tier = models.CharField(_("tier"), max_length=16, choices=TIER_CHOICES)
    planned_date = models.DateField(_("planned date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PLANNED, db_index=True)
    worker1 = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("first worker"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    worker2 = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("second worker"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    check_in_method = models.CharField(_("check-in method"), max_length=16, choices=Method.choices, blank=True)
    device_id = models.CharField(_("first worker's device"), max_length=64, blank=True)
    worker2_device_id = models.CharField(_("second worker's device"), max_length=64, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("location accuracy (m)"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_out_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    results = models.JSONField(_("item results"), default=dict, blank=True)
    abnormal_count = models.PositiveSmallIntegerField(_("abnormal items"), default=0)
    flags = models.JSONField(_("evidence flags"), default=list, blank=True)
    client_id = models.CharField(_("client submission id"), max_length=64, null=True, blank=True, unique=True)
    claimed_started_at = models.DateTimeField(_("start time reported by the phone"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    countersigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("countersigned by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    countersigned_at = models.DateTimeField(_("countersigned at"), null=True, blank=True)
    frozen = models.BooleanField(_("frozen"), default=False, db_index=True)
    chain_seq = models.PositiveIntegerField(_("chain position"), null=True, blank=True)
    prev_hash = models.CharField(_("previous record hash"), max_length=64, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    generated = models.BooleanField(_("generated by the demo"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("maintenance visit")
        verbose_name_plural = _("maintenance visits")
        ordering = ["-planned_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["elevator", "chain_seq"], name="visit_chain_seq_unique"),
            models.CheckConstraint(condition=models.Q(worker1__isnull=True) | ~models.Q(worker1=models.F("worker2")), name="visit_two_distinct_workers"),
        ]
        indexes = [
            models.Index(fields=["elevator", "state", "checked_out_at"], name="visit_elev_state_out_idx"),
            models.Index(fields=["maintenance_unit", "planned_date"], name="visit_unit_planned_idx"),
        ]

    def __str__(self):
        return f"{self.elevator_id} {self.tier} {self.planned_date or ''}"

    def _stored_frozen(self) -> bool:
        return bool(self.pk) and type(self).objects.filter(pk=self.pk, frozen=True).exists()

    def save(self, *args, **kwargs):
        """Refuses to change a row that is frozen in the database (ValidationError ``frozen``)."""
        if self._stored_frozen():
            raise frozen_error()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.frozen or self._stored_frozen():
            raise frozen_error()
        return super().delete(*args, **kwargs)


class VisitPhoto(models.Model):
    """A photo taken during a visit (JPEG/PNG/WebP, checked by content; size ≤ rule ``maintenance_photo_max_bytes``).

    ``sha256`` (hex) of the bytes is part of the visit's content hash once frozen; a photo of a frozen
    visit cannot be changed or deleted (like the visit)."""

    visit = models.ForeignKey(Visit, verbose_name=_("maintenance visit"), on_delete=models.PROTECT, related_name="photos")
    item = models.CharField(_("item"), max_length=16, blank=True)
    file = models.FileField(_("photo"), upload_to="maintenance/photos/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")

    def save(self, *args, **kwargs):
        if Visit.objects.filter(pk=self.visit_id, frozen=True).exists():
            raise frozen_error()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Visit.objects.filter(pk=self.visit_id, frozen=True).exists():
            raise frozen_error()
        return super().delete(*args, **kwargs)
