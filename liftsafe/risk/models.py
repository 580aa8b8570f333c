"""Risk models: the current score of each elevator, its colour history, key periods and the red-list tasks.

- :class:`RiskScore` — one row per elevator (the latest computation): score in points, colour, the factors with
  their contributions and evidence references, the unknown share of the weight, the key-period uplift.
- :class:`RiskChange` — a row only when the colour or the factors change (who/what triggered it, old and new).
  Never purged.
- :class:`KeyPeriod` — a time-boxed uplift (Spring Festival, 高考 …) for some areas and place types.
- :class:`RiskTask` — a supervision task created once per red episode of a lift (a hazard lead).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Colour(models.TextChoices):
    BLUE = "blue", _("Blue (low)")
    YELLOW = "yellow", _("Yellow (general)")
    ORANGE = "orange", _("Orange (larger)")
    RED = "red", _("Red (major)")


class RiskScore(models.Model):
    """The current risk of one elevator (written only by :func:`liftsafe.risk.compute.recompute`).

    ``score`` and ``base_score`` are points (Σ weight × value, 0 … total weight); ``base_*`` is before any
    key-period uplift. ``factors``: ``{key: {"value": 0..1 | null, "raw": fact, "weight", "points",
    "evidence": {...}}}``; ``unknown_share`` in [0, 1] is the weight of the factors with no data over the total.
    """

    elevator = models.OneToOneField("registry.Elevator", verbose_name=_("elevator"), on_delete=models.CASCADE,
                                    primary_key=True, related_name="risk")
    score = models.FloatField(_("score"))
    base_score = models.FloatField(_("score before uplift"))
    colour = models.CharField(_("colour"), max_length=8, choices=Colour.choices, db_index=True)
    base_colour = models.CharField(_("colour before uplift"), max_length=8, choices=Colour.choices)
    colour_since = models.DateTimeField(_("colour since"))
    unknown_share = models.FloatField(_("unknown share"))
    factors = models.JSONField(_("factors"), default=dict)
    key_period = models.ForeignKey("risk.KeyPeriod", verbose_name=_("key period"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    replacement = models.BooleanField(_("recommended for replacement"), default=False, db_index=True)
    model_version = models.CharField(_("model version"), max_length=32)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("risk score")
        verbose_name_plural = _("risk scores")
        constraints = [models.CheckConstraint(condition=Q(unknown_share__gte=0) & Q(unknown_share__lte=1), name="risk_unknown_share_range"),
                       models.CheckConstraint(condition=Q(score__gte=F("base_score")), name="risk_uplift_not_negative")]

    def __str__(self) -> str:
        return f"{self.elevator_id} {self.colour} {self.score:.1f}"

    def get_absolute_url(self) -> str:
        return reverse("risk:detail", args=[self.elevator_id])

    @property
    def raised(self) -> bool:
        return self.colour != self.base_colour


class RiskChange(models.Model):
    """A change of an elevator's colour or factors (the colour history); ``old_factors`` / ``new_factors`` hold the
    factors that changed (the first row of a lift: all of them, old empty). ``trigger`` is what recomputed it:
    ``nightly``, ``manual``, ``flow:<name>`` (an input changed), ``key_period_start`` / ``key_period_end``."""

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.CASCADE, related_name="risk_changes")
    at = models.DateTimeField(_("at"), db_index=True)
    trigger = models.CharField(_("trigger"), max_length=64)
    triggered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("triggered by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    key_period = models.ForeignKey("risk.KeyPeriod", verbose_name=_("key period"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="changes")
    old_colour = models.CharField(_("old colour"), max_length=8, choices=Colour.choices, blank=True)
    new_colour = models.CharField(_("new colour"), max_length=8, choices=Colour.choices)
    old_score = models.FloatField(_("old score"), null=True, blank=True)
    new_score = models.FloatField(_("new score"))
    old_factors = models.JSONField(_("old factors"), default=dict, blank=True)
    new_factors = models.JSONField(_("new factors"), default=dict)

    class Meta:
        verbose_name = _("risk change")
        verbose_name_plural = _("risk changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["elevator", "-at"], name="risk_change_elev_at_idx")]

    def __str__(self) -> str:
        return f"{self.elevator_id} {self.old_colour or '-'}→{self.new_colour}"


class UpliftKind(models.TextChoices):
    POINTS = "points", _("Add points")
    BAND = "band", _("One band up")


class KeyPeriod(models.Model):
    """A key period (重点时段): between ``starts_at`` and ``ends_at`` (aware; entered in the area's local time),
    lifts of ``areas`` (and their sub-areas) whose place type is in ``place_types`` (empty = every place type)
    are raised by ``uplift_points`` or one band. The uplift starts and ends by itself (``risk.tasks``);
    ``applied_at`` / ``expired_at`` record when it did."""

    name = models.CharField(_("name"), max_length=120)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), db_index=True)
    areas = models.ManyToManyField("core.Area", verbose_name=_("areas"), related_name="+")
    place_types = models.JSONField(_("place types"), default=list, blank=True)
    uplift_kind = models.CharField(_("uplift"), max_length=8, choices=UpliftKind.choices, default=UpliftKind.BAND)
    uplift_points = models.FloatField(_("uplift points"), default=0)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("uplift started at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("uplift ended at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords(m2m_fields=[areas])

    class Meta:
        verbose_name = _("key period")
        verbose_name_plural = _("key periods")
        ordering = ["-starts_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="key_period_end_after_start"),
                       models.CheckConstraint(condition=Q(uplift_points__gte=0), name="key_period_points_not_negative")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("risk:key_period", args=[self.pk])


class RiskTask(models.Model):
    """A supervision task for a red lift, created once per red episode (``red_since`` = the score's
    ``colour_since`` when the task was made): a hazard lead (``hazard``) for the regulator to accept."""

    class Kind(models.TextChoices):
        HAZARD_LEAD = "hazard_lead", _("Hazard lead")

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="risk_tasks")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.HAZARD_LEAD)
    red_since = models.DateTimeField(_("red since"))
    score = models.FloatField(_("score"))
    hazard = models.ForeignKey("hazards.Hazard", verbose_name=_("hazard lead"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("red-list task")
        verbose_name_plural = _("red-list tasks")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["elevator", "red_since"], name="risk_task_once_per_red_episode")]

    def __str__(self) -> str:
        return f"{self.elevator_id} {self.red_since:%Y-%m-%d}"
