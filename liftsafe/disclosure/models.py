"""Public disclosure: short public codes per lift, publication settings per area, public reports.

Sources: docs/domain §10 (one QR code per lift as the public entry), §15.6 (what a QR page shows, the label
carries 96333 and the rescue code in print, the Open311 / FixMyStreet report loop).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from .domain import CODE_LENGTH, Category


class PublicCode(models.Model):
    """The lift's short public code (``/q/<code>``): random over an unambiguous alphabet, never derived from
    the registry, so the registry cannot be enumerated through it (docs/domain §15.6)."""

    elevator = models.OneToOneField("registry.Elevator", verbose_name=_("elevator"), on_delete=models.CASCADE,
                                    related_name="public_code")
    code = models.CharField(_("public code"), max_length=CODE_LENGTH, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("public code")
        verbose_name_plural = _("public codes")

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("public:qr", args=[self.code])


class PublicationSetting(models.Model):
    """What the public page shows for the lifts of one area (and its sub-areas without a setting of their own).

    ``fields``: the published :class:`~.domain.PublicField` values; ``page``: whether the public page shows
    more than the codes and 96333; ``accept_reports``: whether the public may file reports there."""

    area = models.OneToOneField("core.Area", verbose_name=_("area"), on_delete=models.CASCADE, related_name="publication")
    page = models.BooleanField(_("public page published"), default=True)
    accept_reports = models.BooleanField(_("accept public reports"), default=True)
    fields = models.JSONField(_("published fields"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("publication setting")
        verbose_name_plural = _("publication settings")

    def __str__(self) -> str:
        return str(self.area)


class ReportState(models.TextChoices):
    NEW = "new", pgettext_lazy("public report", "Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", pgettext_lazy("public report state", "Closed")
    REOPENED = "reopened", _("Reopened")
    MERGED = "merged", _("Merged into another report")
    REJECTED = "rejected", _("Rejected by moderation")
    FORWARDED = "forwarded", _("Forwarded to 96333 or hazard supervision")


OPEN_STATES = frozenset({ReportState.NEW, ReportState.ACKNOWLEDGED, ReportState.IN_PROGRESS, ReportState.REOPENED})


class PublicReport(models.Model):
    """A report filed by a member of the public about one lift (Open311 GeoReport v2 service request).

    ``ticket`` is the reporter's follow-up code (random, not enumerable). ``phone`` is personal data: only the
    lift's use unit, maintenance unit and regulator see it. ``address_hash`` is a keyed hash of the sender's
    IP address, kept only for the rate limit. ``photo`` has been re-encoded with its metadata removed."""

    ticket = models.CharField(_("ticket number"), max_length=12, unique=True)
    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="public_reports")
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    text = models.TextField(_("description"), max_length=2000, blank=True)
    photo = models.ImageField(_("photo"), upload_to="disclosure/reports/%Y/%m/", blank=True, max_length=255)
    phone = models.CharField(_("callback phone"), max_length=20, blank=True)
    state = models.CharField(_("status"), max_length=16, choices=ReportState.choices, default=ReportState.NEW, db_index=True)
    status_note = models.CharField(_("status note"), max_length=500, blank=True)
    expected_on = models.DateField(_("expected date"), null=True, blank=True)
    use_unit = models.ForeignKey("registry.Organisation", verbose_name=_("use unit"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    maintenance_unit = models.ForeignKey("registry.Organisation", verbose_name=_("maintenance unit"), null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    duplicate_of = models.ForeignKey("self", verbose_name=_("duplicate of"), null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="duplicates")
    hazard_id = models.IntegerField(_("hazard lead"), null=True, blank=True)
    case_id = models.IntegerField(_("96333 case"), null=True, blank=True)
    reopen_comment = models.CharField(_("reopen comment"), max_length=500, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    survey_fixed = models.BooleanField(_("survey: fixed"), null=True, blank=True)
    survey_score = models.PositiveSmallIntegerField(_("survey: satisfaction (1-5)"), null=True, blank=True)
    survey_comment = models.CharField(_("survey: comment"), max_length=500, blank=True)
    address_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "address_hash"])

    class Meta:
        verbose_name = _("public report")
        verbose_name_plural = _("public reports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["elevator", "created_at"], name="pubreport_elev_created_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(survey_score__isnull=True) | models.Q(survey_score__gte=1, survey_score__lte=5),
                                              name="pubreport_survey_score_1_5")]

    def __str__(self) -> str:
        return self.ticket

    def get_absolute_url(self) -> str:
        return reverse("disclosure:report_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
