"""Numbered official documents of the regulator (docs/domain §7): stop-use order (停止使用通知), rectification
notice (整改通知书), special-equipment safety supervision instruction (特种设备安全监察指令书).

Append-only: a document is never edited; a correction is a new document that ``supersedes`` the old one and
both are kept. Numbers come from one :class:`Series` per issuing authority (area) and year, advanced under a
row lock in the issuing transaction (no gap, no reuse).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Kind(models.TextChoices):
    STOP_USE = "stop_use", _("Stop-use order")
    RECTIFICATION = "rectification", _("Rectification notice")
    INSTRUCTION = "instruction", _("Safety supervision instruction")


# The short word of each kind in the document number (特种设备安全监察指令书 → "监察指令").
KIND_WORD = {Kind.STOP_USE: "停用", Kind.RECTIFICATION: "整改", Kind.INSTRUCTION: "监察指令"}


class Series(models.Model):
    """The number series of one issuing authority (area) in one year: ``last`` is the last number given."""

    area = models.ForeignKey("core.Area", verbose_name=_("issuing authority"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("document number series")
        verbose_name_plural = _("document number series")
        constraints = [models.UniqueConstraint(fields=["area", "year"], name="notices_series_area_year")]

    def __str__(self):
        return f"{self.area.code} {self.year}: {self.last}"


class Document(models.Model):
    """One issued official document (never edited once issued)."""

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    authority = models.ForeignKey("core.Area", verbose_name=_("issuing authority"), on_delete=models.PROTECT, related_name="+")
    authority_name = models.CharField(_("authority name"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year"))
    seq = models.PositiveIntegerField(_("number in the series"))
    number = models.CharField(_("document number"), max_length=64, unique=True)
    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="documents")
    addressee = models.ForeignKey("registry.Organisation", verbose_name=_("addressee (use unit)"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="documents_received")
    hazard = models.ForeignKey("hazards.Hazard", verbose_name=_("hazard"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="documents")
    facts = models.TextField(_("facts found"))
    requirements = models.TextField(_("requirements"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    issued_on = models.DateField(_("date of issue"))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, on_delete=models.SET_NULL, related_name="+")
    supersedes = models.OneToOneField("self", verbose_name=_("supersedes"), null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["authority", "year", "seq"], name="notices_document_series_seq")]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("notices:detail", args=[self.pk])


class Delivery(models.Model):
    """Delivery of a document to its addressee's account, and the first opening by one of the addressee's users."""

    document = models.OneToOneField(Document, verbose_name=_("document"), on_delete=models.PROTECT, related_name="delivery")
    organisation = models.ForeignKey("registry.Organisation", verbose_name=_("delivered to"), on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(_("delivered at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    read_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("read by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.document.number} → {self.organisation}"
