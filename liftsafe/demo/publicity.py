"""Demo publicity (issue 14): publish the real 2023 annual report of the MTA replay, and add a few generated
safety-publicity articles and this year's national campaigns (all marked ``generated``).

Idempotent: a published report is never regenerated; an article or campaign of the same generated key
(its Chinese title and, for a campaign, its year) is not created twice. Seeded: no randomness at all.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from django.utils import timezone, translation

from liftsafe.core.models import Area
from liftsafe.publicity import domain as pub_domain
from liftsafe.publicity.models import Article, Kind, State
from liftsafe.reports import services as report_services
from liftsafe.reports.models import Report

Log = Callable[[str], None]

ARTICLES = [
    {"title_zh": "被困电梯怎么办？", "title_en": "Trapped in a lift: what to do",
     "summary_zh": "保持冷静，按警铃，拨打96333。", "summary_en": "Stay calm, press the alarm, call 96333.",
     "body_zh": "## 保持冷静\n\n1. 按下轿厢内的**警铃**或对讲按钮。\n2. 拨打 [96333](tel:96333)，报出轿厢内的**救援识别码**。\n"
                "3. 不要扒门，不要试图从轿厢顶部爬出。\n\n> 救援人员到达后，请听从指挥。",
     "body_en": "## Stay calm\n\n1. Press the **alarm** or intercom button in the car.\n2. Call [96333](tel:96333) and give the "
                "**rescue code** shown in the car.\n3. Do not force the doors or climb out through the roof.\n\n"
                "> Follow the rescuers' instructions when they arrive.",
     "audiences": ["children", "parents", "residents"], "theme": "cars"},
    {"title_zh": "小朋友安全乘梯五不要", "title_en": "Five don'ts for children in lifts",
     "summary_zh": "写给孩子和家长的乘梯须知。", "summary_en": "Lift rules for children and parents.",
     "body_zh": "- 不要在电梯里蹦跳打闹\n- 不要用手扒门、挡门\n- 不要独自乘坐自动扶梯\n- 不要把头、手伸出扶手带\n- 不要乱按按钮",
     "body_en": "- No jumping or playing in the car\n- No forcing or blocking the doors\n- No riding escalators alone\n"
                "- Keep head and hands inside the handrail\n- No pressing buttons for fun",
     "audiences": ["children", "parents"], "theme": "schools"},
    {"title_zh": "物业管理人员：电梯日常检查要点", "title_en": "Property managers: daily lift checks",
     "summary_zh": "使用单位安全管理员每日巡查清单。", "summary_en": "A daily round for the use unit's safety manager.",
     "body_zh": "| 项目 | 要求 |\n|---|---|\n| 警铃与五方对讲 | 可用 |\n| 安全标识与使用登记标志 | 齐全、在有效期内 |\n"
                "| 轿厢照明 | 正常 |\n\n发现问题立即停梯并通知维保单位。",
     "body_en": "| Item | Requirement |\n|---|---|\n| Alarm and five-party intercom | Working |\n"
                "| Safety signs and registration label | Present and valid |\n| Car lighting | Working |\n\n"
                "Stop the lift and call the maintenance unit when something is wrong.",
     "audiences": ["property_managers"], "theme": "communities"},
]

#: national date → place types targeted (docs/domain §2 codes) and the QR-page notice
CAMPAIGNS = {
    "school_safety_day": ([1, 2], "全国中小学生安全教育日：请家长陪同孩子安全乘梯", "School safety day: parents, ride with your children"),
    "childrens_day": ([1, 2, 9], "六一儿童节：小朋友不要在电梯里打闹", "Children's Day: no playing in the lift"),
    "quality_month": ([], "质量月：发现电梯隐患请拨打96333或扫码报告", "Quality month: report lift hazards via 96333 or this page"),
    "elevator_safety_week": ([], "电梯安全宣传周：被困请按警铃并拨打96333", "Lift safety week: trapped? press the alarm and call 96333"),
}


@dataclass
class PublicityResult:
    report_id: int | None = None
    report_published: bool = False
    articles_created: int = 0
    campaigns_created: int = 0
    notes: list[str] = field(default_factory=list)


def publish_annual_report(area_code: str, year: int = 2023, *, now: dt.datetime | None = None, log: Log = lambda m: None):
    """Generate (as the platform) and publish the ``year`` annual report of ``area_code`` in Chinese, unless it is
    already published. Returns ``(report, published_now)``."""
    existing = Report.objects.filter(area__code=area_code, period_kind="year", period_start=dt.date(year, 1, 1),
                                     language="zh-hans").first()
    if existing is not None and existing.is_published:
        return existing, False
    report = report_services.generate_report(None, area_code=area_code, period=str(year), language="zh-hans",
                                             scheduled=True, now=now)
    report = report_services.publish_report(None, report, now=now)
    log(f"published the {year} report of {area_code} (report {report.pk})")
    return report, True


def seed_publicity(area_code: str, *, report_year: int = 2023, now: dt.datetime | None = None,
                   log: Log = lambda m: None) -> PublicityResult:
    """The demo's publicity: the published ``report_year`` report of ``area_code``, :data:`ARTICLES` and this
    year's national campaigns (:func:`liftsafe.publicity.domain.national_dates`) of that area, all published and
    marked generated. Idempotent."""
    now = now or timezone.now()
    area = Area.objects.get(code=area_code)
    res = PublicityResult()
    report, res.report_published = publish_annual_report(area_code, report_year, now=now, log=log)
    res.report_id = report.pk
    for i, spec in enumerate(ARTICLES):
        if Article.objects.filter(generated=True, area=area, title_zh=spec["title_zh"]).exists():
            continue
        Article.objects.create(area=area, kind=Kind.ARTICLE, state=State.PUBLISHED, generated=True,
                               publish_at=now - dt.timedelta(days=30 - i), **spec)
        res.articles_created += 1
    year = timezone.localdate(now).year
    with translation.override("en"):
        names_en = {d.key: d.name for d in pub_domain.national_dates(year)}
    with translation.override("zh-hans"):
        dates = pub_domain.national_dates(year)
    for d in dates:
        place_types, notice_zh, notice_en = CAMPAIGNS[d.key]
        title_zh = f"{year}年{d.name}"
        if Article.objects.filter(generated=True, area=area, kind=Kind.CAMPAIGN, national_date=d.key,
                                  starts_on=d.start).exists():
            continue
        Article.objects.create(
            area=area, kind=Kind.CAMPAIGN, state=State.PUBLISHED, generated=True, national_date=d.key,
            title_zh=title_zh, title_en=f"{year} {names_en[d.key]}",
            body_zh=f"## {d.name}\n\n{notice_zh}\n\n（生成的演示内容）",
            body_en=f"## {names_en[d.key]}\n\n{notice_en}\n\n(generated demo content)",
            audiences=list(d.audiences), theme=d.theme, starts_on=d.start, ends_on=d.end, place_types=place_types,
            notice_zh=notice_zh, notice_en=notice_en, publish_at=dt.datetime.combine(d.start, dt.time(0), tzinfo=dt.timezone.utc)
            - dt.timedelta(days=14))
        res.campaigns_created += 1
    log(f"publicity: {res.articles_created} articles and {res.campaigns_created} campaigns created")
    return res
