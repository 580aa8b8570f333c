"""Rule parameters: the one place for time limits, thresholds and weights.

Each rule has a default and the source it comes from (a section of the project's
domain reference ``docs/domain/``, cited ``docs/domain §N``, and through it the standard or regulation).
A deployment overrides a value in ``settings.LIFTSAFE_RULES`` or with the
environment variable ``LIFTSAFE_RULES`` (a JSON object), e.g.
``LIFTSAFE_RULES='{"rescue_arrival_limit_urban_s": 1500}'``.

Use :func:`rule` to read a value; never hard-code a number that is here.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One configurable rule parameter.

    Attributes:
        name: the key used in settings and :func:`rule`.
        default: the value used when nothing overrides it.
        unit: the unit of the value (``s``, ``days``, ``count`` …).
        source: where the default comes from (docs/domain section, standard, clause).
    """

    name: str
    default: Any
    unit: str
    source: str


RULES: dict[str, Rule] = {
    r.name: r
    for r in [
        # --- registry / identity (docs/domain §1) ---
        Rule("rescue_code_pattern", r"^\d{5,6}$", "regex",
             "docs/domain §1.5: rescue codes are 5-6 digits by city (Shenzhen 6, Zhangzhou/Shenyang 5); stored as strings"),
        Rule("equipment_code_pattern", r"^[0-9A-Za-z-]{18,20}$", "regex",
             "docs/domain §1.2: TSG 08-2017 设备代码 18 chars (19 when assigned by the registration authority); "
             "field validation in practice allows 20 alphanumerics or '-' [U]"),
        Rule("old_elevator_age_years", 15, "years",
             "docs/domain §7, §6: 15-year threshold (TSG T7001-2023 annual inspection, T5002 governor calibration)"),
        # --- import safety ---
        Rule("import_max_file_bytes", 512 * 1024 * 1024, "bytes",
             "liftsafe design: a registry export over 512 MiB is refused before any write"),
        Rule("import_xlsx_max_uncompressed_bytes", 1024 * 1024 * 1024, "bytes",
             "liftsafe design: XLSX (zip) bomb guard, total uncompressed size"),
        Rule("import_xlsx_max_ratio", 200, "ratio",
             "liftsafe design: XLSX (zip) bomb guard, max compression ratio of any member"),
        Rule("import_batch_rows", 2000, "rows", "liftsafe design: rows per database batch"),
        Rule("import_heartbeat_s", 30, "s", "liftsafe design: a running import writes a sign of life this often"),
        Rule("import_stale_after_s", 15 * 60, "s",
             "liftsafe design: a running import on another host without a sign of life for this long is marked interrupted"),
        # --- emergency (docs/domain §3.4) ---
        Rule("rescue_arrival_limit_urban_s", 30 * 60, "s",
             "docs/domain §3.4: TSG T5002-2017 Art. 5, arrival within 30 min in 直辖市/设区的市"),
        Rule("rescue_arrival_limit_other_s", 60 * 60, "s",
             "docs/domain §3.4: TSG T5002-2017 Art. 5, arrival within 1 h in other areas"),
        Rule("dispatch_response_limit_s", 3 * 60, "s",
             "docs/domain §3.4: Shandong 96333 KPI 三分钟响应率 (respond within 3 min of dispatch)"),
        Rule("cause_report_window_s", 24 * 3600, "s",
             "docs/domain §3.3 step 7 (DB32/T 4130): the level-1 maintenance unit feeds the cause back after the fault is cleared; "
             "no deadline found [U]; liftsafe design: the responder page asks for it for 24 h after release"),
        Rule("board_warning_fraction", 0.8, "fraction",
             "liftsafe design: a live-board timer turns amber at this share of its limit (response 3 min, arrival 30/60 min, docs/domain §3.4)"),
        Rule("board_poll_s", 1, "s",
             "liftsafe design (issue 4: an operator sees an IoT alarm's case on the live board within a second of the device's "
             "message; docs/domain §3.4 times the response from dispatch, so every second before the operator sees the case counts): "
             "how often an open live board asks the server for changes"),
        Rule("dispatch_delay_warning_s", 60, "s",
             "liftsafe design default (docs/domain §3 gives no national dispatch-time figure): an entrapment or call nobody "
             "has dispatched yet turns its live-board timer red after this long since receipt (amber at board_warning_fraction)"),
        Rule("intake_future_skew_s", 5 * 60, "s",
             "liftsafe design: an alarm's received_at may be at most this far in the future (clock skew)"),
        Rule("intake_max_past_age_s", 7 * 24 * 3600, "s",
             "liftsafe design (issue 18 item 9), the same bound as iot_max_past_age_s: a call or alarm taken live "
             "(by an operator, the API) may be at most 7 days old; replays of historic data carry no operator"),
        # --- responder proof on site (issue 15; docs/domain §3.3 steps 4-5, §15.1) ---
        Rule("arrival_far_radius_m", 500, "m",
             "liftsafe design after docs/domain §15.1 (on-site proof, as maintenance check-ins): an arrival recorded farther "
             "than this from the lift's coordinates is flagged for the regulator; never blocks the rescue"),
        Rule("arrival_accuracy_max_m", 5000, "m",
             "liftsafe design: a phone location whose stated accuracy is above this (or zero/negative/missing) is "
             "recorded but treated as unreliable (cell-tower or IP location, not the site)"),
        Rule("field_photo_max_bytes", 8 * 1024 * 1024, "bytes",
             "liftsafe design: largest arrival/release photo accepted (the same bound as maintenance_photo_max_bytes)"),
        Rule("field_photo_max_pixels", 40_000_000, "pixels",
             "liftsafe design: decompression-bomb guard for arrival/release photos (a 40 MP phone photo fits)"),
        Rule("telephony_lookup_max_cases", 20, "count",
             "liftsafe design: earlier cases shown by a caller lookup (newest first)"),
        # --- notifications outbox ---
        Rule("notification_retry_base_s", 30, "s",
             "liftsafe design: first retry delay of a failed notification channel; doubles each attempt"),
        Rule("notification_retry_max_s", 3600, "s", "liftsafe design: longest delay between two notification retries"),
        Rule("notification_max_attempts", 10, "count", "liftsafe design: attempts before a notification is marked failed"),
        # --- hazards (docs/domain §7: no national deadlines exist; all design defaults [U]) ---
        Rule("hazard_deadline_days", {"major": 5, "significant": 15, "general": 30}, "days by level",
             "docs/domain §7 [U]: no national rectification deadline found; design default per level "
             "(重大 5 d, 较大 15 d, 一般 30 d); one low-quality report says 较大 5 d / 一般 30 d"),
        Rule("hazard_overdue_thresholds_days", [0, 7, 30], "days past deadline",
             "liftsafe design (docs/domain §7 [U]): notify once when a hazard becomes overdue, again at 7 and 30 days"),
        Rule("hazard_evidence_max_bytes", 20 * 1024 * 1024, "bytes",
             "liftsafe design: largest rectification evidence file"),
        Rule("hazard_evidence_types", {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
                                       "pdf": "application/pdf", "webp": "image/webp"}, "extension → MIME",
             "liftsafe design: photos and documents only (docs/domain §7 evidence: photos, documents)"),
        Rule("hazard_lookback_rate", 0.2, "fraction",
             "liftsafe design (docs/domain §7 回头看 [U]): share of closed hazards re-checked per level; listed ones always"),
        Rule("hazard_lookback_min_per_level", 1, "count",
             "liftsafe design: at least this many re-checks per non-empty level stratum"),
        Rule("hazard_recurrence_raise_level", True, "bool",
             "issue 5 / docs/domain §7 [U]: a recurrence found on re-check raises the level one step by default"),
        Rule("hazard_entrapment_lead_count", 3, "count",
             "issue 5 (docs/domain §7 'frequent faults' priority list [S]): entrapments of one elevator that raise a lead"),
        Rule("hazard_entrapment_lead_window_days", 90, "days",
             "issue 5: window for hazard_entrapment_lead_count"),
        # --- IoT monitoring (docs/domain §4.1; detection timers are vendor-specific [U]: configuration) ---
        Rule("iot_entrapment_s", 20, "s",
             "docs/domain §4.1: 平层关人 / 非平层关人 20 s in one firmware [U] (passenger present, doors closed, car stopped)"),
        Rule("iot_stop_outside_door_zone_s", 45, "s", "docs/domain §4.1: 门区外停车 45 s in one firmware [U]"),
        Rule("iot_door_open_running_s", 0, "s",
             "docs/domain §4.1: 运行中开门 (one firmware debounces 50 s [U]); liftsafe raises on the first status showing it"),
        Rule("iot_overspeed_ratio", 1.2, "ratio", "docs/domain §4.1: 超速 alarms at 1.2× (and 1.4×) rated speed"),
        Rule("iot_offline_after_s", 180, "s",
             "docs/domain §4.1: heartbeat interval of GB/T 24476 NOT verified [U]; 3 missed 60 s heartbeats"),
        Rule("iot_max_message_bytes", 8192, "bytes", "liftsafe design: larger payloads are dead-lettered"),
        Rule("iot_max_future_skew_s", 300, "s", "liftsafe design: device time more than 5 min ahead of receive time is rejected"),
        Rule("iot_max_past_age_s", 7 * 24 * 3600, "s",
             "liftsafe design: device time older than 7 days is rejected (queued backlog of a week is still accepted)"),
        Rule("iot_flood_window_s", 60, "s", "liftsafe design: window for the per-device message cap"),
        Rule("iot_flood_max_messages", 120, "count", "liftsafe design: messages per device per window beyond which they are dead-lettered"),
        Rule("iot_alarm_rate_window_s", 3600, "s", "liftsafe design: window for the per-elevator alarm cap"),
        Rule("iot_alarm_rate_max", 20, "count", "liftsafe design: new alarms per elevator per window; more are counted as suppressed"),
        Rule("iot_correlation_window_s", 120, "s",
             "docs/domain §4.3: 停电 is the largest single trapping cause; power-loss alarms of one area within 2 min form one incident"),
        Rule("iot_ledger_retention_days", 14, "days", "liftsafe design: processed message ids kept for redelivery de-duplication"),
        Rule("door_vibration_window", 240, "samples", "liftsafe design: 60 s rolling window at 4 Hz (Huawei door series)"),
        Rule("door_vibration_baseline", 2400, "samples", "liftsafe design: first 10 min at 4 Hz form the vibration baseline"),
        Rule("door_vibration_sigma", 3.0, "sigma", "liftsafe design: rolling mean above baseline mean + 3 sd = abnormal"),
        Rule("door_vibration_sustain", 120, "samples", "liftsafe design: abnormal for 30 s (120 samples at 4 Hz) = sustained, flagged"),
        # --- statistics and reports (docs/domain §3.6, §3.4) ---
        Rule("report_response_kpi_s", 3 * 60, "s",
             "docs/domain §3.4/§13: Shandong 三分钟响应率, responded within 3 min of dispatch"),
        Rule("report_arrival_kpi_s", 30 * 60, "s",
             "docs/domain §3.4/§13: 三十分钟到达率, arrived within 30 min of dispatch"),
        Rule("report_min_fleet_size", 20, "elevators",
             "liftsafe design: a unit or brand needs this many elevators in the area to enter a top list by rate"),
        Rule("report_top_n", 10, "count", "docs/domain §10: Shandong publishes the top 10 by brand, maintenance unit, user unit, cause"),
        Rule("report_age_bands_years", [5, 10, 15, 20], "years (upper bounds)",
             "docs/domain §3.6: age bands (5-10 years, 11-15 highest, over 15); old-lift threshold 15 years (docs/domain §13)"),
        Rule("report_hour_bands", [0, 7, 9, 12, 14, 17, 20, 24], "hour boundaries",
             "liftsafe design: hour bands of published reports (docs/domain §3.6 'by hour band'), peaks 7-9 and 17-20"),
        Rule("report_pg_work_mem", "64MB", "PostgreSQL memory size",
             "liftsafe design: SET LOCAL work_mem for the report's read-only transaction on PostgreSQL, so the "
             "period's GROUP BYs hash in memory instead of sorting on disk (bench/RESULTS.md, Reports)"),
        Rule("report_repeat_min_entrapments", 2, "count",
             "docs/domain §3.6: repeat lifts (most trapping incidents per lift); listed from this many in the period"),
        # --- data exchange (docs/domain §3.5, §10) ---
        Rule("exchange_batch_size", 500, "records", "liftsafe design: records per upload batch"),
        Rule("exchange_timeout_s", 30, "s", "liftsafe design: a receiver slower than this counts as a failed attempt"),
        Rule("exchange_retry_base_s", 60, "s", "liftsafe design: first retry delay, doubled per attempt"),
        Rule("exchange_retry_max_s", 3600, "s", "liftsafe design: longest delay between two upload retries"),
        Rule("exchange_max_attempts", 10, "count", "liftsafe design: explicit refusals (4xx other than 400/422/429, an unreadable 2xx reply) before a batch is marked failed (re-send on demand); transport failures (no reply, timeout, 5xx, 429, a 200 'busy' reply) never count"),
        Rule("exchange_rate_limit_per_min", 60, "batches/min", "liftsafe design: default per-destination rate limit"),
        Rule("exchange_watermark_overlap_s", 3600, "s", "liftsafe design: look-back before the exchange watermark (late commits with an older updated_at are still collected)"),
        Rule("exchange_max_reply_bytes", 1048576, "bytes", "liftsafe design: largest receiver reply read; a longer one is a failed attempt"),
        Rule("exchange_send_budget_s", 120, "s", "liftsafe design: time one send_due call may spend on one destination"),
        # --- security (issue 18) ---
        Rule("api_token_default_days", 90, "days",
             "liftsafe design after OWASP ASVS 4.0 V3.5 (API tokens revocable and time-limited): default validity of a new API token"),
        Rule("login_failure_limit", 5, "count",
             "GB/T 22239-2019 (等保 2.0) 8.1.4.1 b: limit failed sign-ins (登录失败处理, 限制非法登录次数); "
             "OWASP Authentication Cheat Sheet, account lockout; per account and per address"),
        Rule("login_lockout_s", 15 * 60, "s",
             "GB/T 22239-2019 8.1.4.1 b / OWASP Authentication Cheat Sheet: lockout duration after the failure limit (liftsafe design value)"),
        Rule("api_token_max_days", 366, "days", "liftsafe design: the longest validity a user or operator may give an API token"),
        Rule("exchange_import_settle_s", 60, "s", "liftsafe design: a dropped file modified more recently than this is imported on a later run"),
        # --- maintenance (TSG T5002; docs/domain §5, §13, §15.1) ---
        Rule("maintenance_interval_days", {"half_monthly": 15, "quarterly": 90, "half_yearly": 182, "yearly": 365}, "days",
             "docs/domain §5, §13: T5002 cycles 15 d / quarter / half-year / year, cumulative"),
        Rule("maintenance_overdue_days", 15, "calendar days",
             "docs/domain §15.1: overdue when more than 15 calendar days have passed since the last visit; holidays give no extra time"),
        Rule("maintenance_min_dwell_s", 20 * 60, "s", "liftsafe design after docs/domain §15.1 (30-second visits seen): shorter dwell is flagged"),
        Rule("maintenance_checkin_radius_m", 300, "m", "liftsafe design after docs/domain §15.1 (on-site proof): check-in farther from the lift is flagged"),
        Rule("maintenance_backfill_after_h", 24, "h", "liftsafe design: a visit received this long after its reported start is flagged back-filled"),
        Rule("maintenance_plan_horizon_days", 31, "days", "liftsafe design: how far ahead the plan job proposes visits"),
        Rule("maintenance_photo_max_bytes", 8 * 1024 * 1024, "bytes", "liftsafe design: largest visit photo accepted"),
        # --- insurance (docs/domain §11, §15.7) ---
        Rule("insurance_trapped_bands", [
            {"key": "30m_1h", "from_s": 30 * 60, "to_s": 60 * 60, "yuan_per_person": 200},
            {"key": "1h_1h30", "from_s": 60 * 60, "to_s": 90 * 60, "yuan_per_person": 300},
            {"key": "1h30_2h", "from_s": 90 * 60, "to_s": 120 * 60, "yuan_per_person": 400},
            {"key": "over_2h", "from_s": 120 * 60, "to_s": None, "yuan_per_person": 500},
        ], "s, yuan per person",
             "docs/domain §15.7: Shandong 2019 guidance (>=30 min and <=1 h: 200; >1 h to 1.5 h: 300; >1.5 h to 2 h: 400; "
             ">2 h: 500 yuan per person, minimums). Edges [U]: the first band includes its lower edge, every band includes "
             "its upper edge (to_s), a later band starts just above it; to_s None = no upper edge"),
        Rule("insurance_suggest_window_days", 30, "days",
             "liftsafe design: the claim-suggestion job looks at entrapments released this many days back (re-runs are idempotent)"),
        # --- public disclosure (docs/domain §10, §15.6) ---
        Rule("disclosure_reports_per_address_per_hour", 3, "count",
             "liftsafe design after docs/domain §15.6 (abuse protection without third-party services): more reports from one address in an hour need the challenge"),
        Rule("disclosure_reports_per_lift_per_hour", 10, "count",
             "liftsafe design after docs/domain §15.6: more reports on one lift in an hour need the challenge"),
        Rule("disclosure_page_views_per_address_per_minute", 60, "count",
             "liftsafe design after docs/domain §15.6 (codes must not be enumerable): QR page look-ups per address per minute before HTTP 429"),
        Rule("disclosure_reopen_window_days", 30, "days",
             "liftsafe design after docs/domain §15.6 (FixMyStreet reopen): a reporter may reopen a closed report this long after closure"),
        Rule("disclosure_photo_max_bytes", 5 * 1024 * 1024, "bytes", "liftsafe design: largest photo a member of the public may attach"),
        Rule("disclosure_photo_max_pixels", 40_000_000, "pixels", "liftsafe design: refuse decompression bombs before decoding"),
        Rule("disclosure_duplicate_window_h", 24, "h",
             "liftsafe design after docs/domain §15.6 (duplicates merged): an open report of the same category on the same lift this recent is suggested as the duplicate"),
        Rule("disclosure_labels_per_pdf", 2000, "count", "liftsafe design: labels per PDF part; larger selections stream as a ZIP of parts (bounded memory)"),
        # --- inspection (docs/domain §6, §15.2, §15.3, §12) ---
        Rule("inspection_policies", {"*": "t7001_2023", "US": "nyc_annual"}, "area-code prefix → policy code",
             "docs/domain §6: cycle as a rule table keyed on area (local policy), age and category; national TSG T7001-2023, "
             "the demo's US areas on the NYC annual regime (docs/domain §12, §15.2); codes in liftsafe/inspection/schedule.py"),
        Rule("inspection_finding_deadline", {"major": [15, "working"], "minor": [30, "calendar"]}, "[days, calendar|working] by class",
             "liftsafe design [U]: no national deadline for inspection findings found (docs/domain §6); NYC comparator 90 days "
             "(docs/domain §15.2); working days follow the official calendar (docs/domain §15.3)"),
        Rule("inspection_agency_affiliations", {}, "agency id → [maintenance-unit ids]",
             "docs/domain §15.2 (NYC comparator: the inspector may not be affiliated with the maintainer); configurable list"),
        Rule("inspection_due_months_ahead", 3, "months", "issue 12: the agency's due list / workload calendar horizon"),
        # --- maintenance-unit rating (docs/domain §9, §15.4) ---
        Rule("rating_objection_days", 21, "days",
             "docs/domain §15.4 (UK food hygiene rating appeals: 21 days; the platform's default objection window)"),
        Rule("rating_objection_day_basis", "calendar", "calendar | working",
             "issue 13: the objection window is counted in calendar or working days (working days: docs/domain §15.3)"),
        Rule("rating_review_days", 15, "working days",
             "issue 13: a reviewer decides an objection within this many working days of its filing (local practice; configurable)"),
        Rule("rating_credit_lift_after_days", 365, "days",
             "docs/domain §9 (Putian: removal on application once a 1-year management period passes without repeat)"),
        Rule("rating_bars_on_demand_grades", ["C", "D"], "grades",
             "docs/domain §9, §13 (grade C or below is excluded from on-demand maintenance pilots)"),
        # --- publicity (docs/domain §15.8) ---
        Rule("publicity_safety_week_monday", 2, "n-th Monday of September",
             "docs/domain §15.8: 电梯安全宣传周 has no fixed national date and is held in quality month (September); "
             "liftsafe design: the week starting on this Monday"),
        Rule("publicity_image_max_bytes", 5 * 1024 * 1024, "bytes", "liftsafe design: largest article image accepted"),
        Rule("publicity_image_max_pixels", 40_000_000, "pixels", "liftsafe design: largest decoded image (decompression bombs)"),
        Rule("publicity_image_max_side", 2000, "pixels", "liftsafe design: stored images are scaled down to this side (light public pages)"),
        # command centre (issue 15)
        Rule("command_wall_poll_s", 5, "s",
             "liftsafe design (issue 15): how often the wall screen asks for its live document; the operator's own live board "
             "polls every board_poll_s (docs/domain §3.4 times the response from dispatch), the wall screen is read from 5 m"),
    ]
}


def _overrides() -> dict[str, Any]:
    values: dict[str, Any] = {}
    try:
        from django.conf import settings

        values.update(getattr(settings, "LIFTSAFE_RULES", {}) or {})
    except Exception:  # settings not configured (plain scripts)
        pass
    raw = os.environ.get("LIFTSAFE_RULES")
    if raw:
        values.update(json.loads(raw))
    return values


def rule(name: str) -> Any:
    """Return the value of rule ``name`` (override, else default).

    Raises:
        KeyError: if ``name`` is not a known rule (a typo must not silently
            fall back to some other number).
    """
    if name not in RULES:
        raise KeyError(f"unknown rule {name!r}; known rules are listed in liftsafe/rules.py")
    overrides = _overrides()
    return overrides.get(name, RULES[name].default)
