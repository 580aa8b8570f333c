"""Generating, regenerating and publishing reports; who may; the scheduled job (fixed ``now``)."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from liftsafe.reports import selectors as S
from liftsafe.reports import services, tasks
from liftsafe.reports.models import Report
from liftsafe.reports.periods import Period
from liftsafe.reports.tests import test_indicators as ti

NOW = ti.NOW


def gen(world, user="regulator", area="320102", period="2023-05", language="zh-hans", now=NOW):
    return services.generate_report(world.users[user] if user else None, area_code=area, period=period, language=language, now=now)


def test_generate_stores_a_frozen_snapshot_and_publish_freezes_it(dataset):
    r = gen(dataset)
    assert (r.status, r.period_kind, r.period_label, r.period_start, r.period_end) == ("draft", "month", "2023-05", dt.date(2023, 5, 1), dt.date(2023, 6, 1))
    assert r.generated_by == dataset.users["regulator"] and r.generated_at == NOW and not r.scheduled
    assert S.indicator(r.data, "entrapments")["value"] == 4 and r.data["language"] == "zh-hans"
    # a new case arrives in May after generation: regenerating the draft replaces the snapshot (same row)
    ti.mk_case(dataset.elevators["a2"], ti.local(2023, 5, 9, 9, 0))
    r2 = gen(dataset, now=NOW + dt.timedelta(hours=1))
    assert r2.pk == r.pk and S.indicator(r2.data, "entrapments")["value"] == 5 and r2.generated_at == NOW + dt.timedelta(hours=1)
    p = services.publish_report(dataset.users["regulator"], r2, now=NOW + dt.timedelta(hours=2))
    assert (p.status, p.published_by, p.published_at) == ("published", dataset.users["regulator"], NOW + dt.timedelta(hours=2))
    # later data does not change a published report; regenerating and re-publishing are refused
    ti.mk_case(dataset.elevators["a2"], ti.local(2023, 5, 11, 9, 0))
    with pytest.raises(ValidationError) as e:
        gen(dataset)
    assert "status" in e.value.message_dict
    with pytest.raises(ValidationError):
        services.publish_report(dataset.users["regulator"], p)
    p.refresh_from_db()
    assert S.indicator(p.data, "entrapments")["value"] == 5
    assert p.history.count() >= 3  # created, regenerated, published: audit history kept
    # another language is another report
    en = gen(dataset, language="en")
    assert en.pk != p.pk and en.data["language"] == "en"


def test_who_may_generate_and_publish(dataset):
    for role in ("operator", "maintenance_unit", "use_unit", "inspection_agency", "insurer", "rescue_station", "nobody"):
        with pytest.raises(PermissionDenied):
            gen(dataset, user=role)
    with pytest.raises(ValidationError) as e:  # district B is outside A's regulator: like an unknown area
        gen(dataset, area="320104")
    assert "area" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        gen(dataset, area="nope")
    assert "area" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        gen(dataset, period="2023-08")
    assert "period" in e.value.message_dict
    assert gen(dataset, user="city_regulator", area="320104").area.code == "320104"
    assert gen(dataset, user="admin", area="320100").area.code == "320100"
    b = Report.objects.get(area__code="320104")
    with pytest.raises(ValidationError):  # A's regulator cannot publish B's report
        services.publish_report(dataset.users["regulator"], b)
    with pytest.raises(PermissionDenied):
        services.publish_report(dataset.users["operator"], b)
    assert Report.objects.get(pk=b.pk).status == "draft"


def test_reports_visible_to_admins_and_regulators_of_the_area(dataset):
    a, b = gen(dataset), gen(dataset, user="city_regulator", area="320104")
    assert set(S.reports_for(dataset.users["regulator"])) == {a}
    assert set(S.reports_for(dataset.users["city_regulator"])) == {a, b}
    assert set(S.reports_for(dataset.users["admin"])) == {a, b}
    assert not S.reports_for(dataset.users["maintenance_unit"]).exists()


def test_empty_period_report(dataset):
    r = gen(dataset, period="2021-02")
    assert r.data["empty"] is True and S.indicator(r.data, "cases")["value"] == 0


def test_due_periods():
    # catch-up: the just-ended month stays due for CATCHUP_DAYS (28) days after its end
    assert [p.label for p in tasks.due_periods(dt.date(2023, 5, 2))] == ["2023-04"]
    assert [p.label for p in tasks.due_periods(dt.date(2023, 7, 2))] == ["2023-06", "2023-Q2"]
    assert [p.label for p in tasks.due_periods(dt.date(2023, 5, 28))] == ["2023-04"]
    assert tasks.due_periods(dt.date(2023, 5, 29)) == []
    assert [p.label for p in tasks.due_periods(dt.date(2023, 6, 1))] == ["2023-05"]
    assert [p.label for p in tasks.due_periods(dt.date(2023, 7, 1))] == ["2023-06", "2023-Q2"]
    assert [p.label for p in tasks.due_periods(dt.date(2024, 1, 1))] == ["2023-12", "2023-Q4", "2023"]


def test_scheduled_job_generates_once_per_area_and_period(dataset, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    now = dt.datetime(2023, 7, 1, 0, 30, tzinfo=ti.SH)  # first day of July (and of Q3), local time
    assert tasks.generate_due_reports(dt.datetime(2023, 5, 30, 9, 0, tzinfo=ti.SH)) == 0  # nothing ended in the last 28 days
    # areas: the top-level province (320000) and the areas of regulators: district A (320102) and the city (320100)
    assert [a.code for a in tasks.report_areas()] == ["320000", "320100", "320102"]
    n = tasks.generate_due_reports(now)
    assert n == 6  # 3 areas × (2023-06, 2023-Q2)
    got = sorted(Report.objects.values_list("area__code", "period_label", "scheduled", "generated_by", "status"))
    assert got == sorted((a, p, True, None, "draft") for a in ("320000", "320100", "320102") for p in ("2023-06", "2023-Q2"))
    q2 = Report.objects.get(area__code="320100", period_label="2023-Q2")
    assert S.indicator(q2.data, "entrapments")["value"] == 8  # city Q2: A's 6 + B's 2
    assert tasks.generate_due_reports(now) == 0  # idempotent: existing reports are skipped
    assert tasks.generate_due_reports(now + dt.timedelta(hours=5)) == 0
    assert Report.objects.count() == 6


def test_scheduled_job_catches_up_after_a_missed_first(dataset, settings):
    """The worker was down on July 1st: the run on July 3rd still produces June's and Q2's reports, once."""
    settings.LANGUAGE_CODE = "zh-hans"
    late = dt.datetime(2023, 7, 3, 10, 0, tzinfo=ti.SH)
    assert tasks.generate_due_reports(late) == 6
    assert sorted(set(Report.objects.values_list("period_label", flat=True))) == ["2023-06", "2023-Q2"]
    assert tasks.generate_due_reports(late + dt.timedelta(days=1)) == 0
    assert Report.objects.count() == 6


def test_concurrent_first_generation_updates_instead_of_failing(dataset, monkeypatch):
    """Two workers generate the same new report at once: the second insert hits the unique constraint and
    becomes an update of the first one's row (no IntegrityError, one report)."""
    from liftsafe.reports import selectors as sel

    reg = dataset.users["regulator"]
    now = dt.datetime(2023, 7, 15, 12, 0, tzinfo=ti.SH)
    real_build = sel.build
    calls = []

    def racing_build(*a, **kw):
        data = real_build(*a, **kw)
        if not calls:  # the other worker commits the same report while this one computes
            calls.append(1)
            Report.objects.create(area=dataset.district_a, period_kind="month", period_start=dt.date(2023, 5, 1),
                                  period_end=dt.date(2023, 6, 1), period_label="2023-05", language="zh-hans",
                                  data={"stale": True}, generated_at=now - dt.timedelta(minutes=1))
        return data

    monkeypatch.setattr(sel, "build", racing_build)
    r = services.generate_report(reg, area_code=dataset.district_a.code, period="2023-05", now=now)
    assert Report.objects.filter(period_label="2023-05").count() == 1
    r.refresh_from_db()
    assert "stale" not in r.data and r.generated_at == now and r.generated_by == reg


def test_job_is_registered():
    from liftsafe.core.tasks import discover

    assert "reports.generate_due_reports" in {j.name for j in discover()}


def test_query_count_does_not_grow_with_cases(dataset, django_assert_max_num_queries):
    """The monthly report is a fixed number of aggregate queries, whatever the number of cases."""
    user = dataset.users["regulator"]
    with django_assert_max_num_queries(80):
        S.report_data(user, area_code="320102", period=Period.of("month", 2023, 5), now=NOW)
    for i in range(30):
        ti.mk_case(dataset.elevators["e8"], ti.local(2023, 5, 12, 0, 0) + dt.timedelta(minutes=i), state="false_alarm")
    user = type(user).objects.get(pk=user.pk)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as c1:
        S.report_data(user, area_code="320102", period=Period.of("month", 2023, 5), now=NOW)
    for i in range(30):
        ti.mk_case(dataset.elevators["e9"], ti.local(2023, 5, 13, 0, 0) + dt.timedelta(minutes=i), dispatch_s=10, respond_s=20)
    user = type(user).objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as c2:
        S.report_data(user, area_code="320102", period=Period.of("month", 2023, 5), now=NOW)
    assert len(c1) == len(c2)


dataset = ti.dataset  # the hand-built dataset fixture of test_indicators
