"""Every report formula on a hand-built dataset with known answers (SQLite and PostgreSQL).

The dataset (``dataset`` fixture, on top of ``make_world``): district A holds 11
elevators (10 in use), district B 2. May 2023 (Asia/Shanghai) in A: a1 has 3
entrapments with full times, a2 a fault report and a false alarm, e3 an
entrapment on the period's last evening; plus edge cases just outside the
month, last year's and the previous month's cases, B's 2 entrapments on b1,
hazards and look-back re-checks. Each test states its expected numbers from
those facts.
"""
from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from liftsafe.testing import make_elevator
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import MaintenanceContract, Organisation
from liftsafe.reports import selectors as S
from liftsafe.reports.periods import Period

SH = ZoneInfo("Asia/Shanghai")
MAY = Period.of("month", 2023, 5)
NOW = dt.datetime(2023, 7, 15, 12, 0, tzinfo=SH)
_seq = itertools.count(1)
RULES = {"report_min_fleet_size": 3, "report_top_n": 10, "report_repeat_min_entrapments": 2}


def local(*a) -> dt.datetime:
    return dt.datetime(*a, tzinfo=SH)


def mk_case(elevator, received_at, *, case_type="entrapment", state="completed", channel="phone_96333",
            dispatch_s=None, respond_s=None, arrive_s=None, release_s=None, cause=("", ""), released_count=None):
    """A case with the cached first-occurrence times the reports read (offsets in seconds: dispatch after
    receipt; respond and arrive after dispatch; release after arrival)."""
    d = received_at + dt.timedelta(seconds=dispatch_s) if dispatch_s is not None else None
    r = d + dt.timedelta(seconds=respond_s) if respond_s is not None else None
    a = d + dt.timedelta(seconds=arrive_s) if arrive_s is not None else None
    rel = a + dt.timedelta(seconds=release_s) if release_s is not None else None
    return EmergencyCase.objects.create(
        elevator=elevator, area_id=elevator.area_id, order_number=f"T{next(_seq):08d}", channel=channel, case_type=case_type, received_at=received_at,
        state=state, level=1 if d else 0, dispatched_at=d, level_dispatched_at=d, responded_at=r, arrived_at=a, released_at=rel,
        closed_at=(rel or received_at) + dt.timedelta(minutes=1), cause_class=cause[0], cause_item=cause[1],
        released_count=released_count)


def build_dataset(world):
    from liftsafe.hazards.models import Campaign, Hazard, Recheck

    A, B = world.district_a, world.district_b
    el = dict(world.elevators)
    mu_a = world.orgs[("maintenance_unit", "a")]
    mu_x = Organisation.objects.create(kind="maintenance_unit", name="MU-X", area=A)
    uu_big = Organisation.objects.create(kind="use_unit", name="UU-Big", area=A)
    uu_mid = Organisation.objects.create(kind="use_unit", name="UU-Mid", area=A)
    for i in range(3, 12):
        el[f"e{i}"] = make_elevator(f"E{i}", A, use_unit=uu_big if i <= 7 else uu_mid if i <= 10 else None,
                                    status="stopped" if i == 11 else "in_use")
    upd = {
        "a1": dict(installation_date=dt.date(2020, 6, 1), place_type=11, manufacturer_name_raw="Otis "),
        "a2": dict(installation_date=dt.date(2013, 5, 31), place_type=6, manufacturer_name_raw="OTIS"),
        "e3": dict(installation_date=dt.date(2012, 6, 1), manufacturer_name_raw="otis"),
        "e4": dict(installation_date=dt.date(2012, 5, 31), manufacturer_name_raw="KONE"),
        "e5": dict(installation_date=dt.date(1990, 1, 1), manufacturer_name_raw="KONE"),
        "e6": dict(manufacturer_name_raw="KONE"),
    }
    for k, fields in upd.items():
        for f, v in fields.items():
            setattr(el[k], f, v)
        el[k].save()
    # a1 changes maintenance unit mid-May: MU-A until 05-15, MU-X from 05-16
    MaintenanceContract.objects.filter(elevator=el["a1"]).update(end_date=dt.date(2023, 5, 15))
    MaintenanceContract.objects.create(elevator=el["a1"], maintenance_unit=mu_x, start_date=dt.date(2023, 5, 16))
    for k in ("e3", "e4", "e5", "e6", "e7"):
        MaintenanceContract.objects.create(elevator=el[k], maintenance_unit=mu_a, start_date=dt.date(2020, 1, 1))
    for k in ("e8", "e9"):
        MaintenanceContract.objects.create(elevator=el[k], maintenance_unit=mu_x, start_date=dt.date(2020, 1, 1))

    # May 2023, district A
    mk_case(el["a1"], local(2023, 5, 3, 8, 10), dispatch_s=60, respond_s=120, arrive_s=600, release_s=300,
            cause=("human", "rubbish_blocking_doors"), released_count=2)
    mk_case(el["a1"], local(2023, 5, 10, 18, 30), dispatch_s=60, respond_s=240, arrive_s=2400, release_s=600,
            cause=("human", "rubbish_blocking_doors"), released_count=1)
    mk_case(el["a1"], local(2023, 5, 20, 23, 0), dispatch_s=60, respond_s=60, arrive_s=1200, release_s=900,
            cause=("external", "power_cut"), released_count=1)
    mk_case(el["a2"], local(2023, 5, 5, 10, 0), case_type="fault_report", channel="iot", cause=("door_system", "door_operator"))
    mk_case(el["a2"], local(2023, 5, 6, 12, 0), state="false_alarm")
    mk_case(el["e3"], local(2023, 5, 31, 23, 30), channel="car_alarm", dispatch_s=30, state="dispatched")
    # just outside May (local time): previous month's last minute, next month's first
    mk_case(el["e3"], local(2023, 4, 30, 23, 59), channel="car_alarm")
    mk_case(el["e4"], local(2023, 6, 1, 0, 0))
    # last year
    mk_case(el["a1"], local(2022, 5, 15, 9, 0))
    # district B: 2 entrapments on b1
    mk_case(el["b1"], local(2023, 5, 7, 7, 0))
    mk_case(el["b1"], local(2023, 5, 8, 7, 0))

    # hazards (filed_at/closed_at in local time)
    def hz(key, title, filed, state, closed=None, on_time=None, area=A):
        return Hazard.objects.create(elevator=el[key], area=area, source="inspection", title=title, level="general",
                                     state=state, filed_at=filed, closed_at=closed, closed_on_time=on_time,
                                     deadline=dt.date(2023, 6, 1))
    h1 = hz("a1", "H1", local(2023, 5, 2, 9), "closed", local(2023, 5, 20, 9), True)
    hz("a2", "H2", local(2023, 5, 10, 9), "open")
    h3 = hz("e3", "H3", local(2023, 4, 10, 9), "closed", local(2023, 5, 5, 9), False)
    hz("e4", "H4", local(2023, 5, 3, 9), "lead")
    hz("b1", "HB", local(2023, 5, 3, 9), "open", area=B)
    camp = Campaign.objects.create(name="C", area=A, period_start=dt.date(2023, 1, 1), period_end=dt.date(2023, 5, 1),
                                   rate=1.0, seed=1)
    Recheck.objects.create(campaign=camp, hazard=h1, stratum="general", result="pass", checked_at=local(2023, 5, 25))
    Recheck.objects.create(campaign=camp, hazard=h3, stratum="general", result="recurrence", checked_at=local(2023, 5, 26))
    h4 = Hazard.objects.create(elevator=el["e5"], area=A, source="inspection", title="H5", level="general", state="closed",
                               filed_at=local(2023, 1, 1), closed_at=local(2023, 1, 5), closed_on_time=True)
    Recheck.objects.create(campaign=camp, hazard=h4, stratum="general", result="pending")
    world.elevators.update(el)
    world.orgs.update({("maintenance_unit", "x"): mu_x, ("use_unit", "big"): uu_big})
    return world


@pytest.fixture
def dataset(world, settings):
    settings.LIFTSAFE_RULES = dict(RULES)
    settings.TIME_ZONE = "Asia/Shanghai"
    return build_dataset(world)


def may(world, user="regulator", area="320102", language="en", period=MAY):
    return S.report_data(world.users[user], area_code=area, period=period, language=language, now=NOW)


def ind(data, key):
    return S.indicator(data, key)


def rows(data, key):
    return S.table(data, key)["rows"]


# --------------------------------------------------------------------------- headline rates
def test_counts_and_rates(dataset):
    d = may(dataset)
    assert d["version"] == 1 and d["language"] == "en" and d["empty"] is False
    assert d["area"] == {"code": "320102", "name": "Xuanwu"}
    assert d["period"] == {"kind": "month", "label": "2023-05", "start": "2023-05-01", "end": "2023-06-01", "months": 1,
                           "partial": False}
    assert d["compare"]["previous"]["label"] == "2023-04" and d["compare"]["last_year"]["label"] == "2022-05"
    expect = {"elevators_in_use": 10, "cases": 6, "faults": 5, "entrapments": 4, "false_alarms": 1, "people_released": 4,
              "fault_rate": 50.0, "entrapment_rate": 40.0, "monthly_entrapment_rate": 40.0, "entrapments_per_10k": 4000.0,
              "repeat_elevators": 1}
    assert {k: ind(d, k)["value"] for k in expect} == expect
    fr = ind(d, "fault_rate")
    assert (fr["numerator"], fr["denominator"], fr["unit"]) == (5, 10, "%")
    # previous month: e3's entrapment at 2023-04-30 23:59 local; last year: a1's 2022-05-15
    assert (ind(d, "entrapments")["previous"], ind(d, "entrapments")["last_year"]) == (1, 1)
    assert (fr["previous"], fr["last_year"]) == (10.0, 10.0)
    assert ind(d, "repeat_elevators")["previous"] == 0


def test_quarter_monthly_rate_divides_by_months(dataset):
    d = may(dataset, period=Period.of("quarter", 2023, 2))
    # Q2: May's 4 entrapments + e3's 04-30 + e4's 06-01 = 6 over 10 elevators and 3 months
    assert ind(d, "entrapments")["value"] == 6
    assert ind(d, "entrapment_rate")["value"] == 60.0
    assert ind(d, "monthly_entrapment_rate")["value"] == 20.0
    assert ind(d, "monthly_entrapment_rate")["denominator"] == 30
    assert [r[0] for r in rows(d, "by_month")] == ["2023-04", "2023-05", "2023-06"]
    assert [r[1:] for r in rows(d, "by_month")] == [[1, 1], [5, 4], [1, 1]]


A_KPI = (50.0, 2, 4)  # arrival rate: e3's dispatched entrapment has no arrival time either: a miss


def test_durations_percentiles_and_kpis(dataset):
    d = may(dataset)
    # response 120/240/60 s; arrival 600/2400/1200 s; on-site 300/600/900 s (e3's case has no response)
    got = {k: ind(d, k)["value"] for k in ("response_mean", "response_median", "response_p90", "arrival_mean", "arrival_median",
                                            "arrival_p90", "on_site_mean", "on_site_median", "on_site_p90")}
    assert got == {"response_mean": 2.33, "response_median": 2.0, "response_p90": 4.0, "arrival_mean": 23.33,
                   "arrival_median": 20.0, "arrival_p90": 40.0, "on_site_mean": 10.0, "on_site_median": 10.0, "on_site_p90": 15.0}
    r, a = ind(d, "response_kpi_rate"), ind(d, "arrival_kpi_rate")
    # denominator: every dispatched entrapment of the finished period; e3's, without a response time, is a miss
    assert (r["value"], r["numerator"], r["denominator"]) == (50.0, 2, 4)
    assert (a["value"], a["numerator"], a["denominator"]) == A_KPI
    assert ind(d, "response_mean")["previous"] is None  # nothing measured in April


def test_percentile_helpers():
    assert S.percentile([], 90) is None
    assert S.percentile([5.0], 90) == 5.0
    assert S.percentile(list(range(1, 11)), 90) == 9  # nearest rank: ceil(0.9 × 10) = 9th
    assert S.percentile(list(range(1, 12)), 90) == 10  # ceil(9.9) = 10th
    st = S.duration_stats([60.0, 120.0, 180.0, 240.0], 180)
    assert st == {"n": 4, "mean": 2.5, "median": 2.5, "p90": 4.0, "within": 3}



def test_rescue_times_over_entrapments_only(dataset):
    """Response, arrival and on-site times and both KPI rates cover entrapments only (TSG T5002 Art. 5 is about
    trapped passengers): a timed fault report, a timed enquiry and a timed false-alarm entrapment change nothing."""
    el = dataset.elevators
    mk_case(el["a2"], local(2023, 5, 12, 9, 0), case_type="fault_report", dispatch_s=60, respond_s=900, arrive_s=5400,
            release_s=3000)
    mk_case(el["e4"], local(2023, 5, 13, 9, 0), case_type="enquiry", dispatch_s=60, respond_s=10, arrive_s=100, release_s=10)
    mk_case(el["e5"], local(2023, 5, 14, 9, 0), state="false_alarm", dispatch_s=60, respond_s=10, arrive_s=100, release_s=10)
    d = may(dataset)
    # the enquiry is not a fault
    assert (ind(d, "cases")["value"], ind(d, "faults")["value"], ind(d, "entrapments")["value"]) == (9, 6, 4)
    # the same as test_durations_percentiles_and_kpis: a1's three entrapments only
    got = {k: ind(d, k)["value"] for k in ("response_mean", "response_median", "response_p90", "arrival_mean", "arrival_median",
                                            "arrival_p90", "on_site_mean", "on_site_median", "on_site_p90")}
    assert got == {"response_mean": 2.33, "response_median": 2.0, "response_p90": 4.0, "arrival_mean": 23.33,
                   "arrival_median": 20.0, "arrival_p90": 40.0, "on_site_mean": 10.0, "on_site_median": 10.0, "on_site_p90": 15.0}
    r, a = ind(d, "response_kpi_rate"), ind(d, "arrival_kpi_rate")
    assert (r["numerator"], r["denominator"]) == (2, 4)
    assert (a["value"], a["numerator"], a["denominator"]) == A_KPI
    formulas = {x["key"]: x["formula"] for x in d["definitions"]}
    assert all("entrapment" in formulas[k] for k in ("response", "arrival", "on_site", "response_kpi_rate", "arrival_kpi_rate"))
    zh = {x["key"]: x["formula"] for x in may(dataset, language="zh-hans")["definitions"]}
    assert "困人" in zh["arrival"] and "困人" in zh["arrival_kpi_rate"]
    # the stored appendix names rule values, not rule keys (test_appendix.py covers the wording)
    zh_defs = may(dataset, language="zh-hans")["definitions"]
    assert "report_" not in repr(zh_defs) and "0–5、6–10" in {x["key"]: x["formula"] for x in zh_defs}["age_band"]


def _require_pg():
    from liftsafe.conftest import postgresql_only

    postgresql_only()


def test_duration_stats_sql_equals_python_on_postgresql(world):
    """The PostgreSQL aggregates (avg, percentile_cont(0.5), percentile_disc(0.9), count FILTER ≤ limit) give exactly
    what the Python path gives on the same rows: odd and even counts (median of two middles), fractional seconds,
    values exactly at the 3- and 30-minute limits, missing times, one row and no row."""
    import random

    _require_pg()
    rnd = random.Random(20260)
    a1 = world.elevators["a1"]
    t0 = local(2023, 5, 1, 0, 0)
    for i in range(101):  # 101 arrivals, fewer responses / releases (some times missing)
        respond = None if i % 7 == 0 else (180.0 if i % 11 == 0 else round(rnd.uniform(5, 600), 6))
        arrive = 1800.0 if i % 13 == 0 else round(rnd.uniform(60, 4000), 6)
        release = None if i % 5 == 0 else round(rnd.uniform(30, 3600), 3)
        mk_case(a1, t0 + dt.timedelta(minutes=i * 30), dispatch_s=rnd.uniform(1, 90), respond_s=respond, arrive_s=arrive,
                release_s=release)
    limits = {"response": 180, "arrival": 1800, "on_site": None}
    everything = EmergencyCase.objects.filter(elevator=a1)
    sql, py = S.duration_stats_sql(everything, limits), S.duration_stats_python(everything, limits)
    assert sql == py
    assert sql["arrival"]["n"] == 101 and sql["response"]["n"] == 101 - 15 and sql["on_site"]["n"] == 101 - 21
    assert sql["response"]["within"] > 0 and sql["arrival"]["within"] > 0
    ids = list(everything.order_by("pk").values_list("pk", flat=True))
    for subset in (ids[:1], ids[:2], ids[:10], ids[:4], []):  # one row, even counts, p90 exactly at a rank, nothing
        qs = EmergencyCase.objects.filter(pk__in=subset)
        assert S.duration_stats_sql(qs, limits) == S.duration_stats_python(qs, limits), subset
    assert S.duration_stats_sql(EmergencyCase.objects.none(), limits)["arrival"] == {
        "n": 0, "mean": None, "median": None, "p90": None, "within": 0}


def test_report_sets_work_mem_locally_on_postgresql(dataset, settings, monkeypatch):
    """The report's queries run with work_mem = rule report_pg_work_mem; the session's value is back afterwards."""
    from django.db import connection

    _require_pg()
    with connection.cursor() as cur:
        cur.execute("SHOW work_mem")
        before = cur.fetchone()[0]
    seen = []
    orig = S.top_maintenance_units

    def spy(base, period):
        with connection.cursor() as cur:
            cur.execute("SHOW work_mem")
            seen.append(cur.fetchone()[0])
        return orig(base, period)

    monkeypatch.setattr(S, "top_maintenance_units", spy)
    settings.LIFTSAFE_RULES = {**RULES, "report_pg_work_mem": "48MB"}
    may(dataset)
    with connection.cursor() as cur:
        cur.execute("SHOW work_mem")
        assert (seen, cur.fetchone()[0]) == (["48MB"], before)
    settings.LIFTSAFE_RULES = {**RULES, "report_pg_work_mem": "64MB; DROP TABLE x"}
    with pytest.raises(ValueError, match="report_pg_work_mem"):
        may(dataset)

def test_breakdowns_category_age_place_area(dataset):
    d = may(dataset)
    cat = rows(d, "by_category")
    assert len(cat) == 1 and cat[0][0].startswith("3110") and cat[0][1:4] == [10, 5, 4]
    age = {r[0]: r[1:4] for r in rows(d, "by_age_band")}
    # a1 2 y; a2 exactly 10 y on 2023-05-31; e3 10 y (11 on 06-01); e4 11 y; e5 33 y; 5 unknown
    assert age == {"0-5 years": [1, 3, 3], "6-10 years": [2, 2, 1], "11-15 years": [1, 0, 0], "16-20 years": [0, 0, 0],
                   ">20 years": [1, 0, 0], "Unknown": [5, 0, 0]}
    band = {r[0]: r for r in rows(d, "by_age_band")}
    assert band["0-5 years"][5] == 300.0 and band["6-10 years"][5] == 50.0
    place = {r[0]: r[1:4] for r in rows(d, "by_place_type")}
    assert place == {"Shopping mall": [1, 1, 0], "Residential": [1, 3, 3], "Unknown": [8, 1, 1]}
    assert rows(d, "by_area") == [["Xuanwu", "320102", 10, 5, 4, 50.0, 40.0, 40.0]]
    city = may(dataset, user="city_regulator", area="320100")
    assert [r[:5] for r in rows(city, "by_area")] == [["Xuanwu", "320102", 10, 5, 4], ["Qinhuai", "320104", 2, 2, 2]]
    assert ind(city, "entrapments")["value"] == 6 and ind(city, "repeat_elevators")["value"] == 2


def test_channel_type_hour_band_causes(dataset):
    d = may(dataset)
    ch = {r[0]: r[1:] for r in rows(d, "by_channel")}
    assert ch["96333 phone call"] == [4, 3, 3] and ch["IoT auto-alarm"] == [1, 1, 0] and ch["Car alarm button"] == [1, 1, 1]
    assert ch["12345 transfer"] == [0, 0, 0]
    ty = {r[0]: r[1:] for r in rows(d, "by_type")}
    assert ty == {"Entrapment": [5, 4], "Fault report": [1, 1], "Enquiry / other": [0, 0]}
    # local hours 08:10, 18:30, 23:00 (a1), 10:00 (a2), 23:30 (e3); stored in UTC
    hb = {r[0]: r[1:] for r in rows(d, "by_hour_band")}
    assert hb == {"00:00–07:00": [0, 0], "07:00–09:00": [1, 1], "09:00–12:00": [1, 0], "12:00–14:00": [0, 0],
                  "14:00–17:00": [0, 0], "17:00–20:00": [1, 1], "20:00–24:00": [2, 2]}
    cls = rows(d, "causes_by_class")
    assert cls == [["Human causes", 2, 2, 50.0], ["External causes", 1, 1, 25.0], ["Door system", 1, 0, 25.0],
                   ["Cause not reported", 1, 1, None]]
    items = rows(d, "causes_by_item")
    assert items[0] == ["Human causes", "Rubbish blocking the doors", 2, 2, 50.0]
    assert [r[1] for r in items[1:]] == ["Door operator fault", "Power cut"]  # ties by class code: door_system < external


def test_rankings_min_fleet_and_case_date_maintenance_unit(dataset):
    d = may(dataset)
    # use unit A: 2 elevators, 4 faults (200%) but below the minimum fleet of 3; UU-Big 5 elevators, 1 fault; UU-Mid no fault
    assert rows(d, "top_use_units") == [[1, "UU-Big", 5, 1, 1, 20.0, 20.0, 20.0]]
    # a1's cases of 05-03 and 05-10 belong to MU-A (contract until 05-15), 05-20's to MU-X; fleets on 05-31: MU-A a2,e3-e7; MU-X a1,e8,e9
    assert rows(d, "top_maintenance_units") == [[1, "maintenance_unit A", 6, 4, 3, 66.67, 50.0, 50.0],
                                                [2, "MU-X", 3, 1, 1, 33.33, 33.33, 33.333]]
    # brands folded: "Otis ", "OTIS", "otis" → OTIS (3 elevators, 5 faults); KONE has no fault
    assert rows(d, "top_brands") == [[1, "OTIS", 3, 5, 4, 166.67, 133.33, 133.333]]


def test_ranking_reads_names_only_for_the_top_and_its_ties(settings):
    """Names are fetched only for groups that can reach the list; ties with the n-th by rates are ordered by name."""
    settings.LIFTSAFE_RULES = {**RULES, "report_top_n": 2, "report_min_fleet_size": 10}
    fleet = {1: 10, 2: 10, 3: 10, 4: 10, 5: 20, 6: 9, None: 50}
    cases = {1: (5, 0), 2: (3, 1), 3: (3, 1), 4: (3, 0), 5: (1, 0), 6: (9, 9), None: (50, 50)}
    all_names = {1: "A", 2: "Zed", 3: "Bee", 4: "C", 5: "D", 6: "E"}
    asked = []

    def names(keys):
        asked.append(sorted(keys))
        return {k: all_names[k] for k in keys}

    got = S._ranking("x", "X", fleet, cases, names, 1)["rows"]
    assert asked == [[1, 2, 3]]  # 1 first; 2 and 3 tie for 2nd (same fault and entrapment rates); 4, 5 cannot reach it
    assert [r[:4] for r in got] == [[1, "A", 10, 5], [2, "Bee", 10, 3]]
    assert S._ranking("x", "X", fleet, cases, all_names, 1)["rows"] == got

def test_min_fleet_rule_and_top_n(dataset, settings):
    settings.LIFTSAFE_RULES = {**RULES, "report_min_fleet_size": 2, "report_top_n": 1}
    d = may(dataset)
    assert rows(d, "top_use_units") == [[1, "use_unit A", 2, 4, 3, 200.0, 150.0, 150.0]]


def test_repeat_elevators_table(dataset):
    d = may(dataset, period=Period.of("quarter", 2023, 2))
    t = S.table(d, "repeat_elevators")
    assert t["columns"][-3:] == ["2023-04", "2023-05", "2023-06"]
    a1 = dataset.elevators["a1"]
    # a1: 3 in May; e3: 04-30 23:59 and 05-31 23:30 (both in Q2) — most first, then by elevator
    assert t["rows"] == [[a1.display_code, "A1", a1.address, "Xuanwu", 3, 0, 3, 0], ["E3", "E3", "E3 Test Road", "Xuanwu", 2, 1, 1, 0]]
    assert ind(d, "repeat_elevators")["value"] == 2


def test_hazard_rates(dataset):
    d = may(dataset)
    h = {k: (ind(d, k)["value"], ind(d, k)["numerator"], ind(d, k)["denominator"])
         for k in ("hazards_filed", "rectification_rate", "on_time_rate", "recurrence_rate")}
    # filed in May: H1 (closed 05-20), H2 (open); lead H4 and B's HB excluded. Closed in May: H1 on time, H3 late.
    # re-checks done in May: pass + recurrence (pending excluded)
    assert h == {"hazards_filed": (2, 2, None), "rectification_rate": (50.0, 1, 2), "on_time_rate": (50.0, 1, 2),
                 "recurrence_rate": (50.0, 1, 2)}
    assert ind(d, "hazards_filed")["previous"] == 1  # H3, filed in April
    assert rows(d, "hazards_by_level")[-1] == ["General (一般)", 2, 1, 50.0]


# --------------------------------------------------------------------------- scoping
def test_scoping_regulator_maintenance_unit_other_district(dataset):
    # a maintenance unit sees its *current* contracts: a2, e3-e7 (a1 moved to MU-X; b2's contract with it expired)
    mu = S.report_data(dataset.users["maintenance_unit"], area_code=None, period=MAY, language="en", now=NOW)
    assert ind(mu, "elevators_in_use")["value"] == 6
    assert (ind(mu, "faults")["value"], ind(mu, "entrapments")["value"]) == (2, 1)
    assert mu["area"]["code"] == ""
    # district A's regulator: A only, by default its own area
    own = S.report_data(dataset.users["regulator"], area_code=None, period=MAY, language="en", now=NOW)
    assert own["area"]["code"] == "320102" and ind(own, "entrapments")["value"] == 4
    # district B is outside A's regulator's scope: same error as an unknown code
    with pytest.raises(ValidationError) as e1:
        may(dataset, area="320104")
    with pytest.raises(ValidationError) as e2:
        may(dataset, area="999999")
    assert set(e1.value.message_dict) == set(e2.value.message_dict) == {"area"}
    assert "320104" in e1.value.message_dict["area"][0]
    # the city regulator sees B
    b = may(dataset, user="city_regulator", area="320104")
    assert (ind(b, "elevators_in_use")["value"], ind(b, "entrapments")["value"]) == (2, 2)
    # a user without a role sees nothing: an empty report of nothing
    nobody = S.report_data(dataset.users["nobody"], area_code=None, period=MAY, language="en", now=NOW)
    assert nobody["empty"] and ind(nobody, "elevators_in_use")["value"] == 0 and ind(nobody, "fault_rate")["value"] is None
    with pytest.raises(ValidationError):
        S.report_data(dataset.users["nobody"], area_code="320102", period=MAY, now=NOW)


# --------------------------------------------------------------------------- bad input, empty, language, determinism
def test_empty_period_is_an_honest_report(dataset):
    d = may(dataset, period=Period.of("month", 2021, 2))
    assert d["empty"] is True
    assert ind(d, "cases")["value"] == 0 and ind(d, "fault_rate")["value"] == 0.0 and ind(d, "elevators_in_use")["value"] == 10
    assert ind(d, "response_mean")["value"] is None and ind(d, "rectification_rate")["value"] is None
    assert rows(d, "top_use_units") == [] and rows(d, "repeat_elevators") == []
    assert len(d["definitions"]) >= 20 and all(x["formula"] and x["source"] for x in d["definitions"])


def test_future_and_unfinished_periods_refused(dataset):
    for p in ("2023-08", "2024", "2023-Q3"):
        with pytest.raises(ValidationError) as e:
            S.report_data(dataset.users["regulator"], area_code="320102", period=p, now=NOW)
        assert set(e.value.message_dict) == {"period"}
    with pytest.raises(ValidationError):
        S.report_data(dataset.users["regulator"], area_code="320102", period="2023-07", now=NOW)  # current month, unfinished
    live = S.dashboard(dataset.users["regulator"], area_code="320102", period="2023-07", now=NOW)
    assert live["period"]["label"] == "2023-07"
    assert S.dashboard(dataset.users["regulator"], area_code=None, now=NOW)["period"]["label"] == "2023-07"
    with pytest.raises(ValidationError):
        S.dashboard(dataset.users["regulator"], area_code="320102", period="2023-08", now=NOW)
    with pytest.raises(ValidationError) as e:
        S.report_data(dataset.users["regulator"], area_code="320102", period="May 2023", now=NOW)
    assert "period" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        S.report_data(dataset.users["regulator"], area_code="320102", period=MAY, language="fr", now=NOW)
    assert "language" in e.value.message_dict


def test_chinese_labels_and_determinism(dataset):
    zh1 = may(dataset, language="zh-hans")
    zh2 = may(dataset, language="zh-hans")
    assert zh1 == zh2  # same data, same numbers, same order
    en = may(dataset, language="en")
    assert ind(en, "fault_rate")["label"] == "Fault rate"
    assert ind(zh1, "fault_rate")["label"] == "故障率"
    assert zh1["area"]["name"] == "玄武区"
    assert [s["key"] for s in zh1["sections"]] == [s["key"] for s in en["sections"]]
    assert ind(zh1, "fault_rate")["value"] == ind(en, "fault_rate")["value"]


def test_cache_written_by_services_is_what_reports_read(world, settings):
    """A case run through the emergency services (not hand-built) lands in the report with its durations."""
    from liftsafe.emergency import services as em

    settings.LIFTSAFE_RULES = dict(RULES)
    admin = world.users["admin"]
    t0 = local(2023, 5, 4, 9, 0)
    res = em.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0)
    em.dispatch_case(admin, res.case, 1, at=t0 + dt.timedelta(minutes=1))
    em.record_milestone(admin, res.case, "responded", at=t0 + dt.timedelta(minutes=3))
    em.record_milestone(admin, res.case, "arrived", at=t0 + dt.timedelta(minutes=16))
    em.record_milestone(admin, res.case, "released", at=t0 + dt.timedelta(minutes=21), released_count=1)
    d = may(world)
    assert ind(d, "entrapments")["value"] == 1
    assert (ind(d, "response_mean")["value"], ind(d, "arrival_mean")["value"], ind(d, "on_site_mean")["value"]) == (2.0, 15.0, 5.0)
