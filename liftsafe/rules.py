"""Rule parameters: the one place for time limits, thresholds and weights.

Each rule has a default and the source it comes from (a section of
``shared/domain/FACTS.md`` and, through it, the standard or regulation).
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
        source: where the default comes from (FACTS section, standard, clause).
    """

    name: str
    default: Any
    unit: str
    source: str


RULES: dict[str, Rule] = {
    r.name: r
    for r in [
        # --- registry / identity (FACTS §1) ---
        Rule("rescue_code_pattern", r"^\d{5,6}$", "regex",
             "FACTS §1.5: rescue codes are 5-6 digits by city (Shenzhen 6, Zhangzhou/Shenyang 5); stored as strings"),
        Rule("equipment_code_pattern", r"^[0-9A-Za-z-]{18,20}$", "regex",
             "FACTS §1.2: TSG 08-2017 设备代码 18 chars (19 when assigned by the registration authority); "
             "field validation in practice allows 20 alphanumerics or '-' [U]"),
        Rule("old_elevator_age_years", 15, "years",
             "FACTS §7, §6: 15-year threshold (TSG T7001-2023 annual inspection, T5002 governor calibration)"),
        # --- import safety ---
        Rule("import_max_file_bytes", 512 * 1024 * 1024, "bytes",
             "liftsafe design: a registry export over 512 MiB is refused before any write"),
        Rule("import_xlsx_max_uncompressed_bytes", 1024 * 1024 * 1024, "bytes",
             "liftsafe design: XLSX (zip) bomb guard, total uncompressed size"),
        Rule("import_xlsx_max_ratio", 200, "ratio",
             "liftsafe design: XLSX (zip) bomb guard, max compression ratio of any member"),
        Rule("import_batch_rows", 2000, "rows", "liftsafe design: rows per database batch"),
        # --- emergency (FACTS §3.4) ---
        Rule("rescue_arrival_limit_urban_s", 30 * 60, "s",
             "FACTS §3.4: TSG T5002-2017 Art. 5, arrival within 30 min in 直辖市/设区的市"),
        Rule("rescue_arrival_limit_other_s", 60 * 60, "s",
             "FACTS §3.4: TSG T5002-2017 Art. 5, arrival within 1 h in other areas"),
        Rule("dispatch_response_limit_s", 3 * 60, "s",
             "FACTS §3.4: Shandong 96333 KPI 三分钟响应率 (respond within 3 min of dispatch)"),
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
