"""The shipped example sheets (docs/domain §15.4), as configuration a regulator copies and edits.

Each item says where its points come from; items whose metric the platform does not record are kept (they are
part of the source's sheet) and read "unknown" with the points they could have changed. Bands the source does
not give are marked ``"bands_source": "platform default"``.
"""
from __future__ import annotations

#: a city platform's monthly sheet (Chengdu platform source, docs/domain §15.4): points added to a base of 100.
CITY_MONTHLY = {
    "code": "city_monthly",
    "name": "City platform monthly sheet (docs/domain §15.4)",
    "source": "docs/domain §15.4: a city platform's 31-item monthly sheet (points); the items below are those the reference gives",
    "window": "month",
    "base": 100,
    "grades": ["A", "B", "C", "D"],
    "edges": "lower_inclusive",
    "bands_source": "platform default (the source gives points, not grade edges): A ≥ 90, B 80–90, C 70–80, D < 70",
    "bands": [{"grade": "D", "min": None, "max": 70}, {"grade": "C", "min": 70, "max": 80},
              {"grade": "B", "min": 80, "max": 90}, {"grade": "A", "min": 90, "max": None}],
    "min_sample": {"metric": "lifts", "min": 1},
    "items": [
        {"code": "lifts_per_worker", "metric": "lifts_per_worker", "label": "lifts per worker (base 25–30)",
         "tiers": [{"min": None, "max": 20.0001, "points": 3}, {"min": 20.0001, "max": 25, "points": 1},
                   {"min": 25, "max": 30.0001, "points": 0}, {"min": 30.0001, "max": 40.0001, "points": -5},
                   {"min": 40.0001, "max": None, "points": -10}]},
        {"code": "duty_phone", "metric": "unanswered_duty_calls", "per": -5, "label": "unanswered duty phone (−5 each)"},
        {"code": "on_site_visits", "metric": "visits_not_on_site_pct", "per": -1, "cap": 100,
         "label": "visits scanned on site and on time (minus the missing percentage points)"},
        {"code": "unhandled_alarm", "metric": "unhandled_alarms", "per": -2, "label": "unhandled alarm (−2 each)"},
        {"code": "failed_first_inspection", "metric": "failed_first_inspections", "per": -2,
         "label": "failed first periodic inspection (−2 per lift)"},
        {"code": "serious_hazard", "metric": "serious_hazards", "per": -5, "label": "serious hazard (−5 per lift)"},
        {"code": "bypassed_circuit", "metric": "bypassed_safety_circuits", "per": -20,
         "label": "bypassed safety circuit (−20 per lift)"},
        {"code": "accident", "metric": "accidents", "veto": True, "per": -30,
         "label": "accident (−30; major or ≥ 2 a year → lowest grade)"},
        {"code": "complaint", "metric": "complaints", "per": -5, "label": "complaint (−5)"},
        {"code": "forged_record", "metric": "forged_records", "per": -20, "label": "forged record or subcontracting (−20)"},
        {"code": "late_arrival", "metric": "late_arrivals", "per": -10, "label": "arrival over 30 min (−10 each)"},
        {"code": "maint_entrapment", "metric": "maintenance_caused_entrapments", "per": -3,
         "label": "entrapment caused by maintenance (−3)"},
        {"code": "remote_monitoring", "metric": "monitored_lifts", "per": 1 / 30, "label": "remote monitoring (+1 per 30 lifts)"},
        {"code": "liability_insurance", "metric": "insured_lifts", "per": 1 / 50, "label": "liability insurance (+1 per 50 lifts)"},
    ],
    "hard_rules": [],
}

#: Fujian 2016 yearly point scheme (docs/domain §15.4): net penalty points, lower is better.
FUJIAN_YEARLY = {
    "code": "fujian_yearly",
    "name": "Fujian yearly point scheme (docs/domain §15.4)",
    "source": "docs/domain §15.4: Fujian 2016, yearly (Jan 1–Dec 31), ≤ 10 A, 11–25 B, 26–40 C, > 40 D; "
              "veto items docs/domain §15.4; Putian hard rules docs/domain §9",
    "window": "year",
    "base": 0,
    "grades": ["A", "B", "C", "D"],
    "edges": "upper_inclusive",
    "bands_source": "the source's bands with their gaps closed: A ≤ 10, B (10, 25], C (25, 40], D > 40",
    "bands": [{"grade": "A", "min": None, "max": 10}, {"grade": "B", "min": 10, "max": 25},
              {"grade": "C", "min": 25, "max": 40}, {"grade": "D", "min": 40, "max": None}],
    "min_sample": {"metric": "lifts", "min": 1},
    "items": [
        {"code": "outside_licence", "metric": "outside_licence", "per": 40, "label": "work outside the licence (40)"},
        {"code": "forged_licence", "metric": "licence_expired", "per": 20, "veto": True,
         "label": "expired (20) or forged (40) licence; veto item"},
        {"code": "no_duty_phone", "metric": "no_duty_phone", "per": 5, "label": "no 24 h phone (5)"},
        {"code": "fault_rate", "metric": "faults_per_lift_month", "tiers": [{"min": None, "max": 3, "points": 0},
                                                                            {"min": 3, "max": None, "points": 10}],
         "label": "≥ 3 faults per lift per month (10)"},
        {"code": "first_pass", "metric": "first_pass_rate",
         "tiers": [{"min": None, "max": 0.70, "points": 20}, {"min": 0.70, "max": 0.80, "points": 10},
                   {"min": 0.80, "max": 0.90, "points": 5}, {"min": 0.90, "max": 0.95, "points": 2},
                   {"min": 0.95, "max": None, "points": 0}],
         "label": "first-pass inspection rate < 95 % 2, < 90 % 5, < 80 % 10, < 70 % 20"},
        {"code": "late_rescue", "metric": "late_arrivals", "per": 10, "label": "late rescue (10 each)"},
        {"code": "accident", "metric": "accidents", "veto": True, "label": "accident (veto item)"},
        {"code": "dishonest", "metric": "dishonest_listed", "veto": True, "label": "listed as dishonest (veto item)"},
        {"code": "bypassed_circuit", "metric": "bypassed_safety_circuits", "veto": True,
         "label": "punished for bypassing safety circuits or subcontracting (veto item)"},
    ],
    "hard_rules": [
        {"code": "putian_bad_credit", "metric": "first_pass_rate", "op": "lt", "value": 0.70, "list": "bad_credit"},
        {"code": "putian_blacklist", "metric": "first_pass_rate", "op": "lt", "value": 0.60, "list": "blacklist"},
    ],
}

#: Hong Kong EMSD contractor performance rating (docs/domain §15.4): Maintenance Index + Safety Index, 12 months.
HK_INDICES = {
    "code": "hk_indices",
    "name": "Hong Kong EMSD indices (docs/domain §15.4)",
    "source": "docs/domain §15.4: Maintenance Index = 50 × (1 − maintenance penalty points ÷ inspections); "
              "Safety Index = 50 − safety penalty points; fewer than 5 lifts inspected → not rated; 12-month window",
    "window": "12_months",
    "base": 0,
    "grades": ["A", "B", "C", "D"],
    "edges": "lower_inclusive",
    "bands_source": "platform default over the sum of both indices (EMSD publishes the indices, not grades)",
    "bands": [{"grade": "D", "min": None, "max": 60}, {"grade": "C", "min": 60, "max": 75},
              {"grade": "B", "min": 75, "max": 90}, {"grade": "A", "min": 90, "max": None}],
    "min_sample": {"metric": "lifts_inspected", "min": 5},
    "items": [
        {"code": "maintenance_index", "metric": "failed_inspection_ratio", "base": 50, "per": -50, "cap": 50,
         "label": "Maintenance Index: 50 × (1 − failed inspections ÷ inspections)"},
        {"code": "safety_index", "metric": "serious_hazards", "base": 50, "per": -1, "cap": 50,
         "label": "Safety Index: 50 − 1 per lift with a major hazard"},
    ],
    "hard_rules": [],
}

SHIPPED_SHEETS = {s["code"]: s for s in (CITY_MONTHLY, FUJIAN_YEARLY, HK_INDICES)}


def install_shipped(sheet_model=None) -> int:
    """Create the shipped example sheets that are missing (an existing sheet of the same code is left as it is);
    returns how many were created. Used by the data migration ``0002`` (with the historical model) and by the
    test world (a transactional test's flush empties the table the migration filled)."""
    if sheet_model is None:
        from .models import Sheet as sheet_model
    made = 0
    for code, cfg in SHIPPED_SHEETS.items():
        made += sheet_model.objects.get_or_create(code=code, defaults={"name": cfg["name"], "config": cfg, "shipped": True})[1]
    return made
