"""Rating records: the sheets (configuration), the ratings (draft → published → objected → decided), objections,
and the bad-credit / blacklist entries. Every record keeps its history (simple-history): a revised grade, a
decision, a lifted blacklist entry are new versions, never deletions (docs/domain §15.4)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Sheet(models.Model):
    """A scoring sheet as configuration (validated by :func:`liftsafe.rating.domain.validate_sheet`)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    config = models.JSONField(_("configuration"))
    active = models.BooleanField(_("active"), default=True)
    shipped = models.BooleanField(_("shipped example"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scoring sheet")
        verbose_name_plural = _("scoring sheets")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RatingState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    OBJECTED = "objected", _("Objection under review")
    DECIDED = "decided", _("Objection decided")


PUBLIC_STATES = (RatingState.PUBLISHED, RatingState.OBJECTED, RatingState.DECIDED)


class Rating(models.Model):
    """One unit's rating for one sheet and period. ``rated`` False = not rated (too small a sample): no score and
    no grade. ``items`` holds each item's value, points and evidence (``[{code, label, metric, value, points,
    veto_hit, evidence: [{kind, id, label, url}]}]``); ``hard_hits`` the hard rules met."""

    unit = models.ForeignKey("registry.Organisation", verbose_name=_("maintenance unit"), on_delete=models.PROTECT,
                             related_name="ratings", limit_choices_to={"kind": "maintenance_unit"})
    sheet = models.ForeignKey(Sheet, verbose_name=_("scoring sheet"), on_delete=models.PROTECT, related_name="ratings")
    sheet_config = models.JSONField(_("sheet as applied"))
    area = models.ForeignKey("core.Area", verbose_name=_("rating area"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    state = models.CharField(_("state"), max_length=16, choices=RatingState.choices, default=RatingState.DRAFT, db_index=True)
    rated = models.BooleanField(_("rated"), default=False)
    score = models.FloatField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=8, blank=True)
    veto = models.BooleanField(_("veto item hit"), default=False)
    sample = models.FloatField(_("sample"), null=True, blank=True)
    unknown_items = models.PositiveSmallIntegerField(_("unknown items"), default=0)
    unknown_points = models.FloatField(_("points unknown at most"), null=True, blank=True)
    items = models.JSONField(_("items"), default=list)
    hard_hits = models.JSONField(_("hard rules met"), default=list, blank=True)
    scored_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("scored by"), null=True, on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField(_("scored at"), auto_now_add=True)
    published_on = models.DateField(_("published on"), null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    objection_until = models.DateField(_("objections until"), null=True, blank=True)
    objection_basis = models.CharField(_("objection window counted in"), max_length=16, blank=True)
    reply = models.TextField(_("the unit's reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("maintenance-unit rating")
        verbose_name_plural = _("maintenance-unit ratings")
        ordering = ["-period_end", "unit__name"]
        constraints = [models.UniqueConstraint(fields=["unit", "sheet", "period_start"], name="rating_one_per_unit_sheet_period"),
                       models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")), name="rating_period_order")]

    def __str__(self) -> str:
        return f"{self.unit} {self.period_start:%Y-%m} {self.grade or '—'}"

    def get_absolute_url(self) -> str:
        return reverse("rating:detail", args=[self.pk])


class Objection(models.Model):
    """An objection (申诉) against a published rating, with evidence; decided by a regulator other than the scorer."""

    class Decision(models.TextChoices):
        UPHELD = "upheld", _("Rating upheld")
        REVISED = "revised", _("Rating revised")

    rating = models.ForeignKey(Rating, verbose_name=_("rating"), on_delete=models.PROTECT, related_name="objections")
    text = models.TextField(_("grounds"))
    file = models.FileField(_("evidence file"), upload_to="rating/objections/%Y/%m/", blank=True, max_length=255)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("filed by"), on_delete=models.PROTECT, related_name="+")
    filed_at = models.DateTimeField(_("filed at"))
    decide_by = models.DateField(_("decide by"))
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    revised_grade = models.CharField(_("revised grade"), max_length=8, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["-filed_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rating}"


class CreditEntry(models.Model):
    """A bad-credit (不良信用记录) or blacklist (黑名单) entry of a maintenance unit; lifted by a regulator's decision
    on the unit's application after ``rating_credit_lift_after_days`` without repeat. Never deleted."""

    class Kind(models.TextChoices):
        BAD_CREDIT = "bad_credit", _("Bad-credit record")
        BLACKLIST = "blacklist", _("Blacklist")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        LIFT_REQUESTED = "lift_requested", _("Lifting applied for")
        LIFTED = "lifted", _("Lifted")

    ACTIVE = (State.ACTIVE, State.LIFT_REQUESTED)

    unit = models.ForeignKey("registry.Organisation", verbose_name=_("maintenance unit"), on_delete=models.PROTECT, related_name="credit_entries")
    kind = models.CharField(_("list"), max_length=16, choices=Kind.choices)
    rule_code = models.CharField(_("rule"), max_length=40)
    rating = models.ForeignKey(Rating, verbose_name=_("rating"), null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries")
    params = models.JSONField(_("rule values"), default=dict, blank=True)
    listed_on = models.DateField(_("listed on"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True)
    application = models.TextField(_("lifting application"), blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    decision_reasons = models.TextField(_("decision reasons"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    lifted_on = models.DateField(_("lifted on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit list entry")
        verbose_name_plural = _("credit list entries")
        ordering = ["-listed_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_kind_display()}"

    def get_absolute_url(self) -> str:
        return reverse("rating:credit")
