"""The risk score model as configuration (``model.toml``), validated at load with errors naming the field.

Shape (see ``model.toml`` and docs/risk.md):

- ``factors``: ``[{key, weight ≥ 0, transform, source, …}]`` — ``transform`` is ``linear`` (``cap`` > 0:
  value = min(raw, cap) / cap), ``steps`` (``steps`` = ``[[threshold, value]…]``, thresholds increasing from 0,
  values in [0, 1]: the value of the last threshold ≤ raw), ``map`` (``map`` = ``{raw: value}``) or ``flag``
  (raw true → 1, false → 0). ``key`` must be one of :data:`FACTOR_KEYS` (each has a reader in
  :mod:`liftsafe.risk.compute`).
- ``bands``: half-open intervals ``[from, to)`` over the score, the last without ``to``; sorted, the first from
  0, each starting where the previous ends (no gap, no overlap), each colour of :data:`COLOURS` at most once.
- ``replacement.age_years`` > 0: lifts at least that old are flagged for replacement whatever the score
  (docs/domain §15.5).
- ``matrix``: severity × probability table of GB/T 20900 / ISO 14798 (docs/domain §8): every cell a group that
  ``groups`` maps to a colour.

Errors: :class:`django.core.exceptions.ValidationError` ``{"<path>": [message]}``, e.g.
``{"factors[2].weight": ["must be a number ≥ 0"]}``, ``{"bands[1].from": ["gap: …"]}``.
"""
from __future__ import annotations

import math
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: colours from the lowest to the highest risk (docs/domain §8: 低 蓝, 一般 黄, 较大 橙, 重大 红)
COLOURS = ("blue", "yellow", "orange", "red")
FACTOR_KEYS = ("age", "entrapments", "faults", "inspection", "hazards_open", "hazards_overdue", "crowded_place",
               "maintenance_overdue", "maintenance_flagged", "unit_grade", "iot_coverage", "insurance")
TRANSFORMS = ("linear", "steps", "map", "flag")
MODEL_PATH = Path(__file__).with_name("model.toml")


@dataclass(frozen=True)
class Factor:
    key: str
    weight: float
    transform: str
    source: str
    cap: float | None = None
    steps: tuple[tuple[float, float], ...] = ()
    mapping: tuple[tuple[str, float], ...] = ()

    def value(self, raw) -> float | None:
        """The raw fact transformed to [0, 1]; None when the fact is unknown (``raw`` None or not in the map)."""
        if raw is None:
            return None
        if self.transform == "linear":
            return min(float(raw), self.cap) / self.cap if raw > 0 else 0.0
        if self.transform == "steps":
            i = bisect_right([t for t, _v in self.steps], float(raw)) - 1
            return self.steps[max(i, 0)][1]
        if self.transform == "map":
            return dict(self.mapping).get(str(raw))
        return 1.0 if raw else 0.0


@dataclass(frozen=True)
class Band:
    colour: str
    lower: float
    upper: float | None  # None = unbounded


@dataclass(frozen=True)
class Model:
    version: str
    window_days: int
    factors: tuple[Factor, ...]
    bands: tuple[Band, ...]
    replacement_age_years: float
    matrix: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def total_weight(self) -> float:
        return sum(f.weight for f in self.factors)

    def colour(self, score: float) -> str:
        """The one band holding ``score`` (half-open ``[from, to)``; scores below 0 count as 0)."""
        s = max(float(score), 0.0)
        for b in self.bands:
            if b.lower <= s and (b.upper is None or s < b.upper):
                return b.colour
        raise AssertionError("validated bands cover every score ≥ 0")  # unreachable after validation

    def band_up(self, colour: str) -> str:
        """The next band's colour (one band up); the top band stays."""
        order = [b.colour for b in self.bands]
        i = order.index(colour)
        return order[min(i + 1, len(order) - 1)]

    def bands_index(self, colour: str) -> int:
        return [b.colour for b in self.bands].index(colour)

    def band_floor(self, colour: str) -> float:
        return next(b.lower for b in self.bands if b.colour == colour)

    def matrix_colour(self, severity: str, probability: str) -> tuple[str, str]:
        """``(group, colour)`` of a severity × probability cell (GB/T 20900 / ISO 14798 table; docs/domain §8).

        Raises ValidationError naming ``severity`` or ``probability`` when not in the table."""
        m = self.matrix
        if severity not in m["severities"]:
            raise ValidationError({"severity": [_("Unknown severity %(v)r; expected one of %(all)s.") % {"v": severity, "all": ", ".join(m["severities"])}]})
        if probability not in m["probabilities"]:
            raise ValidationError({"probability": [_("Unknown probability %(v)r; expected one of %(all)s.") % {"v": probability, "all": ", ".join(m["probabilities"])}]})
        group = m["cells"][severity][m["probabilities"].index(probability)]
        return group, m["groups"][group]


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(data: dict) -> Model:
    """Check a parsed model (the TOML's dict) and build a :class:`Model`.

    Raises:
        ValidationError: ``{path: [message]}`` for every problem found (all of them, not only the first).
    """
    errs: dict[str, list[str]] = {}

    def err(path, msg):
        errs.setdefault(path, []).append(str(msg))

    if not isinstance(data, dict):
        raise ValidationError({"model": [_("must be a table")]})
    version = str(data.get("version") or "")
    if not version:
        err("version", _("is required"))
    window = data.get("window_days")
    if not (isinstance(window, int) and not isinstance(window, bool) and 1 <= window <= 3660):
        err("window_days", _("must be a whole number of days between 1 and 3660"))
    factors = []
    seen = set()
    raw_factors = data.get("factors")
    if not isinstance(raw_factors, list) or not raw_factors:
        err("factors", _("at least one factor is required"))
        raw_factors = []
    for i, f in enumerate(raw_factors):
        p = f"factors[{i}]"
        if not isinstance(f, dict):
            err(p, _("must be a table"))
            continue
        key = f.get("key")
        if key not in FACTOR_KEYS:
            err(f"{p}.key", _("unknown factor %(k)r; expected one of %(all)s") % {"k": key, "all": ", ".join(FACTOR_KEYS)})
        elif key in seen:
            err(f"{p}.key", _("factor %(k)r appears twice") % {"k": key})
        seen.add(key)
        w = f.get("weight")
        if not _num(w) or w < 0:
            err(f"{p}.weight", _("must be a number ≥ 0 (negative weights are not allowed)"))
        t = f.get("transform")
        if t not in TRANSFORMS:
            err(f"{p}.transform", _("must be one of %(all)s") % {"all": ", ".join(TRANSFORMS)})
        if not str(f.get("source") or "").strip():
            err(f"{p}.source", _("name the source of the fact"))
        cap, steps, mapping = None, (), ()
        if t == "linear":
            cap = f.get("cap")
            if not _num(cap) or cap <= 0:
                err(f"{p}.cap", _("must be a number > 0"))
        elif t == "steps":
            st = f.get("steps")
            ok = isinstance(st, list) and st and all(isinstance(s, list) and len(s) == 2 and _num(s[0]) and _num(s[1]) for s in st)
            if not ok:
                err(f"{p}.steps", _("must be a list of [threshold, value] pairs"))
            else:
                th = [s[0] for s in st]
                if th[0] != 0:
                    err(f"{p}.steps", _("the first threshold must be 0 (every value must match a step)"))
                if any(b <= a for a, b in zip(th, th[1:])):
                    err(f"{p}.steps", _("thresholds must increase strictly"))
                if any(not 0 <= s[1] <= 1 for s in st):
                    err(f"{p}.steps", _("values must be between 0 and 1"))
                steps = tuple((float(a), float(b)) for a, b in st)
        elif t == "map":
            mp = f.get("map")
            if not isinstance(mp, dict) or not mp or not all(_num(v) and 0 <= v <= 1 for v in mp.values()):
                err(f"{p}.map", _("must map each raw value to a number between 0 and 1"))
            else:
                mapping = tuple((str(k), float(v)) for k, v in mp.items())
        if _num(w) and key in FACTOR_KEYS and t in TRANSFORMS:
            factors.append(Factor(key=key, weight=float(w), transform=t, source=str(f.get("source", "")), cap=cap if _num(cap) else None,
                                  steps=steps, mapping=mapping))
    if raw_factors and not any(_num(f.get("weight")) and f.get("weight") > 0 for f in raw_factors if isinstance(f, dict)):
        err("factors", _("at least one factor needs a weight > 0"))
    bands = _bands(data.get("bands"), err)
    rep = data.get("replacement") if isinstance(data.get("replacement"), dict) else {}
    age = rep.get("age_years")
    if not _num(age) or age <= 0:
        err("replacement.age_years", _("must be a number of years > 0"))
    matrix = _matrix(data.get("matrix"), err)
    if errs:
        raise ValidationError(errs)
    return Model(version=version, window_days=int(window), factors=tuple(factors), bands=tuple(bands),
                 replacement_age_years=float(age), matrix=matrix)


def _bands(raw, err) -> list[Band]:
    if not isinstance(raw, list) or not raw:
        err("bands", _("at least one band is required"))
        return []
    out = []
    colours = set()
    for i, b in enumerate(raw):
        p = f"bands[{i}]"
        if not isinstance(b, dict):
            err(p, _("must be a table"))
            return []
        c = b.get("colour")
        if c not in COLOURS:
            err(f"{p}.colour", _("must be one of %(all)s") % {"all": ", ".join(COLOURS)})
        elif c in colours:
            err(f"{p}.colour", _("colour %(c)r is used by two bands") % {"c": c})
        colours.add(c)
        lo, hi = b.get("from"), b.get("to")
        if not _num(lo):
            err(f"{p}.from", _("must be a number"))
            return []
        last = i == len(raw) - 1
        if last and hi is not None:
            err(f"{p}.to", _("the last band has no upper edge (it holds every higher score)"))
        if not last and not _num(hi):
            err(f"{p}.to", _("must be a number (only the last band is open-ended)"))
            return []
        if hi is not None and _num(hi) and hi <= lo:
            err(f"{p}.to", _("must be greater than from (%(lo)s)") % {"lo": lo})
        if i == 0 and lo != 0:
            err(f"{p}.from", _("the first band must start at 0 (scores from 0 up would match nothing)"))
        if i > 0 and _num(raw[i - 1].get("to")):
            prev = raw[i - 1]["to"]
            if lo > prev:
                err(f"{p}.from", _("gap: scores from %(a)s to %(b)s match no band") % {"a": prev, "b": lo})
            elif lo < prev:
                err(f"{p}.from", _("overlap: scores from %(a)s to %(b)s match two bands") % {"a": lo, "b": prev})
        out.append(Band(c, float(lo), float(hi) if _num(hi) else None))
    order = [COLOURS.index(b.colour) for b in out if b.colour in COLOURS]
    if order != sorted(order):
        err("bands", _("colours must rise with the score (blue, yellow, orange, red)"))
    return out


def _matrix(raw, err) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        err("matrix", _("must be a table"))
        return {}
    sev, prob, groups, cells = raw.get("severities"), raw.get("probabilities"), raw.get("groups"), raw.get("cells")
    if not isinstance(sev, list) or not sev or len(set(map(str, sev))) != len(sev):
        err("matrix.severities", _("must be a list of distinct categories"))
        return {}
    if not isinstance(prob, list) or not prob or len(set(map(str, prob))) != len(prob):
        err("matrix.probabilities", _("must be a list of distinct categories"))
        return {}
    if not isinstance(groups, dict) or not groups or any(c not in COLOURS for c in groups.values()):
        err("matrix.groups", _("must map each risk group to a colour (%(all)s)") % {"all": ", ".join(COLOURS)})
        return {}
    if not isinstance(cells, dict):
        err("matrix.cells", _("must give a row per severity"))
        return {}
    for s in sev:
        row = cells.get(str(s))
        if not isinstance(row, list) or len(row) != len(prob):
            err(f"matrix.cells.{s}", _("must list one group per probability (%(n)d)") % {"n": len(prob)})
        elif any(g not in groups for g in row):
            err(f"matrix.cells.{s}", _("every cell must be a declared group (%(all)s)") % {"all": ", ".join(groups)})
    extra = set(cells) - {str(s) for s in sev}
    if extra:
        err("matrix.cells", _("rows for undeclared severities: %(x)s") % {"x": ", ".join(sorted(extra))})
    return {"severities": [str(s) for s in sev], "probabilities": [str(p) for p in prob], "groups": dict(groups),
            "cells": {str(k): list(v) for k, v in cells.items()}}


def parse(text: str) -> Model:
    """Parse and validate a model's TOML text. Raises ValidationError (``{"model": [syntax error]}`` or per field)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError({"model": [_("not valid TOML: %(e)s") % {"e": exc}]}) from None
    return validate(data)


@lru_cache(maxsize=1)
def model() -> Model:
    """The shipped model (``liftsafe/risk/model.toml``), validated once per process."""
    return parse(MODEL_PATH.read_text(encoding="utf-8"))
