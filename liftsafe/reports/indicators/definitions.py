"""The report's appendix: the definitions of every indicator, in the report's language.

Split out of :mod:`liftsafe.reports.selectors` (which re-exports every name).
"""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import pgettext

from liftsafe.rules import rule

from .base import age_bands, hour_bands
from .headline import HEADLINE_LABELS


# --------------------------------------------------------------------------- definitions (appendix)
def _list_text(items: list[str]) -> str:
    """``items`` joined with the active language's list separator (", " in English, "、" in Chinese)."""
    return pgettext("list separator", ", ").join(items)


def age_bands_text() -> str:
    """The age bands of rule ``report_age_bands_years`` in words, in the active language:
    [5, 10, 15, 20] → "0–5, 6–10, 11–15, 16–20, over 20" (zh-Hans "0–5、6–10、11–15、16–20、20 以上")."""
    return _list_text([f"{lo}–{hi}" if hi is not None else _("over %(n)s") % {"n": lo - 1}
                       for _key, lo, hi in age_bands()])


def hour_bands_text() -> str:
    """The local-hour bands of rule ``report_hour_bands`` in words: [0, 7, 9, 24] → "0–7, 7–9, 9–24"
    (half-open: each from its first hour up to, not including, its last)."""
    return _list_text([f"{a}–{b}" for a, b in hour_bands()])


def definitions() -> list[dict]:
    """The appendix: one entry per indicator, ``[{"key", "label", "formula", "source"}]`` in the active
    language. Rule parameters appear as their current values in words (never rule keys); sources cite
    docs/domain sections and standards (docs/domain §3.3–§13). Stored in each report's snapshot, so a stored report
    keeps the text it was generated with."""
    r_kpi, a_kpi = rule("report_response_kpi_s"), rule("report_arrival_kpi_s")
    d = [
        ("elevators_in_use", _("Elevators in the area and in the reader's scope in use at the end of the period: installed before "
                               "the period's end (or installation date unknown), registry status 'in use', or 'scrapped' with a "
                               "status date on or after the period's end, and no 'scrapped' lifecycle event before the period's "
                               "end; stopped and sealed elevators are not counted. Each comparison period uses its own fleet."),
         _("docs/domain §3.6 (在用电梯数量)")),
        ("cases", _("Emergency cases received in the period (any type, any outcome)"), _("docs/domain §3.5")),
        ("faults", _("Cases received in the period of type entrapment or fault report that are not false alarms or cancelled "
                     "(enquiries are not faults)"),
         _("docs/domain §3.6 (故障次数); CPASE M001-2015")),
        ("entrapments", _("Faults of type entrapment (困人)"), _("docs/domain §3.6")),
        ("false_alarms", _("Cases closed as false alarm or cancelled (any type)"), _("docs/domain §3.5 (false alarm or cancelled)")),
        ("people_released", _("Sum of people released over the faults"), _("docs/domain §3.6 (people released)")),
        ("fault_rate", _("faults ÷ elevators in use × 100%"), _("docs/domain §3.6: CPASE M001-2015 故障率")),
        ("entrapment_rate", _("entrapments ÷ elevators in use × 100%"), _("docs/domain §3.6: Jinan 总困人率")),
        ("monthly_entrapment_rate", _("entrapment rate ÷ months in the period"), _("docs/domain §3.6: Jinan 月均困人故障率")),
        ("entrapments_per_10k", _("entrapments ÷ elevators in use × 10,000"), _("docs/domain §3.6: per 10,000 elevators (万台), 国办发〔2018〕8号")),
        ("response", _("responded − first dispatched, over entrapments with both times; mean, median, 90th percentile (nearest rank), "
                       "minutes"),
         _("docs/domain §3.3 (Shandong response time), §3.4")),
        ("arrival", _("arrived − first dispatched, over entrapments with both times; minutes"), _("docs/domain §3.4: TSG T5002-2017 Art. 5")),
        ("on_site", _("released − arrived, over entrapments with both times; minutes"), _("docs/domain §3.4 (现场实施救援用时)")),
        ("response_kpi_rate", _("dispatched entrapments responded within %(s)s s of dispatch ÷ dispatched entrapments × 100%%; "
                                "one without a response time counts as a miss once %(s)s s have passed or the period has "
                                "ended") % {"s": r_kpi},
         _("docs/domain §3.4/§13: Shandong 三分钟响应率")),
        ("arrival_kpi_rate", _("dispatched entrapments arrived within %(s)s s of dispatch ÷ dispatched entrapments × 100%%; "
                               "one without an arrival time counts as a miss once %(s)s s have passed or the period has "
                               "ended") % {"s": a_kpi},
         _("docs/domain §3.4/§13: 三十分钟到达率")),
        ("repeat_elevators", _("elevators with at least %(n)s entrapments in the period") % {"n": rule("report_repeat_min_entrapments")},
         _("docs/domain §3.6: repeat elevators")),
        ("rankings", _("use units, maintenance units (the unit under contract on the case date) and brands with at least %(n)s elevators "
                       "in use, ranked by fault rate, then entrapment rate; top %(top)s") % {"n": rule("report_min_fleet_size"), "top": rule("report_top_n")},
         _("docs/domain §3.6, §10: Shandong top 10 lists")),
        ("age_band", _("completed years from installation date to the period's last day, age bands (years): %(bands)s; "
                       "no installation date, or one after the period's last day: unknown") % {"bands": age_bands_text()},
         _("docs/domain §3.6 (age bands), §13 (15-year threshold)")),
        ("hour_band", _("local hour of receipt, hour bands: %(bands)s (each from its first hour up to, not including, its last)")
         % {"bands": hour_bands_text()}, _("docs/domain §3.6 (by hour band)")),
        ("causes", _("faults by cause class and item as reported by the responder; share of those with a cause"),
         _("docs/domain §4.3 (困人原因)")),
        ("hazards_filed", _("accepted hazards (not leads or dismissed) filed in the period"), _("docs/domain §7")),
        ("rectification_rate", _("hazards filed in the period and closed before its end ÷ hazards filed in the period × 100%"), _("docs/domain §7")),
        ("on_time_rate", _("hazards closed in the period on or before their deadline ÷ hazards closed in the period × 100%"), _("docs/domain §7")),
        ("recurrence_rate", _("look-back re-checks done in the period finding a recurrence ÷ re-checks done in the period × 100%"),
         _("docs/domain §7 (回头看)")),
    ]
    labels = {k: v[0] for k, v in HEADLINE_LABELS.items()}
    extra = {"response": _l("Response time"), "arrival": _l("Arrival time"), "on_site": _l("On-site rescue time"),
             "rankings": _l("Top lists"), "age_band": _l("Age band"), "hour_band": _l("Hour band"), "causes": _l("Causes")}
    return [{"key": k, "label": str(labels.get(k) or extra[k]), "formula": str(f), "source": str(s)} for k, f, s in d]
