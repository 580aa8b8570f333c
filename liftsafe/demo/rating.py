"""Demo ratings (issue 13): a monthly rating of the demo city's maintenance units, computed by the rating services
from the demo's own data (NYC inspection records, the MTA replay's cases, generated contracts and insurers), with
every due-process state visible: most published, one left as a draft, one with an objection awaiting review, one
objected → decided by a second regulator → replied.

The month rated is the month (not in the future) in which the city's lifts have the most inspection records: a
month with no data would rate everyone at the top of the sheet. The texts of the objections, decisions and replies
are generated (they say so). Idempotent: a second run changes nothing once the month is rated.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from liftsafe.core.models import Area, Profile, Role
from liftsafe.rating import services
from liftsafe.rating.models import Rating, RatingState

SHEET = "city_monthly"
REVIEWER = "reviewer"
GENERATED = "（演示数据 / generated demo text）"


def rating_month(area: Area) -> dt.date:
    """The first day of the last complete month in ``area``'s local time: the month a monthly sheet rates on
    the demo's generated maintenance history and live cases (the NYC inspection records are from 2015, so rating
    their month would grade units on a ten-year-old period)."""
    from liftsafe.core.zones import area_zone

    today = timezone.localtime(timezone.now(), area_zone(area)).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _reviewer(scorer, password: str | None):
    """A second regulator of the scorer's area (reviewer ≠ scorer, docs/domain §15.4); created once."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=REVIEWER, defaults={"email": f"{REVIEWER}@demo.liftsafe.invalid"})
    if created and password:
        user.set_password(password)
        user.save()
    Profile.objects.update_or_create(user=user, defaults={"role": Role.REGULATOR, "area": scorer.profile.area, "organisation": None})
    return user


def _member(unit_id: int):
    p = Profile.objects.filter(organisation_id=unit_id, role=Role.MAINTENANCE_UNIT, user__is_active=True).select_related("user").first()
    return p.user if p else None


def load_ratings(scorer_username: str = "regulator", *, password: str | None = None,
                 log: Callable[[str], None] = lambda m: None) -> dict[str, int]:
    """Rate, publish and walk one objection through review and reply; returns counts by state and grade."""
    User = get_user_model()
    scorer = User.objects.select_related("profile__area").filter(username=scorer_username).first()
    if scorer is None or getattr(scorer, "profile", None) is None or scorer.profile.area is None:
        log("ratings: no regulator account to score with; skipped")
        return {}
    reviewer = _reviewer(scorer, password)
    month = rating_month(scorer.profile.area)
    if not Rating.objects.filter(sheet__code=SHEET, period_start=month).exclude(state=RatingState.DRAFT).exists():
        drafts = services.rating_run(scorer, sheet_code=SHEET, on=month)
        rated = [r for r in drafts if r.rated]
        # units with a demo account first: the demo's maintenance user sees the whole loop
        rated.sort(key=lambda r: (_member(r.unit_id) is None, r.unit.name))
        keep_draft = rated[-1] if len(rated) > 3 else None
        for r in drafts:
            if r is not keep_draft:
                services.rating_publish(scorer, r.pk)
        with_member = [r for r in rated if _member(r.unit_id) is not None and r is not keep_draft]
        if len(with_member) < 2:  # a second unit account, so that an objection awaiting review is visible too
            other = next((r for r in rated if r is not keep_draft and r not in with_member), None)
            if other is not None:
                u, made = User.objects.get_or_create(username="maintenance2", defaults={"email": "maintenance2@demo.liftsafe.invalid"})
                if made and password:
                    u.set_password(password)
                    u.save()
                Profile.objects.update_or_create(user=u, defaults={"role": Role.MAINTENANCE_UNIT, "organisation": other.unit, "area": None})
                with_member.append(other)
        if with_member:
            r = with_member[0]
            unit_user = _member(r.unit_id)
            services.objection_file(unit_user, r.pk, text="部分超时到达系封站施工所致，附施工通告。" + GENERATED)
            services.objection_decide(reviewer, r.pk, decision="upheld",
                                      reasons="到达超时记录与 96333 工单一致，扣分依据充分。" + GENERATED)
            services.rating_reply(unit_user, r.pk, text="我司已调整夜间值守安排。" + GENERATED)
        if len(with_member) > 1:
            r = with_member[1]
            services.objection_file(_member(r.unit_id) or User.objects.get(username="maintenance2"), r.pk, text="检验不合格系使用单位原因。" + GENERATED)
    qs = Rating.objects.filter(sheet__code=SHEET, period_start=month)
    counts = {f"state:{s}": n for s, n in qs.values_list("state").annotate(n=Count("pk"))}
    counts.update({f"grade:{g or 'not rated'}": n for g, n in qs.values_list("grade").annotate(n=Count("pk"))})
    log(f"ratings of {month:%Y-%m} ({SHEET}): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; accounts: {REVIEWER} (reviews objections), maintenance2 (a second rated unit)")
    return counts
