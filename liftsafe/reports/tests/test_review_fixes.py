"""Regression tests for the reviewer's findings on the report numbers (faults, fleet at the period's end,
KPI denominators, XLSX injection, partial periods, catch-up generation, concurrent generation)."""
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from liftsafe.testing import make_elevator, make_world
from liftsafe.emergency.models import EmergencyCase
from liftsafe.registry.models import Elevator, LifecycleEvent
from liftsafe.reports import render
from liftsafe.reports import selectors as S

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2023, 7, 15, 12, 0, tzinfo=SH)
_n = iter(range(1, 10**6))


def mk(e, at, **kw):
    d = dict(elevator=e, area_id=e.area_id, order_number=f"RF{next(_n):07d}", channel="phone_96333", case_type="entrapment",
             received_at=at, state="completed", level=0)
    d.update(kw)
    return EmergencyCase.objects.create(**d)


@pytest.fixture
def w(db):
    return make_world()


def ind(data, k):
    return S.indicator(data, k)


def may(w, now=NOW):
    return S.report_data(w.users["regulator"], area_code=None, period="2023-05", language="en", now=now)


def test_enquiries_and_false_alarms_are_not_faults(w):
    a1 = w.elevators["a1"]
    mk(a1, dt.datetime(2023, 5, 3, 9, tzinfo=SH), case_type="enquiry")
    mk(a1, dt.datetime(2023, 5, 3, 10, tzinfo=SH), case_type="enquiry", state="cancelled")
    mk(a1, dt.datetime(2023, 5, 4, 9, tzinfo=SH))
    mk(a1, dt.datetime(2023, 5, 5, 9, tzinfo=SH), case_type="fault_report")
    mk(a1, dt.datetime(2023, 5, 6, 9, tzinfo=SH), case_type="fault_report", state="false_alarm")
    d = may(w)
    got = {k: ind(d, k)["value"] for k in ("cases", "faults", "entrapments", "false_alarms")}
    assert got == {"cases": 5, "faults": 2, "entrapments": 1, "false_alarms": 2}
    assert ind(d, "fault_rate")["numerator"] == 2
    types = {r[0]: r[1:] for r in S.table(d, "by_type")["rows"]}
    assert types["Enquiry / other"] == [2, 0]
    assert "enquiries are not faults" in {x["key"]: x["formula"] for x in d["definitions"]}["faults"]


def test_fleet_counted_at_each_period_end(w):
    a1 = w.elevators["a1"]
    mk(a1, dt.datetime(2023, 5, 4, 9, tzinfo=SH))
    # installed after May 2023 (but before now): not in May's fleet
    make_elevator("NEW", w.district_a, installation_date=dt.date(2023, 6, 10))
    # installed in May 2023: in May's fleet, not in April's (previous) nor May 2022's (last year)
    make_elevator("MAYNEW", w.district_a, installation_date=dt.date(2023, 5, 20))
    # scrapped on 2023-05-10 (status date): not in May's fleet, in April's
    make_elevator("SCR", w.district_a, status=Elevator.Status.SCRAPPED, status_date=dt.date(2023, 5, 10),
                  installation_date=dt.date(2000, 1, 1))
    # scrapped later (2023-06-20): still in May's fleet
    make_elevator("SCRLATE", w.district_a, status=Elevator.Status.SCRAPPED, status_date=dt.date(2023, 6, 20))
    # status in use but a scrapped lifecycle event before May's end: not counted
    ev = make_elevator("EVT", w.district_a)
    LifecycleEvent.objects.create(elevator=ev, kind=LifecycleEvent.Kind.SCRAPPED, occurred_on=dt.date(2023, 5, 2))
    # stopped now: not counted (its past status is not known)
    make_elevator("STOP", w.district_a, status=Elevator.Status.STOPPED)
    d = may(w)
    fleet = ind(d, "elevators_in_use")
    # a1, a2, MAYNEW, SCRLATE
    assert fleet["value"] == 4
    # April: a1, a2, SCR, SCRLATE, EVT (its scrapping event is in May); May 2022: a1, a2, SCR, SCRLATE, EVT
    assert fleet["previous"] == 5 and fleet["last_year"] == 5
    fr = ind(d, "fault_rate")
    assert (fr["value"], fr["numerator"], fr["denominator"]) == (25.0, 1, 4)
    bands = {r[0]: r[1] for r in S.table(d, "by_age_band")["rows"]}
    assert bands["0-5 years"] == 1 and bands["Unknown"] == 3 and sum(bands.values()) == 4


def test_case_on_elevator_installed_after_period_goes_to_unknown_age(w):
    e = make_elevator("LATE", w.district_a, installation_date=dt.date(2023, 6, 10))
    mk(e, dt.datetime(2023, 5, 4, 9, tzinfo=SH))
    d = may(w)
    bands = {r[0]: r[1:4] for r in S.table(d, "by_age_band")["rows"]}
    assert bands["0-5 years"] == [0, 0, 0]
    assert bands["Unknown"][1:] == [1, 1]


def test_kpi_denominator_is_dispatched_entrapments(w):
    a1 = w.elevators["a1"]
    t = dt.datetime(2023, 5, 4, 9, tzinfo=SH)
    m = dt.timedelta(minutes=1)
    mk(a1, t, dispatched_at=t + m, responded_at=t + 2 * m, arrived_at=t + 20 * m)       # both on time
    mk(a1, t, dispatched_at=t + m, responded_at=t + 10 * m, arrived_at=t + 50 * m)      # both late
    mk(a1, t, dispatched_at=t + m)                                                       # no times: misses
    mk(a1, t)                                                                            # never dispatched: not counted
    d = may(w)
    r, a = ind(d, "response_kpi_rate"), ind(d, "arrival_kpi_rate")
    assert (r["value"], r["numerator"], r["denominator"]) == (33.33, 1, 3)
    assert (a["value"], a["numerator"], a["denominator"]) == (33.33, 1, 3)


def test_kpi_live_period_counts_missing_time_once_limit_passed(w):
    a1 = w.elevators["a1"]
    now = dt.datetime(2023, 7, 15, 12, 0, tzinfo=SH)
    mk(a1, now - dt.timedelta(hours=2), dispatched_at=now - dt.timedelta(hours=2))   # overdue for both: misses
    mk(a1, now - dt.timedelta(minutes=10), dispatched_at=now - dt.timedelta(minutes=10))  # response overdue only
    mk(a1, now - dt.timedelta(minutes=1), dispatched_at=now - dt.timedelta(minutes=1))   # nothing due yet
    d = S.dashboard(w.users["regulator"], area_code=None, now=now, language="en")
    r, a = ind(d, "response_kpi_rate"), ind(d, "arrival_kpi_rate")
    assert (r["numerator"], r["denominator"]) == (0, 2)
    assert (a["numerator"], a["denominator"]) == (0, 1)


def test_xlsx_formula_injection_and_control_characters(w):
    from openpyxl import load_workbook

    a1 = w.elevators["a1"]
    a1.address = '=HYPERLINK("http://x","y")'
    a1.save()
    a2 = w.elevators["a2"]
    a2.address = "Bad\x01Road\x1f 5"
    a2.save()
    for i in range(2):
        mk(a1, dt.datetime(2023, 5, 3 + i, 9, tzinfo=SH))
        mk(a2, dt.datetime(2023, 5, 3 + i, 10, tzinfo=SH))
    wb = load_workbook(io.BytesIO(render.render_xlsx(may(w))))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    found = [c for c in cells if c.value.startswith("=HYPER")]
    assert found and all(c.data_type == "s" for c in found)
    assert not any(c.data_type == "f" for ws in wb for row in ws.iter_rows() for c in row)
    assert any(c.value == "BadRoad 5" for c in cells)


def test_live_dashboard_partial_period(w):
    a1 = w.elevators["a1"]
    mk(a1, dt.datetime(2023, 7, 3, 9, tzinfo=SH))
    mk(a1, dt.datetime(2023, 6, 3, 9, tzinfo=SH))   # in June's first 15 days: compared
    mk(a1, dt.datetime(2023, 6, 20, 9, tzinfo=SH))  # after June's first 15 days: not compared
    mk(a1, dt.datetime(2022, 7, 10, 9, tzinfo=SH))
    mk(a1, dt.datetime(2022, 7, 25, 9, tzinfo=SH))
    d = S.dashboard(w.users["regulator"], area_code=None, now=NOW, language="en")  # 2023-07-15 12:00
    p = d["period"]
    assert (p["label"], p["partial"], p["elapsed_days"], p["days"], p["span_end"]) == ("2023-07", True, 15, 31, "2023-07-16")
    assert d["compare"]["previous"]["span_end"] == "2023-06-16" and d["compare"]["last_year"]["span_end"] == "2022-07-16"
    e = ind(d, "entrapments")
    assert (e["value"], e["previous"], e["last_year"]) == (1, 1, 1)
    m = ind(d, "monthly_entrapment_rate")  # 1 ÷ (2 elevators × 15/31 months)
    assert m["value"] == round(100 * 31 / 30, 3)
    notes = [n for s in d["sections"] for n in s["notes"]]
    assert any(n.startswith("Partial period: 15 of 31 days") for n in notes)
    assert "Partial period" in render.render_html(d)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render.render_xlsx(d)))
    assert any(c.value == "Partial period" for row in wb.worksheets[0].iter_rows() for c in row)
    # a finished period is not partial
    assert may(w)["period"]["partial"] is False
