"""Publicity API: staff routes (regulators, administrators; scoped to their area) and public read routes
(anyone, the public projection only). Errors use the one contract of :mod:`liftsafe.core.errors`.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.core.permissions import require

from . import domain, selectors, services

router = Router(tags=["publicity"])
ERR = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
AudienceT = Literal["children", "parents", "residents", "property_managers"]
ThemeT = Literal["general", "schools", "communities", "cars"]


class ArticleOut(Schema):
    id: int
    kind: str
    area_code: str
    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str
    body_zh: str
    body_en: str
    body_zh_html: str
    body_en_html: str
    audiences: list[str]
    theme: str
    national_date: str
    state: str
    publish_at: dt.datetime | None
    unpublish_at: dt.datetime | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    place_types: list[int]
    notice_zh: str
    notice_en: str
    has_image: bool
    generated: bool
    views: int
    qr_scans: int
    actions: list[str]


class ArticleIn(Schema):
    kind: Literal["article", "campaign"] = "article"
    area: str | None = Field(None, max_length=32, description="area code; default the regulator's own area")
    title_zh: str = Field(..., max_length=200)
    title_en: str = Field("", max_length=200)
    summary_zh: str = Field("", max_length=300)
    summary_en: str = Field("", max_length=300)
    body_zh: str = Field(..., max_length=100_000, description="Markdown; sanitised on save and on render")
    body_en: str = Field("", max_length=100_000)
    audiences: list[AudienceT] = Field(default_factory=list, max_length=4)
    theme: ThemeT = "general"
    national_date: Literal["", "school_safety_day", "childrens_day", "quality_month", "elevator_safety_week"] = ""
    publish_at: dt.datetime | None = None
    unpublish_at: dt.datetime | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    place_types: list[int] = Field(default_factory=list, max_length=15)
    notice_zh: str = Field("", max_length=200)
    notice_en: str = Field("", max_length=200)


class ArticlePatch(Schema):
    title_zh: str | None = Field(None, max_length=200)
    title_en: str | None = Field(None, max_length=200)
    summary_zh: str | None = Field(None, max_length=300)
    summary_en: str | None = Field(None, max_length=300)
    body_zh: str | None = Field(None, max_length=100_000)
    body_en: str | None = Field(None, max_length=100_000)
    audiences: list[AudienceT] | None = Field(None, max_length=4)
    theme: ThemeT | None = None
    publish_at: dt.datetime | None = None
    unpublish_at: dt.datetime | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    place_types: list[int] | None = Field(None, max_length=15)
    notice_zh: str | None = Field(None, max_length=200)
    notice_en: str | None = Field(None, max_length=200)


class PublicArticleOut(Schema):
    id: int
    kind: str
    title: str
    summary: str
    body_html: str
    language: str
    fallback: bool
    audiences: list[str]
    theme: str
    area_name: str
    published_at: dt.datetime | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    has_image: bool


class CampaignDateOut(Schema):
    key: str
    name: str
    start: dt.date
    end: dt.date
    theme: str
    audiences: list[str]
    source: str


def _out(user, a, counts=None) -> dict:
    from .workflow import ARTICLE_FLOW

    c = (counts or selectors.counts([a.pk]))[a.pk]
    return {**{f: getattr(a, f) for f in ("id", "kind", "title_zh", "title_en", "summary_zh", "summary_en", "body_zh", "body_en",
                                          "body_zh_html", "body_en_html", "audiences", "theme", "national_date", "state",
                                          "publish_at", "unpublish_at", "starts_on", "ends_on", "place_types", "notice_zh",
                                          "notice_en", "generated")},
            "area_code": a.area.code, "has_image": bool(a.image), "views": c["view"], "qr_scans": c["qr_scan"],
            "actions": ARTICLE_FLOW.available_names(user, a)}


@router.get("/articles", response={200: list[ArticleOut], **ERR}, summary="Articles and campaigns of your area",
            operation_id="publicity_article_list")
def article_list(request, state: Literal["draft", "scheduled", "published", "archived"] | None = None):
    require(request.user, "publicity.view")
    qs = selectors.articles_for(request.user).order_by("-updated_at", "-id")
    if state:
        qs = qs.filter(state=state)
    rows = list(qs[:500])
    counts = selectors.counts([a.pk for a in rows])
    return [_out(request.user, a, counts) for a in rows]


@router.post("/articles", response={201: ArticleOut, **ERR}, summary="Create a draft article or campaign",
             operation_id="publicity_article_create")
def article_create(request, payload: ArticleIn):
    a = services.article_create(request.user, payload.dict())
    return Status(201, _out(request.user, a))


@router.get("/articles/{article_id}", response={200: ArticleOut, **ERR}, summary="One article",
            operation_id="publicity_article_get")
def article_get(request, article_id: int):
    require(request.user, "publicity.view")
    return _out(request.user, selectors.article_get(request.user, article_id))


@router.patch("/articles/{article_id}", response={200: ArticleOut, **ERR}, summary="Change an article's content",
              operation_id="publicity_article_update")
def article_update(request, article_id: int, payload: ArticlePatch):
    a = services.article_update(request.user, article_id, payload.dict(exclude_unset=True))
    return _out(request.user, a)


@router.post("/articles/{article_id}/{action}", response={200: ArticleOut, **ERR},
             summary="Schedule, publish, archive or return to draft", operation_id="publicity_article_transition")
def article_transition(request, article_id: int, action: Literal["schedule", "publish", "archive", "redraft"]):
    a = services.article_transition(request.user, article_id, action)
    return _out(request.user, a)


@router.get("/public/articles", response={200: list[PublicArticleOut], **ERR}, auth=None,
            summary="Published articles and campaigns (public)", operation_id="publicity_public_articles")
def public_articles(request, audience: AudienceT | None = None, kind: Literal["article", "campaign"] | None = None):
    return [a.__dict__ for a in selectors.public_articles(audience=audience, kind=kind)]


@router.get("/public/articles/{article_id}", response={200: PublicArticleOut, **ERR}, auth=None,
            summary="One published article (public)", operation_id="publicity_public_article")
def public_article(request, article_id: int):
    return selectors.public_article(article_id).__dict__


@router.get("/public/calendar", response={200: list[CampaignDateOut], **ERR}, auth=None,
            summary="National safety-publicity dates of a year (docs/domain §15.8)", operation_id="publicity_calendar")
def calendar(request, year: int | None = None):
    y = year or timezone.localdate().year
    if not 1996 <= y <= 9998:
        raise ValidationError({"year": [_("Give a year between 1996 and 9998.")]})
    return [{**d.__dict__, "theme": str(d.theme), "audiences": [str(x) for x in d.audiences]} for d in domain.national_dates(y)]
