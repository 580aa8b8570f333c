"""Declarative import mappings (TOML, one file per source) and the value transforms they name.

A mapping file ``liftsafe/registry/mappings/<name>.toml`` has these tables
(see ``nyc-dob.toml`` for a commented example):

- ``[source]``: ``name`` (Elevator.source), ``key`` (column holding the
  source's device id), ``encoding`` (``"auto"``, the default: byte-order
  mark, then strict UTF-8, then GB18030; or a codec name), ``required_columns``,
  ``null_tokens``, ``null_patterns`` (regexes), ``duplicates`` (``"reject"`` |
  ``"last"``), ``crowded_from_place_type`` (bool), ``header_search_rows``
  (rows searched for the header, default 30), ``column_aliases`` ({mapping
  column: [other header texts]}), ``ignore_columns`` (file columns known to be
  unused: not reported as unrecognised).
- Header texts are compared normalised (NFKC: full-width → half-width,
  ``（）`` → ``()``; white space removed; case folded; ``*`` marks dropped), so
  ``额定载重量（kg） `` finds the column ``额定载重量(kg)``. A two-row header (a
  group cell such as ``使用单位`` over ``名称`` / ``统一社会信用代码``) gives the
  columns ``使用单位/名称`` and ``使用单位/统一社会信用代码``, which also match
  ``使用单位名称`` / ``使用单位统一社会信用代码``.
- ``[[areas]]``: areas created idempotently before the import (code, name,
  name_en, level, parent, urban).
- ``[area]``: how a row finds its area: ``column`` + ``map`` (value → area
  code) or ``gbt2260 = true`` (6-digit GB/T 2260 code; province/city/district
  derived from the digits, names from ``province_name``/``city_name``/
  ``district_name`` columns).
- ``[fields.<elevator field>]``: ``column`` | ``template`` ("{A} {B}") |
  ``value`` (constant); ``transform`` (text, upper, int, number, date,
  length_ft_in, quantity, us_zip); ``scale`` (unit conversion factor);
  ``unit`` + ``default_unit`` (``quantity``: the model's unit, and the unit of
  a bare number); ``formats`` (dates); ``null`` (extra null tokens); ``map``
  (+ ``map_unknown`` = "error" | "keep"; keys may be glob patterns);
  ``on_error`` ("reject" the row | "drop" the value and keep the row);
  ``required``; ``identity`` (an identity code, read exactly: a spreadsheet
  number that cannot hold all its digits or a value in scientific notation
  rejects the row; default true for source_id, registration_code,
  equipment_code, use_certificate_no, rescue_code); ``width`` (a fixed-width
  digit code: a number cell gets its leading zeros back, reported as
  "corrected"; a text value of another length is rejected).
- ``[refs.<name>]``: organisation references: ``kind``, ``column`` (name),
  ``key_column`` + ``key_field`` (credit code / licence), ``field`` (Elevator
  FK) or ``contract = true`` (maintenance contract), ``raw_field``, and name
  normalisation: ``strip_suffixes``, ``aliases``, ``not_names``, ``not_pattern``.
- ``[building]``: ``key`` column, ``name``/``address`` templates, ``null``.
- ``extra_columns``: raw columns kept in Elevator.extra.
- ``[[events]]``: lifecycle events derived per row: ``kind``, ``date_field``,
  ``when`` ({field: value}), ``note``.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import re
import string
import tomllib
import unicodedata
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from .errors import MappingError

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"

TRANSFORMS = {"text", "upper", "int", "number", "date", "length_ft_in", "quantity", "us_zip"}
# Elevator fields that hold identity codes: read exactly or the row is rejected (docs/domain §1)
IDENTITY_FIELDS = {"source_id", "registration_code", "equipment_code", "use_certificate_no", "rescue_code"}


def header_key(text: str) -> str:
    """Normalised header text used to match file columns to mapping columns.

    NFKC (full-width letters, digits and brackets → half-width: ``（kg）`` → ``(kg)``),
    other CJK brackets (【】〔〕［］) → ``()``, all white space removed, case folded,
    ``*``/``※`` required-marks dropped. ``"额定载重量（KG） "`` → ``"额定载重量(kg)"``.
    """
    t = unicodedata.normalize("NFKC", text or "").replace("\ufeff", "")
    t = t.translate(_BRACKETS)
    t = "".join(t.split()).casefold()
    return t.strip("*※")


_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "［": "(", "］": ")", "[": "(", "]": ")"})


class ValueProblem(Exception):
    """A cell value that cannot be converted: ``code`` (stable, for histograms and machines) and
    ``message`` (in the active language)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- transforms ---------------------------------------------------------------

_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_FT_IN_RE = re.compile(r"""^(\d+(?:\.\d+)?)(?:\s*(?:'|FT\.?|FEET|FOOT)\s*(?:(\d+(?:\.\d+)?)\s*(?:"|''|IN\.?|INCH|INCHES)?)?)?$""", re.I)
_IN_ONLY_RE = re.compile(r"""^(\d+(?:\.\d+)?)\s*(?:"|''|IN\.?|INCH|INCHES)$""", re.I)
_ZIP_RE = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")


def _q(value) -> str:
    return f"“{value}”"


def t_int(value: str, spec: "FieldSpec"):
    if not _INT_RE.match(value):
        raise ValueProblem("not_integer", _("%(value)s is not a whole number") % {"value": _q(value)})
    return int(value)


def t_number(value: str, spec: "FieldSpec"):
    if not _NUM_RE.match(value):
        raise ValueProblem("not_number", _("%(value)s is not a number") % {"value": _q(value)})
    return Decimal(value)


def t_length_ft_in(value: str, spec: "FieldSpec"):
    """Feet with optional inches → feet (Decimal).

    ``60``, ``60'``, ``103'1``, ``44'4"``, ``116.6`` (decimal feet), ``22 feet 3 inches``,
    ``22 ft 3 in``, ``1 foot``, and inches alone (``40 inches``, ``40 in``). Inches must be under
    12 when feet are given. Anything else (``103-1``, ``22"`` without a unit word …) is not guessed.
    """
    m = _FT_IN_RE.match(value)
    if not m:
        mi = _IN_ONLY_RE.match(value)
        if mi and not value.rstrip().endswith(('"', "''")):
            return Decimal(mi.group(1)) / 12
        raise ValueProblem("not_length", _("%(value)s is not a length in feet and inches") % {"value": _q(value)})
    feet = Decimal(m.group(1))
    if m.group(2):
        inches = Decimal(m.group(2))
        if inches >= 12:
            raise ValueProblem("not_length", _("%(value)s: inches must be under 12") % {"value": _q(value)})
        feet += inches / 12
    return feet


# --- quantities with units (transform "quantity") ---------------------------------------------------
# unit word (lower case, no spaces) → (dimension, factor to the dimension's base unit: m, kg, m/s)
_FT = Decimal("0.3048")
_IN = Decimal("0.0254")
_LB = Decimal("0.45359237")
UNITS: dict[str, tuple[str, Decimal]] = {
    **{u: ("length", Decimal(1)) for u in ("m", "meter", "meters", "metre", "metres", "米")},
    **{u: ("length", Decimal("0.01")) for u in ("cm", "厘米")},
    **{u: ("length", Decimal("0.001")) for u in ("mm", "毫米")},
    **{u: ("length", _FT) for u in ("ft", "ft.", "foot", "feet", "'")},
    **{u: ("length", _IN) for u in ("in", "in.", "inch", "inches", '"')},
    **{u: ("mass", Decimal(1)) for u in ("kg", "kgs", "kilogram", "kilograms", "公斤", "千克")},
    **{u: ("mass", Decimal(1000)) for u in ("t", "tonne", "tonnes", "吨")},
    **{u: ("mass", _LB) for u in ("lb", "lbs", "lb.", "lbs.", "pound", "pounds", "#")},
    **{u: ("speed", Decimal(1)) for u in ("m/s", "mps", "m/sec", "米/秒")},
    **{u: ("speed", Decimal(1) / 60) for u in ("m/min", "mpm", "米/分")},
    **{u: ("speed", _FT / 60) for u in ("fpm", "ft/min", "feet/min", "feetperminute", "ftperminute", "feet/minute")},
}
_DIMENSION_OF_UNIT = {"m": "length", "kg": "mass", "m/s": "speed"}
_QTY_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\d\s]+(?:\s+[^\d\s]+)*")  # numbers, and unit words ("feet per minute")


def _dimension_name(dimension: str) -> str:
    return {"length": _("length"), "mass": _("mass"), "speed": _("speed")}[dimension]


def _parse_quantity(value: str, default_unit: str | None, dimension: str) -> Decimal:
    """``"22 feet 3 inches"`` → Decimal in the dimension's base unit (m, kg, m/s), or raise ValueProblem.

    The value is read as number-unit pairs (white space around units ignored). Two pairs are accepted only
    as feet followed by inches (``22 ft 3 in``, ``22'3"``, ``22'3``, inches under 12); a lone
    number takes ``default_unit``. Refused as ambiguous: a comma (``2,25`` / ``3,500``: decimal
    or thousands separator?), a bare number when no default unit is declared, an unknown word
    (``95UP``), a unit of another quantity (``350FPM`` as a length), any other combination.
    """
    text = value.strip().lower()
    if "," in text or "，" in text:
        raise ValueProblem("ambiguous_number", _("%(value)s: a comma may be a decimal or a thousands separator; write the number without it") % {"value": _q(value)})
    tokens = ["".join(t.split()) for t in _QTY_TOKEN.findall(text)]
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        num = tokens[i]
        if not num[0].isdigit():
            raise ValueProblem("not_quantity", _("%(value)s is not a number with a unit") % {"value": _q(value)})
        unit = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1][0].isdigit() else ""
        pairs.append((num, unit))
        i += 2 if unit else 1
    if not pairs:
        raise ValueProblem("not_quantity", _("%(value)s is not a number with a unit") % {"value": _q(value)})
    if len(pairs) == 2 and dimension == "length" and UNITS.get(pairs[0][1]) == ("length", _FT) and pairs[1][1] in ("", *[u for u, d in UNITS.items() if d == ("length", _IN)]):
        inches = Decimal(pairs[1][0])
        if inches >= 12:
            raise ValueProblem("not_length", _("%(value)s: inches must be under 12") % {"value": _q(value)})
        return Decimal(pairs[0][0]) * _FT + inches * _IN
    if len(pairs) > 1:
        raise ValueProblem("ambiguous_unit", _("%(value)s holds several numbers; only feet followed by inches can be combined") % {"value": _q(value)})
    num, unit = pairs[0]
    if not unit:
        if default_unit is None:
            raise ValueProblem("missing_unit", _("%(value)s has no unit") % {"value": _q(value)})
        unit = default_unit
    if unit not in UNITS:
        raise ValueProblem("unknown_unit", _("%(value)s: unknown unit %(unit)s") % {"value": _q(value), "unit": _q(unit)})
    dim, factor = UNITS[unit]
    if dim != dimension:
        raise ValueProblem("wrong_unit", _("%(value)s: %(unit)s is not a unit of %(dimension)s") % {
            "value": _q(value), "unit": _q(unit), "dimension": _dimension_name(dimension)})
    return Decimal(num) * factor


def t_quantity(value: str, spec: "FieldSpec"):
    """A number with a unit, converted to the field's ``unit`` (m, kg or m/s).

    ``"22 feet 3 inches"``, ``"22'3\\""``, ``"6.8 m"`` → m; ``"3500LBS"``, ``"1000 kg"`` → kg;
    ``"350FPM"``, ``"1.75m/s"`` → m/s. A bare number is in ``default_unit`` (the mapping's;
    none = refused). Ambiguous values are refused with a reason (see :func:`_parse_quantity`).
    """
    dimension = _DIMENSION_OF_UNIT[spec.unit]
    base = _parse_quantity(value, spec.default_unit, dimension)
    return base / UNITS[spec.unit][1]


def t_us_zip(value: str, spec: "FieldSpec"):
    """US ZIP: ``10012`` → ``10012``; ZIP+4 ``100120000`` → ``10012`` (+0000 = none); ``100121234`` → ``10012-1234``."""
    m = _ZIP_RE.match(value)
    if not m:
        raise ValueProblem("not_zip", _("%(value)s is not a 5- or 9-digit ZIP code") % {"value": _q(value)})
    zip5, plus4 = m.groups()
    return zip5 if not plus4 or plus4 == "0000" else f"{zip5}-{plus4}"


def t_date(value: str, spec: "FieldSpec"):
    for fmt in spec.formats:
        try:
            d = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        # strptime accepts 1-digit months/days; a digits-only value must be exactly the formatted length
        if value.isdigit() and len(value) != len(d.strftime(fmt)):
            continue
        return d
    examples = " / ".join(dt.date(2015, 6, 1).strftime(f) for f in spec.formats)
    raise ValueProblem("not_date", _("%(value)s is not a date (written like %(examples)s)") % {"value": _q(value), "examples": examples})


_TRANSFORM_FUNCS = {
    "text": lambda v, s: v,
    "upper": lambda v, s: v.upper(),
    "int": t_int,
    "number": t_number,
    "length_ft_in": t_length_ft_in,
    "quantity": t_quantity,
    "us_zip": t_us_zip,
    "date": t_date,
}


# --- specs ----------------------------------------------------------------------

_FMT = string.Formatter()


def _template_columns(template: str) -> list[str]:
    return [name for _lit, name, _spec, _conv in _FMT.parse(template) if name]


@dataclass
class FieldSpec:
    """How one target value is computed from a row (see module doc)."""

    name: str
    column: str | None = None
    template: str | None = None
    value: Any = None
    has_value: bool = False
    transform: str = "text"
    formats: list[str] = dc_field(default_factory=lambda: ["%Y-%m-%d"])
    scale: Decimal | None = None
    null: frozenset = frozenset()
    map: dict | None = None
    map_patterns: list = dc_field(default_factory=list)
    map_unknown: str = "error"
    on_error: str = "reject"
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    unit: str | None = None
    default_unit: str | None = None
    identity: bool = False
    width: int | None = None

    @property
    def columns(self) -> list[str]:
        if self.column:
            return [self.column]
        if self.template:
            return _template_columns(self.template)
        return []

    @property
    def column_label(self) -> str:
        return "+".join(self.columns) or "(constant)"

    def __post_init__(self):
        self._memo: dict = {}

    def convert(self, row: dict[str, str]):
        """Return the converted value (None when null) or raise :class:`ValueProblem`."""
        if self.has_value:
            return self.value
        if self.column is not None:
            raw = row[self.column]
        else:
            cols = self.columns
            if all(not row[c] for c in cols):
                raw = ""
            else:
                raw = " ".join(self.template.format_map(row).split())
        if not raw or raw in self.null:
            if self.required:
                raise ValueProblem("required", _("a value is required"))
            return None
        memo = self._memo
        hit = memo.get(raw)
        if hit is not None:
            if hit[0]:
                return hit[1]
            raise hit[1]
        try:
            out = self._convert(raw)
            res = (True, out)
        except ValueProblem as exc:
            res = (False, exc)
        if len(memo) < 200_000:
            memo[raw] = res
        if res[0]:
            return res[1]
        raise res[1]

    def _convert(self, raw: str):
        value: Any = raw
        if self.map is not None:
            if raw in self.map:
                value = self.map[raw]
            else:
                for pattern, mapped in self.map_patterns:
                    if fnmatch.fnmatchcase(raw, pattern):
                        value = mapped
                        break
                else:
                    if self.map_unknown != "keep":
                        raise ValueProblem("unknown_value", _("%(value)s is not one of the known values") % {"value": _q(raw)})
            if not isinstance(value, str):
                return value
        value = _TRANSFORM_FUNCS[self.transform](value, self)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ValueProblem("out_of_range", _("%(value)s is outside the plausible range %(min)s to %(max)s") % {
                "value": _q(raw), "min": "…" if self.min is None else self.min, "max": "…" if self.max is None else self.max})
        if self.scale is not None:
            value = value * self.scale
        return value


@dataclass
class RefSpec:
    """An organisation referenced by a row (manufacturer, use unit, maintenance unit)."""

    name: str
    kind: str
    column: str
    field: str | None = None
    contract: bool = False
    key_column: str | None = None
    key_field: str | None = None
    raw_field: str | None = None
    strip_suffixes: list[str] = dc_field(default_factory=list)
    aliases: dict[str, str] = dc_field(default_factory=dict)
    not_names: frozenset = frozenset()
    not_pattern: re.Pattern | None = None
    upper: bool = True

    def __post_init__(self):
        self._memo: dict[str, str | None] = {}

    def normalise(self, raw: str) -> str | None:
        """Normalised organisation name, or None when the value names no organisation (e.g. "**", "729")."""
        hit = self._memo.get(raw, False)
        if hit is not False:
            return hit
        name = raw.upper() if self.upper else raw
        name = " ".join(name.replace(".", " ").replace(",", " ").split())
        name = self.aliases.get(name, name)
        changed = True
        while changed:
            changed = False
            for suffix in self.strip_suffixes:
                if name.endswith(" " + suffix) and len(name) > len(suffix) + 1:
                    name = name[: -len(suffix) - 1].rstrip()
                    changed = True
        name = self.aliases.get(name, name)
        if not name or name in self.not_names or (self.not_pattern and self.not_pattern.search(name)):
            name = None
        self._memo[raw] = name
        return name


@dataclass
class Mapping:
    """A parsed mapping file."""

    name: str
    path: Path
    source: str
    key: str
    encoding: str = "utf-8"
    required_columns: list[str] = dc_field(default_factory=list)
    null_tokens: frozenset = frozenset({""})
    null_patterns: list[re.Pattern] = dc_field(default_factory=list)
    duplicates: str = "reject"
    crowded_from_place_type: bool = False
    header_search_rows: int = 30
    column_aliases: dict[str, list[str]] = dc_field(default_factory=dict)
    ignore_columns: list[str] = dc_field(default_factory=list)
    areas: list[dict] = dc_field(default_factory=list)
    area: dict = dc_field(default_factory=dict)
    fields: dict[str, FieldSpec] = dc_field(default_factory=dict)
    refs: dict[str, RefSpec] = dc_field(default_factory=dict)
    building: dict | None = None
    extra_columns: list[str] = dc_field(default_factory=list)
    events: list[dict] = dc_field(default_factory=list)
    columns: list[dict] = dc_field(default_factory=list)  # template columns (name, note) for the blank template
    raw: dict = dc_field(default_factory=dict)

    @property
    def used_columns(self) -> list[str]:
        cols: list[str] = [self.key]
        for spec in self.fields.values():
            cols += spec.columns
        for ref in self.refs.values():
            cols += [c for c in (ref.column, ref.key_column) if c]
        if self.area.get("column"):
            cols.append(self.area["column"])
        for k in ("province_name", "city_name", "district_name"):
            if self.area.get(k):
                cols.append(self.area[k])
        if self.building:
            cols.append(self.building["key"])
            for k in ("name", "address"):
                if self.building.get(k):
                    cols += _template_columns(self.building[k])
        cols += self.extra_columns
        return list(dict.fromkeys(cols))


def _field_spec(name: str, d: dict, where: str) -> FieldSpec:
    known = {"column", "template", "value", "transform", "formats", "scale", "null", "map", "map_unknown", "on_error", "required", "note",
             "min", "max", "unit", "default_unit", "identity", "width"}
    unknown = set(d) - known
    if unknown:
        raise MappingError(f"{where}: unknown option(s) {sorted(unknown)}")
    if sum(k in d for k in ("column", "template", "value")) != 1:
        raise MappingError(f"{where}: give exactly one of column, template or value")
    transform = d.get("transform", "text")
    if transform not in TRANSFORMS:
        raise MappingError(f"{where}: unknown transform {transform!r}; known: {sorted(TRANSFORMS)}")
    on_error = d.get("on_error", "reject")
    if on_error not in ("reject", "drop"):
        raise MappingError(f"{where}: on_error must be 'reject' or 'drop'")
    mp = d.get("map")
    exact, patterns = None, []
    if mp is not None:
        exact = {k: v for k, v in mp.items() if not any(ch in k for ch in "*?[")}
        patterns = [(k, v) for k, v in mp.items() if any(ch in k for ch in "*?[")]
    scale = d.get("scale")
    unit, default_unit = d.get("unit"), d.get("default_unit")
    if transform == "quantity":
        if unit not in _DIMENSION_OF_UNIT:
            raise MappingError(f"{where}: transform 'quantity' needs unit = one of {sorted(_DIMENSION_OF_UNIT)}")
        if default_unit is not None:
            default_unit = "".join(str(default_unit).split()).lower()
            if UNITS.get(default_unit, ("?",))[0] != _DIMENSION_OF_UNIT[unit]:
                raise MappingError(f"{where}: default_unit {d.get('default_unit')!r} is not a unit of {_DIMENSION_OF_UNIT[unit]}; "
                                   f"known: {sorted(u for u, (dim, _f) in UNITS.items() if dim == _DIMENSION_OF_UNIT[unit])}")
    elif unit is not None or default_unit is not None:
        raise MappingError(f"{where}: unit/default_unit need transform = 'quantity'")
    width = d.get("width")
    if width is not None and (not isinstance(width, int) or not 1 <= width <= 32):
        raise MappingError(f"{where}: width must be a whole number of digits (1-32)")
    return FieldSpec(
        name=name, column=d.get("column"), template=d.get("template"), value=d.get("value"), has_value="value" in d,
        transform=transform, formats=list(d.get("formats", ["%Y-%m-%d"])),
        scale=Decimal(str(scale)) if scale is not None else None, null=frozenset(d.get("null", [])),
        map=exact, map_patterns=patterns, map_unknown=d.get("map_unknown", "error"), on_error=on_error,
        required=bool(d.get("required", False)),
        min=Decimal(str(d["min"])) if "min" in d else None, max=Decimal(str(d["max"])) if "max" in d else None,
        unit=unit, default_unit=default_unit, identity=bool(d.get("identity", name in IDENTITY_FIELDS)), width=width,
    )


def parse_mapping(name: str, data: dict, path: Path) -> Mapping:
    """Validate and parse a mapping dict (from TOML). Raises MappingError naming the bad key."""
    from liftsafe.registry.models import Elevator, Organisation

    try:
        src = data["source"]
        m = Mapping(name=name, path=path, source=src["name"], key=src["key"], raw=data)
    except KeyError as exc:
        raise MappingError(f"{path.name}: [source] needs {exc.args[0]!r}") from exc
    m.encoding = src.get("encoding", "auto")
    if m.encoding != "auto":
        import codecs

        try:
            codecs.lookup(m.encoding)
        except LookupError:
            raise MappingError(f"{path.name}: [source] encoding {m.encoding!r} is not a known encoding (or use \"auto\")") from None
    m.null_tokens = frozenset(src.get("null_tokens", [])) | {""}
    m.null_patterns = [re.compile(p) for p in src.get("null_patterns", [])]
    m.duplicates = src.get("duplicates", "reject")
    if m.duplicates not in ("reject", "last"):
        raise MappingError(f"{path.name}: [source] duplicates must be 'reject' or 'last'")
    m.crowded_from_place_type = bool(src.get("crowded_from_place_type", False))
    m.header_search_rows = int(src.get("header_search_rows", 30))
    aliases = src.get("column_aliases", {})
    if not isinstance(aliases, dict) or not all(isinstance(v, list) for v in aliases.values()):
        raise MappingError(f"{path.name}: [source] column_aliases must map a column to a list of header texts")
    m.column_aliases = {k: list(v) for k, v in aliases.items()}
    m.ignore_columns = list(src.get("ignore_columns", []))
    m.areas = list(data.get("areas", []))
    m.area = dict(data.get("area", {}))
    if not m.area:
        raise MappingError(f"{path.name}: [area] is required")
    elevator_fields = {f.name for f in Elevator._meta.concrete_fields}
    for fname, d in data.get("fields", {}).items():
        if fname not in elevator_fields:
            raise MappingError(f"{path.name}: [fields.{fname}] is not an Elevator field")
        m.fields[fname] = _field_spec(fname, d, f"[fields.{fname}]")
    if "source_id" not in m.fields:
        m.fields["source_id"] = FieldSpec(name="source_id", column=m.key, required=True, identity=True)
    for rname, d in data.get("refs", {}).items():
        kind = d.get("kind")
        if kind not in Organisation.Kind.values:
            raise MappingError(f"[refs.{rname}] kind {kind!r} is not an organisation kind")
        fk = d.get("field")
        if fk and fk not in elevator_fields:
            raise MappingError(f"[refs.{rname}] field {fk!r} is not an Elevator field")
        m.refs[rname] = RefSpec(
            name=rname, kind=kind, column=d["column"], field=fk, contract=bool(d.get("contract", False)),
            key_column=d.get("key_column"), key_field=d.get("key_field"), raw_field=d.get("raw_field"),
            strip_suffixes=sorted(d.get("strip_suffixes", []), key=len, reverse=True),
            aliases=dict(d.get("aliases", {})), not_names=frozenset(d.get("not_names", [])),
            not_pattern=re.compile(d["not_pattern"]) if d.get("not_pattern") else None, upper=bool(d.get("upper", True)),
        )
    m.building = data.get("building")
    if m.building is not None:
        unknown = set(m.building) - {"key", "name", "address", "null"}
        if unknown or "key" not in m.building:
            raise MappingError(f"{path.name}: [building] needs 'key' and knows only key/name/address/null, got {sorted(unknown)}")
    known_top = {"source", "areas", "area", "fields", "refs", "building", "extra_columns", "events", "columns"}
    if set(data) - known_top:
        raise MappingError(f"{path.name}: unknown top-level key(s) {sorted(set(data) - known_top)}")
    m.extra_columns = list(data.get("extra_columns", []))
    m.events = list(data.get("events", []))
    from liftsafe.registry.models import LifecycleEvent

    for ev in m.events:
        if ev.get("kind") not in LifecycleEvent.Kind.values:
            raise MappingError(f"[[events]] kind {ev.get('kind')!r} is not a lifecycle event")
        if ev.get("date_field") not in m.fields:
            raise MappingError(f"[[events]] date_field {ev.get('date_field')!r} is not a mapped field")
    m.columns = list(data.get("columns", []))
    m.required_columns = list(src.get("required_columns", [])) or m.used_columns
    return m


@lru_cache(maxsize=32)
def _load(name: str, path: Path, mtime: float) -> Mapping:
    with open(path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"{path.name}: {exc}") from exc
    return parse_mapping(name, data, path)


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.endswith(".toml")


def load_mapping(name: str) -> Mapping:
    """Load a built-in mapping ``liftsafe/registry/mappings/<name>.toml``, or a mapping file by path.

    ``name`` is a built-in name (``nyc-dob``) or the path of a TOML file (``./my-source.toml``,
    anything containing a ``/`` or ending in ``.toml``); a file's mapping is named by its stem.
    A new jurisdiction therefore needs no change to the installed package.

    Raises:
        MappingError: unknown name (the message lists the built-ins and says a path works),
            a missing file, or an invalid file (names the key).
    """
    name = (name or "").strip()
    if _is_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise MappingError(_("mapping file %(path)s does not exist (built-in mappings: %(names)s)")
                               % {"path": name, "names": ", ".join(available_mappings())})
        path = path.resolve()
        stem = path.name.removesuffix(".toml")[:64]
        m = _load(stem, path, path.stat().st_mtime)
    else:
        path = MAPPINGS_DIR / f"{name}.toml"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or not path.exists():
            raise MappingError(_("unknown mapping %(name)s; built-in mappings: %(names)s; or give the path of a mapping file, "
                                 "e.g. --mapping ./my-source.toml") % {"name": repr(name), "names": ", ".join(available_mappings())})
        m = _load(name, path, path.stat().st_mtime)
    for spec in m.fields.values():  # fresh memo per load (validation depends on today's date and the language)
        spec._memo = {}
    return m


def available_mappings() -> list[str]:
    """Names of the built-in mappings (a mapping file can also be given by its path)."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))
