"""Publicity reads. Staff reads take the user first and are scoped (:func:`articles_for`); the public read
path is separate (:func:`public_articles`, :func:`public_article`, :func:`public_notices_for`) and returns
frozen dataclasses of whitelisted fields only: no author, no draft, nothing unpublished.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone, translation

from liftsafe.core.errors import NotFound
from liftsafe.core.models import Role
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import area_zone

from .domain import Audience, Theme, sanitise_html
from .models import Article, Counter, Kind, State


# --------------------------------------------------------------------------- staff
def articles_for(user) -> QuerySet[Article]:
    """Articles ``user`` manages: administrators all; regulators those of their area and below; others none."""
    scope = scope_of(user)
    qs = Article.objects.select_related("area")
    if scope.is_admin:
        return qs
    if scope.role == Role.REGULATOR and scope.area_path:
        return qs.filter(area__path__startswith=scope.area_path)
    return qs.none()


def article_get(user, pk: int) -> Article:
    """One article ``user`` manages. Raises NotFound (missing or out of scope, indistinguishable)."""
    obj = articles_for(user).filter(pk=pk).first()
    if obj is None:
        raise NotFound("article not found")
    return obj


def counts(article_ids) -> dict[int, dict[str, int]]:
    """``{article id: {"view": n, "qr_scan": n}}`` totals over all days (0 when never counted)."""
    out = {pk: {Counter.Kind.VIEW.value: 0, Counter.Kind.QR_SCAN.value: 0} for pk in article_ids}
    for r in (Counter.objects.filter(article_id__in=list(article_ids)).values("article_id", "kind")
              .annotate(n=Sum("count")).order_by()):
        out[r["article_id"]][r["kind"]] = int(r["n"] or 0)
    return out


# --------------------------------------------------------------------------- public projection
def visible_q(at: dt.datetime) -> Q:
    """Public visibility at ``at``: scheduled or published, ``publish_at`` ≤ at, not yet unpublished.

    Does not depend on the ``publicity_tick`` task having run: a scheduled article appears at its time and
    disappears at ``unpublish_at`` even if the task is late."""
    return (Q(state__in=[State.SCHEDULED, State.PUBLISHED], publish_at__isnull=False, publish_at__lte=at)
            & (Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=at)))


def _lang_en() -> bool:
    return (translation.get_language() or "zh-hans").lower().startswith("en")


@dataclass(frozen=True)
class PublicArticle:
    """What the public sees of an article (in the current language, falling back to Chinese)."""

    id: int
    kind: str
    title: str
    summary: str
    body_html: str           # sanitised again at projection time (sanitised on save AND on render)
    language: str            # "zh-hans" or "en": the language the text is in (fallback shown to the reader)
    fallback: bool           # English requested, Chinese shown
    audiences: tuple[str, ...]
    audience_labels: tuple[str, ...]
    theme: str
    theme_label: str
    area_name: str
    published_at: dt.datetime | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    has_image: bool
    image_alt: str


def _project(a: Article) -> PublicArticle:
    en = _lang_en()
    use_en = en and bool(a.title_en.strip()) and bool(a.body_en.strip())
    labels = dict(Audience.choices)
    return PublicArticle(
        id=a.pk, kind=a.kind,
        title=a.title_en if use_en else a.title_zh,
        summary=(a.summary_en if use_en else a.summary_zh),
        body_html=sanitise_html(a.body_en_html if use_en else a.body_zh_html),
        language="en" if use_en else "zh-hans", fallback=en and not use_en,
        audiences=tuple(x for x in a.audiences if x in labels),
        audience_labels=tuple(str(labels[x]) for x in a.audiences if x in labels),
        theme=a.theme, theme_label=str(dict(Theme.choices).get(a.theme, a.theme)),
        area_name=(a.area.name_en or a.area.name) if en else a.area.name,
        published_at=a.publish_at, starts_on=a.starts_on, ends_on=a.ends_on,
        has_image=bool(a.image), image_alt=(a.image_alt_en if use_en and a.image_alt_en else a.image_alt_zh),
    )


def public_articles(*, at: dt.datetime | None = None, kind: str | None = None, audience: str | None = None,
                    limit: int = 200) -> list[PublicArticle]:
    """Articles and campaigns the public may read at ``at`` (default now), newest first, at most ``limit``.

    ``kind``: "article" / "campaign" / None (both); ``audience``: an :class:`Audience` value or None.
    Unknown values give an empty list (never an error: the public list ignores bad filters)."""
    at = at or timezone.now()
    qs = Article.objects.select_related("area").filter(visible_q(at))
    if kind:
        qs = qs.filter(kind=kind) if kind in Kind.values else qs.none()
    rows = list(qs.order_by("-publish_at", "-id")[: max(1, limit) * (4 if audience else 1)])
    if audience:
        rows = [a for a in rows if audience in (a.audiences or [])][:limit]
    return [_project(a) for a in rows]


def public_article_obj(pk: int, at: dt.datetime | None = None) -> Article:
    """The visible article ``pk`` (model, for the image view and counters). Raises NotFound otherwise."""
    obj = Article.objects.select_related("area").filter(visible_q(at or timezone.now()), pk=pk).first()
    if obj is None:
        raise NotFound("article not found")
    return obj


def public_article(pk: int, at: dt.datetime | None = None) -> PublicArticle:
    """The public projection of article ``pk`` if visible at ``at``. Raises NotFound (draft, scheduled for
    later, archived, unpublished, missing: all alike)."""
    return _project(public_article_obj(pk, at))


@dataclass(frozen=True)
class PublicNotice:
    """A campaign notice for one lift's public (QR) page: whitelisted fields only."""

    campaign_id: int
    title: str
    text: str
    theme: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    url: str


def public_notices_for(elevator, at: dt.datetime | None = None) -> list[PublicNotice]:
    """The campaign notices to show on ``elevator``'s public QR page at ``at`` (default now).

    A campaign applies when it is publicly visible at ``at`` (:func:`visible_q`), the lift's area is the
    campaign's area or below it, the campaign runs on the local date of ``at`` in the lift's area
    (``starts_on``..``ends_on`` inclusive, :func:`liftsafe.core.zones.area_zone`), it has a notice text and
    its ``place_types`` (docs/domain §2 codes) include the lift's place type — an empty list targets every
    place type; a lift with an unknown place type gets only campaigns without a place-type target.
    Ordered by start date (the newest campaign first). Text in the current language, falling back to Chinese.

    For the disclosure QR page (wired by the integrator); record the scans with
    :func:`liftsafe.publicity.services.count_qr_scans`.
    """
    from django.urls import reverse

    at = at or timezone.now()
    area = elevator.area
    day = timezone.localtime(at, area_zone(area)).date()
    prefixes = [area.path[: i + 1] for i, ch in enumerate(area.path) if ch == "/"]
    qs = (Article.objects.filter(visible_q(at), kind=Kind.CAMPAIGN, area__path__in=prefixes)
          .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=day), Q(ends_on__isnull=True) | Q(ends_on__gte=day))
          .exclude(notice_zh="").order_by("-starts_on", "-id"))
    en = _lang_en()
    out = []
    for c in qs[:20]:
        targets = [int(p) for p in (c.place_types or [])]
        if targets and elevator.place_type not in targets:
            continue
        use_en = en and bool(c.notice_en.strip())
        out.append(PublicNotice(campaign_id=c.pk, title=(c.title_en if use_en and c.title_en else c.title_zh),
                                text=c.notice_en if use_en else c.notice_zh, theme=c.theme, starts_on=c.starts_on,
                                ends_on=c.ends_on, url=reverse("publicity_public:article", args=[c.pk])))
    return out
