"""The definitions appendix reads in both languages: rule parameters appear as their current values in
words (never rule keys), source glosses are translated, standard citations are kept (docs/reports.md)."""
from __future__ import annotations

import re

import pytest
from django.utils import translation

from liftsafe.reports import selectors as S

ENGLISH_GLOSSES = ("counts of people released", "Shandong top 10", "people released", "per 10,000", "repeat",
                   "Shandong response time", "age bands", "by hour band", "Art. 5", "false alarm", "deal_status")


def _appendix(language: str) -> list[dict]:
    with translation.override(language):
        return S.definitions()


def _text(defs: list[dict]) -> str:
    return "\n".join(f'{d["label"]}\t{d["formula"]}\t{d["source"]}' for d in defs)


def test_zh_appendix_has_no_rule_keys_or_english_glosses(settings):
    settings.LIFTSAFE_RULES = {}
    defs = _appendix("zh-hans")
    text = _text(defs)
    assert "report_" not in text and "rule " not in text
    for gloss in ENGLISH_GLOSSES:
        assert gloss not in text, gloss
    # no English words left in the source column beyond the docs/domain and standard citations
    for d in defs:
        words = set(re.findall(r"[A-Za-z_]{3,}", d["source"])) - {"docs", "domain", "TSG", "CPASE"}
        assert not words, (d["key"], d["source"])
    src = {d["key"]: d["source"] for d in defs}
    form = {d["key"]: d["formula"] for d in defs}
    assert "TSG T5002-2017 第五条" in src["arrival"]
    assert "CPASE M001-2015" in src["faults"] and src["cases"] == "docs/domain §3.5"
    assert "0–5、6–10、11–15、16–20、20 以上" in form["age_band"]
    assert "0–7、7–9、9–12、12–14、14–17、17–20、20–24" in form["hour_band"]


def test_en_appendix_keeps_english_text(settings):
    settings.LIFTSAFE_RULES = {}
    defs = _appendix("en")
    text = _text(defs)
    assert "report_" not in text
    src = {d["key"]: d["source"] for d in defs}
    form = {d["key"]: d["formula"] for d in defs}
    assert src["rankings"] == "docs/domain §3.6, §10: Shandong top 10 lists"
    assert src["people_released"] == "docs/domain §3.6 (people released)"
    assert src["arrival"] == "docs/domain §3.4: TSG T5002-2017 Art. 5"
    assert "age bands (years): 0–5, 6–10, 11–15, 16–20, over 20;" in form["age_band"]
    assert "hour bands: 0–7, 7–9, 9–12, 12–14, 14–17, 17–20, 20–24 (" in form["hour_band"]


@pytest.mark.parametrize("language, expected", [("en", "0–3, 4–12, over 12"), ("zh-hans", "0–3、4–12、12 以上")])
def test_age_and_hour_band_text_follow_the_rule(settings, language, expected):
    settings.LIFTSAFE_RULES = {"report_age_bands_years": [3, 12], "report_hour_bands": [0, 8, 18, 24]}
    form = {d["key"]: d["formula"] for d in _appendix(language)}
    assert expected in form["age_band"]
    assert ("0–8、8–18、18–24" if language == "zh-hans" else "0–8, 8–18, 18–24") in form["hour_band"]
    assert "0–5" not in form["age_band"] and "16–20" not in form["age_band"]
