"""Each jurisdiction's local time (issue 16): a New York area's statistics, periods and order numbers are in
New York time on a deployment whose ``TIME_ZONE`` is Asia/Shanghai.

The failing input: a New York case at 09:00 local showed in the 21:00–24:00 band (Shanghai time), a case on
2023-01-31 22:00 New York moved to February, and its order number was dated 20230201.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from liftsafe.core.models import Area
from liftsafe.testing import make_elevator, make_user
from liftsafe.core.zones import area_zone, zone_for_path, zone_names_under
from liftsafe.emergency import services as emergency
from liftsafe.reports import selectors as S

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2023, 6, 15, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def ny(world, settings):
    """The Nanjing world plus New York State (zone America/New_York) → NYC → Manhattan (inherited zone)."""
    settings.TIME_ZONE = "Asia/Shanghai"
    state = Area.objects.create(code="US-NY", name="纽约州", name_en="New York State", level="province", time_zone="America/New_York")
    city = Area.objects.create(code="US-NY-NYC", name="纽约市", name_en="New York City", level="city", parent=state)
    mn = Area.objects.create(code="US-NY-NYC-MN", name="曼哈顿", name_en="Manhattan", level="district", parent=city)
    e = make_elevator("NY1", mn, rescue_code="900001")
    world.ny_city, world.ny_elevator = city, e
    world.users["ny_operator"] = make_user("ny_operator", "operator", area=city)
    return world


def _intake(world, at):
    return emergency.intake_alarm(world.ny_elevator, channel="phone_96333", case_type="entrapment", received_at=at).case


def _row(table, label):
    return next(r for r in table["rows"] if r[0] == label)


def test_zone_is_inherited_down_the_tree_and_defaults_to_the_deployment(ny, settings):
    assert zone_for_path("US-NY/US-NY-NYC/US-NY-NYC-MN/") == NY
    assert area_zone(ny.ny_elevator.area) == NY and area_zone(ny.ny_elevator.area_id) == NY
    assert area_zone(ny.district_a) == SH and area_zone(None) == SH
    settings.TIME_ZONE = "Europe/Berlin"  # the deployment's default follows the setting
    assert area_zone(ny.district_a) == ZoneInfo("Europe/Berlin") and area_zone(ny.ny_city) == NY
    assert zone_names_under(None)[0] == "Europe/Berlin" and "America/New_York" in zone_names_under(None)
    # a change is seen at once (the cache is cleared by save)
    ny.ny_city.time_zone = "America/Chicago"
    ny.ny_city.save()
    assert area_zone(ny.ny_elevator.area) == ZoneInfo("America/Chicago")


def test_an_unknown_zone_name_is_refused_by_the_field(ny):
    a = Area(code="X1", name="x", level="city", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError) as exc:
        a.full_clean()
    assert "time_zone" in exc.value.message_dict
    Area(code="X2", name="x", level="city", time_zone="America/Denver").full_clean()


def test_new_york_9am_counts_in_the_9_oclock_band_not_21(ny):
    _intake(ny, dt.datetime(2023, 1, 10, 9, 0, tzinfo=NY))  # 14:00 UTC, 22:00 in Shanghai
    d = S.report_data(ny.users["admin"], area_code="US-NY-NYC", period="2023-01", language="en", now=NOW)
    hours = S.table(d, "by_hour_band")
    assert _row(hours, "09:00–12:00")[1:] == [1, 1]
    assert _row(hours, "20:00–24:00")[1:] == [0, 0]
    assert d["time_zone"] == "America/New_York" and d["time_zones"] == ["America/New_York"]
    cases_notes = next(s for s in d["sections"] if s["key"] == "cases")["notes"]
    assert any("America/New_York" in n for n in cases_notes)


def test_a_case_late_on_31_january_new_york_stays_in_january_and_its_order_number_is_dated_then(ny):
    at = dt.datetime(2023, 1, 31, 22, 0, tzinfo=NY)  # 2023-02-01 03:00 UTC, 11:00 in Shanghai
    case = _intake(ny, at)
    assert case.order_number.startswith("20230131-")
    c = Client()
    c.force_login(ny.users["admin"])
    r = c.get("/api/reports/indicators", {"area": "US-NY-NYC", "period": "2023-01", "language": "en"})
    assert r.status_code == 200, r.content
    jan = r.json()
    assert S.indicator(jan, "cases")["value"] == 1 and S.indicator(jan, "entrapments")["value"] == 1
    feb = S.report_data(ny.users["admin"], area_code="US-NY-NYC", period="2023-02", language="en", now=NOW)
    assert S.indicator(feb, "cases")["value"] == 0
    q1 = S.report_data(ny.users["admin"], area_code="US-NY-NYC", period="2023-Q1", language="en", now=NOW)
    months = S.table(q1, "by_month")
    assert _row(months, "2023-01")[1:] == [1, 1] and _row(months, "2023-02")[1:] == [0, 0]


def test_the_order_number_through_the_api_carries_the_new_york_date(ny):
    """A live call (intake refuses a received_at older than the live window, rule intake_max_past_age_s) at 22:00
    New York time, which is already the next day in Shanghai: the order number carries the New York date."""
    ny_day = (timezone.now().astimezone(NY) - dt.timedelta(days=1)).date()
    at = dt.datetime(ny_day.year, ny_day.month, ny_day.day, 22, 0, tzinfo=NY)
    c = Client()
    c.force_login(ny.users["ny_operator"])
    r = c.post("/api/emergency/cases", {"elevator_id": ny.ny_elevator.pk, "channel": "phone_96333", "case_type": "entrapment",
                                        "received_at": at.isoformat()}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["case"]["order_number"].startswith(f"{ny_day:%Y%m%d}-")
    assert at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() != ny_day  # Shanghai's date would differ


def test_a_report_over_several_zones_says_which_zone_its_figures_use(ny):
    _intake(ny, dt.datetime(2023, 1, 10, 9, 0, tzinfo=NY))
    d = S.report_data(ny.users["admin"], area_code=None, period="2023-01", language="en", now=NOW)
    assert d["time_zone"] == "Asia/Shanghai" and d["time_zones"] == ["Asia/Shanghai", "America/New_York"]
    for key in ("overview", "cases"):
        notes = next(s for s in d["sections"] if s["key"] == key)["notes"]
        assert any("Asia/Shanghai" in n and "America/New_York" in n for n in notes), notes
    # the deployment-wide report reads the New York case in Shanghai time (stated), 22:00
    assert _row(S.table(d, "by_hour_band"), "20:00–24:00")[1:] == [1, 1]
    # a Chinese area's report keeps its own (deployment) zone
    cn = S.report_data(ny.users["admin"], area_code="320100", period="2023-01", language="en", now=NOW)
    assert cn["time_zone"] == "Asia/Shanghai" and cn["time_zones"] == ["Asia/Shanghai"]


def test_pages_show_a_new_york_case_in_new_york_time(ny):
    case = _intake(ny, dt.datetime(2023, 1, 31, 22, 0, tzinfo=NY))
    c = Client()
    c.force_login(ny.users["ny_operator"])
    html = c.get(f"/emergency/cases/{case.pk}/").content.decode()
    assert "2023-01-31 22:00:00" in html and "America/New_York" in html
    assert "2023-02-01 11:00" not in html
    c.force_login(ny.users["admin"])
    html = c.get(f"/registry/elevators/{ny.ny_elevator.pk}/").content.decode()
    assert "2023-02-01 11:00" not in html


def test_scheduled_reports_wait_for_the_end_of_the_month_in_the_areas_local_time(ny):
    from liftsafe.reports.models import Report
    from liftsafe.reports.tasks import generate_due_reports

    _intake(ny, dt.datetime(2023, 1, 31, 22, 0, tzinfo=NY))
    # 2023-02-01 02:00 in Shanghai = 2023-01-31 13:00 in New York: January has ended in Jiangsu only
    generate_due_reports(dt.datetime(2023, 2, 1, 2, 0, tzinfo=SH))
    jan = Report.objects.filter(period_kind="month", period_start=dt.date(2023, 1, 1))
    codes = set(jan.values_list("area__code", flat=True))
    assert "320000" in codes and "US-NY" not in codes
    # 01:00 on 1 February in New York: New York's January report, with the late case of the 31st in it
    generate_due_reports(dt.datetime(2023, 2, 1, 1, 0, tzinfo=NY))
    report = jan.get(area__code="US-NY")
    assert report.data["time_zone"] == "America/New_York" and S.indicator(report.data, "cases")["value"] == 1


def test_an_organisation_reads_its_elevators_local_time(ny):
    """A maintenance unit (no area) whose elevators are all in New York gets New York's hours; Nanjing's unit keeps
    Shanghai time and is not told about zones it has no elevator in."""
    from liftsafe.registry.models import MaintenanceContract, Organisation

    mu = Organisation.objects.create(kind="maintenance_unit", name="NY Lift Co", area=ny.ny_city)
    MaintenanceContract.objects.create(elevator=ny.ny_elevator, maintenance_unit=mu, start_date=dt.date(2020, 1, 1))
    user = make_user("ny_mu", "maintenance_unit", organisation=mu)
    _intake(ny, dt.datetime(2023, 1, 10, 9, 0, tzinfo=NY))
    d = S.report_data(user, area_code=None, period="2023-01", language="en", now=NOW)
    assert d["time_zone"] == "America/New_York" and d["time_zones"] == ["America/New_York"]
    assert _row(S.table(d, "by_hour_band"), "09:00–12:00")[1:] == [1, 1]
    cn = S.report_data(ny.users["maintenance_unit"], area_code=None, period="2023-01", language="en", now=NOW)
    assert cn["time_zones"] == ["Asia/Shanghai"]
