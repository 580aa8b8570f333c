"""Safety-publicity content: articles and campaigns (one model, ``kind``), their images and view/scan counters.

The Markdown source is kept as written; its sanitised HTML (:func:`.domain.render_markdown`) is computed on
every save and sanitised again when a page renders it. Counters hold numbers only: no address, no cookie,
no user (docs/domain §15.8, issue 14).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from liftsafe.registry.codes import PLACE_TYPE_CHOICES

from .domain import NATIONAL_KEYS, Theme, render_markdown


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Kind(models.TextChoices):
    ARTICLE = "article", _("Article")
    CAMPAIGN = "campaign", _("Campaign")


NATIONAL_CHOICES = [("", _("None"))] + [(k, k) for k in NATIONAL_KEYS]


def image_path(instance, filename: str) -> str:
    return f"publicity/{filename}"


class Article(models.Model):
    """An article or a campaign of an area's regulator.

    Bilingual: ``title_zh``/``body_zh`` are required, the English fields optional (the page falls back to
    Chinese). ``audiences``: list of :class:`.domain.Audience` values. A campaign runs ``starts_on``..``ends_on``
    (inclusive local dates) and, when ``place_types`` (codes of docs/domain §2) is not empty, shows ``notice_*``
    on the public QR pages of the lifts of those place types in its area. Visible to the public when the state
    is scheduled or published, ``publish_at`` ≤ now and ``unpublish_at`` (if set) > now.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ARTICLE)
    area = models.ForeignKey("core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    summary_zh = models.CharField(_("summary (Chinese)"), max_length=300, blank=True)
    summary_en = models.CharField(_("summary (English)"), max_length=300, blank=True)
    body_zh = models.TextField(_("text (Chinese, Markdown)"))
    body_en = models.TextField(_("text (English, Markdown)"), blank=True)
    body_zh_html = models.TextField(editable=False, blank=True)
    body_en_html = models.TextField(editable=False, blank=True)
    audiences = models.JSONField(_("audiences"), default=list, blank=True)
    theme = models.CharField(_("theme"), max_length=16, choices=Theme.choices, default=Theme.GENERAL)
    national_date = models.CharField(_("national date"), max_length=32, choices=NATIONAL_CHOICES, blank=True)
    image = models.FileField(_("image"), upload_to=image_path, blank=True, max_length=200)
    image_alt_zh = models.CharField(_("image description (Chinese)"), max_length=200, blank=True)
    image_alt_en = models.CharField(_("image description (English)"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    unpublish_at = models.DateTimeField(_("unpublish at"), null=True, blank=True)
    starts_on = models.DateField(_("campaign starts on"), null=True, blank=True)
    ends_on = models.DateField(_("campaign ends on"), null=True, blank=True)
    place_types = models.JSONField(_("place types"), default=list, blank=True)
    notice_zh = models.CharField(_("QR-page notice (Chinese)"), max_length=200, blank=True)
    notice_en = models.CharField(_("QR-page notice (English)"), max_length=200, blank=True)
    generated = models.BooleanField(_("generated (demo data)"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["body_zh_html", "body_en_html"])

    class Meta:
        verbose_name = _("publicity article")
        verbose_name_plural = _("publicity articles")
        ordering = ["-publish_at", "-id"]
        indexes = [models.Index(fields=["state", "publish_at"], name="publicity_state_pub_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(unpublish_at__isnull=True) | models.Q(publish_at__isnull=True)
                                   | models.Q(unpublish_at__gt=models.F("publish_at")), name="publicity_unpublish_after_publish"),
            models.CheckConstraint(condition=models.Q(ends_on__isnull=True) | models.Q(starts_on__isnull=True)
                                   | models.Q(ends_on__gte=models.F("starts_on")), name="publicity_campaign_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title_zh

    def save(self, *args, **kwargs):
        """Sanitise on save: the HTML of both languages is recomputed from the Markdown every time."""
        self.body_zh_html = render_markdown(self.body_zh)
        self.body_en_html = render_markdown(self.body_en)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and ({"body_zh", "body_en"} & set(update_fields)):
            kwargs["update_fields"] = set(update_fields) | {"body_zh_html", "body_en_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("publicity:article_detail", args=[self.pk])

    def audience_labels(self) -> list[str]:
        from .domain import Audience

        names = dict(Audience.choices)
        return [str(names.get(a, a)) for a in self.audiences]

    def place_type_labels(self) -> list[str]:
        names = dict(PLACE_TYPE_CHOICES)
        return [str(names.get(p, p)) for p in self.place_types]


class Counter(models.Model):
    """A count per article, kind and local day: page views of the public article page, QR scans of the lift
    pages that showed the campaign's notice. Numbers only; updated with ``F()`` (no lost updates)."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Page views")
        QR_SCAN = "qr_scan", _("QR scans")

    article = models.ForeignKey(Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="counters")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    day = models.DateField(_("day"))
    count = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("publicity counter")
        verbose_name_plural = _("publicity counters")
        constraints = [models.UniqueConstraint(fields=["article", "kind", "day"], name="publicity_counter_unique")]
