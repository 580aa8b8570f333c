"""Publicity facts with no user and no HTTP: the national campaign calendar, audiences, themes and the
Markdown → sanitised HTML rule (docs/domain §15.8).

Everything here is pure: other apps (the disclosure QR page, the demo) import these names, never restate them.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import markdown as _markdown
import nh3
from django.db import models
from django.utils.translation import gettext_lazy as _

from liftsafe.rules import rule


class Audience(models.TextChoices):
    """Who a piece of publicity is written for (docs/domain §15.8)."""

    CHILDREN = "children", _("Children")
    PARENTS = "parents", _("Parents")
    RESIDENTS = "residents", _("Residents")
    PROPERTY_MANAGERS = "property_managers", _("Property managers")


class Theme(models.TextChoices):
    """The "三进" activities (into schools, communities, cars; docs/domain §15.8) plus general publicity."""

    GENERAL = "general", _("General safety")
    SCHOOLS = "schools", _("Into schools")
    COMMUNITIES = "communities", _("Into communities")
    CARS = "cars", _("Into the lift car")


@dataclass(frozen=True)
class CampaignDate:
    """One national publicity date or period of a year: ``start``/``end`` inclusive local dates."""

    key: str
    name: str
    start: dt.date
    end: dt.date
    theme: str
    audiences: tuple[str, ...]
    source: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def last_weekday(year: int, month: int, weekday: int) -> dt.date:
    """The last ``weekday`` (0 = Monday) of ``month`` in ``year``."""
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th (1-based) ``weekday`` (0 = Monday) of ``month``. Raises ValueError if it does not exist."""
    first = dt.date(year, month, 1)
    d = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    if d.month != month:
        raise ValueError(f"there is no weekday {weekday} number {n} in {year}-{month:02d}")
    return d


def national_dates(year: int) -> list[CampaignDate]:
    """The national safety-publicity dates of ``year``, computed (never typed), in date order.

    - 全国中小学生安全教育日: the Monday of the last week of March = the last Monday of March
      (docs/domain §15.8; 2022-03-28 was the 27th).
    - 六一 International Children's Day: 1 June.
    - 质量月 (quality month): the whole of September.
    - 电梯安全宣传周: no fixed national date; held in quality month. The week (Monday–Sunday) that starts on the
      ``publicity_safety_week_monday``-th Monday of September (a configurable rule, docs/domain §15.8).

    Raises:
        ValueError: ``year`` outside 1996–9998 (the school safety day exists since 1996).
    """
    if not 1996 <= int(year) <= 9998:
        raise ValueError("year must be between 1996 and 9998")
    year = int(year)
    week_start = nth_weekday(year, 9, 0, int(rule("publicity_safety_week_monday")))
    src = "docs/domain §15.8"
    dates = [
        CampaignDate("school_safety_day", str(_("National school safety education day")), last_weekday(year, 3, 0),
                     last_weekday(year, 3, 0), Theme.SCHOOLS, (Audience.CHILDREN, Audience.PARENTS), src),
        CampaignDate("childrens_day", str(_("Children's Day")), dt.date(year, 6, 1), dt.date(year, 6, 1), Theme.SCHOOLS,
                     (Audience.CHILDREN, Audience.PARENTS), src),
        CampaignDate("quality_month", str(_("Quality month")), dt.date(year, 9, 1), dt.date(year, 9, 30), Theme.COMMUNITIES,
                     (Audience.RESIDENTS, Audience.PROPERTY_MANAGERS), src),
        CampaignDate("elevator_safety_week", str(_("Elevator safety publicity week")), week_start,
                     week_start + dt.timedelta(days=6), Theme.CARS,
                     (Audience.CHILDREN, Audience.PARENTS, Audience.RESIDENTS, Audience.PROPERTY_MANAGERS), src),
    ]
    return sorted(dates, key=lambda d: (d.start, d.key))


def national_date(year: int, key: str) -> CampaignDate:
    """The national date ``key`` of ``year`` (KeyError for an unknown key)."""
    for d in national_dates(year):
        if d.key == key:
            return d
    raise KeyError(key)


NATIONAL_KEYS = ("school_safety_day", "childrens_day", "quality_month", "elevator_safety_week")

# --------------------------------------------------------------------------- Markdown and sanitising
#: the only HTML an article may contain after sanitising (anything else is dropped, its text kept)
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "a", "img", "table", "thead", "tbody", "tr", "th", "td",
})
#: allowed attributes per tag: no event handlers (on*), no style, no class
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"scope"}}
#: URL schemes a link or image may use (relative URLs are allowed); javascript:, data:, vbscript: are not
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def sanitise_html(html: str) -> str:
    """``html`` reduced to :data:`ALLOWED_TAGS` / :data:`ALLOWED_ATTRIBUTES` / :data:`ALLOWED_SCHEMES` by nh3
    (script and style elements removed with their content, event-handler attributes and javascript: URLs
    dropped, links get ``rel="noopener noreferrer nofollow"``)."""
    return nh3.clean(html or "", tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(ALLOWED_SCHEMES), link_rel="noopener noreferrer nofollow",
                     clean_content_tags={"script", "style"}, strip_comments=True)


def render_markdown(text: str) -> str:
    """Markdown ``text`` → sanitised HTML (:func:`sanitise_html`); raw HTML in the source is sanitised too."""
    html = _markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    return sanitise_html(html)


def is_running(start: dt.date | None, end: dt.date | None, day: dt.date) -> bool:
    """Whether a campaign running ``start``..``end`` (inclusive; None = open) covers ``day``."""
    return (start is None or start <= day) and (end is None or day <= end)
