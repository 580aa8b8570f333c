"""Pure rating rules: band edges of every shipped sheet, sheet validation naming the field, veto, minimum sample,
unknown items, the objection window in calendar and working days (docs/domain §9, §15.3, §15.4)."""
import copy
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from liftsafe.rating import domain
from liftsafe.rating.sheets import CITY_MONTHLY, FUJIAN_YEARLY, HK_INDICES, SHIPPED_SHEETS

# (sheet, score, grade): every edge, both sides, and fractional points in the source's gaps
BAND_TABLE = [
    # Fujian net penalty points: ≤ 10 A, 11–25 B, 26–40 C, > 40 D; the gaps 10–11, 25–26, 40–41 closed
    (FUJIAN_YEARLY, -5, "A"), (FUJIAN_YEARLY, 0, "A"), (FUJIAN_YEARLY, 10, "A"), (FUJIAN_YEARLY, 10.0001, "B"),
    (FUJIAN_YEARLY, 10.5, "B"), (FUJIAN_YEARLY, 11, "B"), (FUJIAN_YEARLY, 25, "B"), (FUJIAN_YEARLY, 25.5, "C"),
    (FUJIAN_YEARLY, 26, "C"), (FUJIAN_YEARLY, 40, "C"), (FUJIAN_YEARLY, 40.25, "D"), (FUJIAN_YEARLY, 41, "D"),
    (FUJIAN_YEARLY, 1000, "D"),
    # city monthly (platform default bands over base 100): A ≥ 90, B [80, 90), C [70, 80), D < 70
    (CITY_MONTHLY, 120, "A"), (CITY_MONTHLY, 90, "A"), (CITY_MONTHLY, 89.999, "B"), (CITY_MONTHLY, 80, "B"),
    (CITY_MONTHLY, 79.5, "C"), (CITY_MONTHLY, 70, "C"), (CITY_MONTHLY, 69.99, "D"), (CITY_MONTHLY, -300, "D"),
    # HK indices (sum of two 50-point indices): A ≥ 90, B [75, 90), C [60, 75), D < 60
    (HK_INDICES, 100, "A"), (HK_INDICES, 90, "A"), (HK_INDICES, 89.5, "B"), (HK_INDICES, 75, "B"),
    (HK_INDICES, 74.99, "C"), (HK_INDICES, 60, "C"), (HK_INDICES, 59.9, "D"), (HK_INDICES, 0, "D"),
]


@pytest.mark.parametrize("sheet,score,grade", BAND_TABLE, ids=[f"{s['code']}-{v}" for s, v, _g in BAND_TABLE])
def test_band_edges(sheet, score, grade):
    assert domain.grade_for(score, sheet) == grade


@pytest.mark.parametrize("code", sorted(SHIPPED_SHEETS))
def test_every_shipped_sheet_validates_and_every_score_has_exactly_one_band(code):
    cfg = SHIPPED_SHEETS[code]
    domain.validate_sheet(cfg)
    upper = cfg["edges"] == "upper_inclusive"
    for k in range(-2000, 2000):
        score = k / 10
        hits = [b for b in cfg["bands"] if (b["min"] is None or (score > b["min"] if upper else score >= b["min"]))
                and (b["max"] is None or (score <= b["max"] if upper else score < b["max"]))]
        assert len(hits) == 1, (code, score, hits)


def _bad(cfg_change):
    cfg = copy.deepcopy(FUJIAN_YEARLY)
    cfg_change(cfg)
    with pytest.raises(ValidationError) as e:
        domain.validate_sheet(cfg)
    return e.value.message_dict


def test_validation_names_the_field():
    assert "bands[1].min" in _bad(lambda c: c["bands"][1].update(min=11))          # gap 10–11 (the source's)
    assert "bands[2].min" in _bad(lambda c: c["bands"][2].update(min=20))          # overlap
    assert "bands" in _bad(lambda c: c["bands"][0].update(min=-100))               # not open below
    assert "bands" in _bad(lambda c: c["bands"][3].update(max=100))                # not open above
    assert "bands[0].grade" in _bad(lambda c: c["bands"][0].update(grade="Z"))
    assert "items[3].metric" in _bad(lambda c: c["items"][3].update(metric="nonsense"))
    assert "items[0].cap" in _bad(lambda c: c["items"][0].update(cap=-1))
    assert "items[3].tiers[1].min" in _bad(lambda c: c["items"][3]["tiers"][1].update(min=1))
    assert "window" in _bad(lambda c: c.update(window="fortnight"))
    assert "min_sample" in _bad(lambda c: c.update(min_sample={"metric": "lifts", "min": 0}))
    assert "hard_rules[0].op" in _bad(lambda c: c["hard_rules"][0].update(op="approx"))
    assert "items[1].code" in _bad(lambda c: c["items"][1].update(code=c["items"][0]["code"]))
    with pytest.raises(ValidationError):
        domain.validate_sheet("not a dict")
    # unhashable or wrongly typed JSON values are refused by name, never a crash
    assert "items[0].metric" in _bad(lambda c: c["items"][0].update(metric=["lifts"]))
    assert "items[0].code" in _bad(lambda c: c["items"][0].update(code={"a": 1}))
    assert "min_sample" in _bad(lambda c: c.update(min_sample={"metric": {}, "min": 1}))
    assert "hard_rules" in _bad(lambda c: c.update(hard_rules={"x": 1}))
    assert "items[3].tiers[1].min" in _bad(lambda c: c["items"][3]["tiers"][0].update(max="3"))
    assert "name" in _bad(lambda c: c.update(name="x" * 201))


def _values(**kw):
    v = {m: None for m in domain.METRICS}
    v.update(kw)
    return v


def test_fujian_points_hard_rules_and_veto():
    vals = _values(lifts=10, faults_per_lift_month=3.0, first_pass_rate=0.65, late_arrivals=1)
    out = domain.evaluate(FUJIAN_YEARLY, vals)
    # ≥ 3 faults per lift per month 10 + first pass < 70 % 20 + late rescue 10 = 40 → C (40 is C, 40.x is D)
    assert out.rated and out.score == 40 and out.grade == "C" and not out.veto
    assert [h["list"] for h in out.hard_hits] == ["bad_credit"]  # 0.65 < 0.70, not < 0.60
    veto = domain.evaluate(FUJIAN_YEARLY, _values(lifts=10, first_pass_rate=1.0, accidents=1))
    assert veto.veto and veto.grade == "D" and veto.score == 0  # the points say A; the veto says D
    assert domain.evaluate(FUJIAN_YEARLY, _values(lifts=10, first_pass_rate=0.5)).hard_hits[-1]["list"] == "blacklist"


def test_minimum_sample_gives_not_rated_never_a_perfect_score():
    hk = domain.evaluate(HK_INDICES, _values(lifts=40, lifts_inspected=4, failed_inspection_ratio=0.0, serious_hazards=0))
    assert not hk.rated and hk.grade is None and hk.score is None
    ok = domain.evaluate(HK_INDICES, _values(lifts=40, lifts_inspected=5, failed_inspection_ratio=0.2, serious_hazards=3))
    assert ok.rated and ok.score == 50 * 0.8 + 47 and ok.grade == "B"
    none = domain.evaluate(CITY_MONTHLY, _values(lifts=0))
    assert not none.rated and none.grade is None
    # hard rules are evaluated apart from the bands, rated or not
    small = domain.evaluate(FUJIAN_YEARLY, _values(lifts=0, first_pass_rate=0.5))
    assert not small.rated and {h["list"] for h in small.hard_hits} == {"bad_credit", "blacklist"}


def test_unknown_items_are_counted_and_bounded():
    out = domain.evaluate(CITY_MONTHLY, _values(lifts=30, lifts_per_worker=15, visits_not_on_site_pct=12.5,
                                                failed_first_inspections=1, serious_hazards=0, late_arrivals=2, insured_lifts=25))
    # 100 + 3 − 12.5 − 2 − 0 − 20 + 0.5 = 69 → D
    assert out.score == pytest.approx(69.0) and out.grade == "D"
    unknown = {i.code for i in out.items if i.unknown}
    assert {"duty_phone", "bypassed_circuit", "accident", "remote_monitoring"} <= unknown
    assert out.unknown_items == len(unknown) and out.unknown_points is None  # per-count items are unbounded


def test_periods():
    assert domain.period_for("month", dt.date(2026, 2, 14)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert domain.period_for("year", dt.date(2026, 2, 14)) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert domain.period_for("12_months", dt.date(2026, 6, 3)) == (dt.date(2025, 7, 1), dt.date(2026, 6, 30))
    assert domain.period_for("12_months", dt.date(2026, 12, 3)) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_objection_window_calendar_and_working_days():
    # 2025 National Day: Oct 1–8 off, Sat Oct 11 a make-up working day (调休), docs/domain §15.3
    assert domain.objection_deadline(dt.date(2025, 9, 30), 3, "calendar") == (dt.date(2025, 10, 3), True)
    assert domain.objection_deadline(dt.date(2025, 9, 30), 3, "working") == (dt.date(2025, 10, 11), True)
    assert domain.objection_deadline(dt.date(2025, 9, 30), 21, "calendar")[0] == dt.date(2025, 10, 21)
    # a year whose official calendar is not published: weekdays, and said so
    day, known = domain.objection_deadline(dt.date(2031, 3, 7), 1, "working")  # Friday → Monday
    assert day == dt.date(2031, 3, 10) and known is False
