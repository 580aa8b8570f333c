"""The demo's publicity step on the small test world: publishes the year's report, creates the generated
articles and this year's national campaigns, and a second run changes nothing."""
import datetime as dt

from liftsafe.demo.publicity import ARTICLES, seed_publicity
from liftsafe.publicity import selectors
from liftsafe.publicity.models import Article
from liftsafe.reports import public
from liftsafe.reports.models import Report


def test_seed_publicity_is_idempotent(world):
    now = dt.datetime(2026, 9, 15, 2, 0, tzinfo=dt.timezone.utc)
    res = seed_publicity("320100", now=now)
    assert res.report_published and res.articles_created == len(ARTICLES) and res.campaigns_created == 4
    r = Report.objects.get(pk=res.report_id)
    assert r.is_published and r.period_label == "2023" and r.published_by is None
    assert [p.id for p in public.published_reports()] == [r.pk]
    assert Article.objects.filter(generated=False).count() == 0
    camp = Article.objects.get(national_date="elevator_safety_week")
    assert (camp.starts_on, camp.title_zh) == (dt.date(2026, 9, 14), "2026年电梯安全宣传周")
    assert len(selectors.public_articles(at=now)) == 7
    e = world.elevators["a1"]
    e.place_type = 1
    e.save()
    keys = {Article.objects.get(pk=n.campaign_id).national_date for n in selectors.public_notices_for(e, now)}
    assert keys == {"quality_month", "elevator_safety_week"}
    again = seed_publicity("320100", now=now)
    assert (again.report_published, again.articles_created, again.campaigns_created) == (False, 0, 0)
    assert Article.objects.count() == 7 and Report.objects.count() == 1
