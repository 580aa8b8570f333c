"""Validation of identity codes and registry values (docs/domain §1).

Each validator raises :class:`django.core.exceptions.ValidationError` with a
message that names the problem; the model, the importer and the API all call
these, so a rule is written once.
"""
from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from liftsafe.rules import rule

from .codes import CATEGORY_CODES, REGISTRATION_PREFIXES, USE_CERTIFICATE_VARIETIES

_REG_RE = re.compile(r"^(\d{4})(\d{6})(\d{4})(\d{2})(\d{4})$")
_CERT_RE = re.compile(r"^梯(\d{2})[\u4e00-\u9fff][A-Z]\d{5}[(（]\d{2}[)）]$")


def validate_registration_code(value: str) -> None:
    """注册代码: 20 digits = category (4) + GB/T 2260 area (6) + YYYYMM (6) + serial (4).

    Source: docs/domain §1.3 (e.g. ``31106401052014080025``). The category prefix may be a
    current (2014 catalogue) or a legacy code (docs/domain §1.1).

    Raises:
        ValidationError: wrong length or characters, unknown category prefix,
            impossible registration month.
    """
    m = _REG_RE.match(value or "")
    if not m:
        raise ValidationError(
            _("registration code must be 20 digits (category 4 + area 6 + year-month 6 + serial 4), got %(v)r"),
            code="layout", params={"v": value},
        )
    cat, _area, year, month, _serial = m.groups()
    if cat not in REGISTRATION_PREFIXES:
        raise ValidationError(_("registration code category prefix %(c)s is neither a current nor a legacy category"), code="category", params={"c": cat})
    if not (1 <= int(month) <= 12) or not (1950 <= int(year) <= timezone.now().year):
        raise ValidationError(_("registration code year-month %(y)s%(m)s is not a valid past month"), code="month", params={"y": year, "m": month})


def validate_equipment_code(value: str) -> None:
    """设备代码: 18 characters (TSG 08-2017), 19 when assigned by the authority; up to 20 accepted.

    Source: docs/domain §1.2; the pattern is rule ``equipment_code_pattern``.

    Raises:
        ValidationError: if the value does not match the pattern.
    """
    if not re.match(rule("equipment_code_pattern"), value or ""):
        raise ValidationError(_("equipment code must be 18-20 letters, digits or '-', got %(v)r"), code="layout", params={"v": value})


def validate_use_certificate_no(value: str) -> None:
    """使用登记证编号: 梯 + variety (2) + province char + city letter + 5 digits + (YY), or a legacy 20-digit 注册代码.

    Source: docs/domain §1.4 (Ningxia pattern ``梯11宁A\\d{5}(\\d{2})``).

    Raises:
        ValidationError: if neither layout matches or the variety code is unknown.
    """
    value = value or ""
    if _REG_RE.match(value):
        return
    m = _CERT_RE.match(value)
    if not m:
        raise ValidationError(_("use certificate number must look like 梯11宁A00001(14) or be a 20-digit registration code, got %(v)r"), code="layout", params={"v": value})
    if m.group(1) not in USE_CERTIFICATE_VARIETIES:
        raise ValidationError(_("use certificate variety code %(c)s is unknown"), code="variety", params={"c": m.group(1)})


def validate_rescue_code(value: str) -> None:
    """救援识别码: a short numeric code, length local (5-6 digits by default).

    Source: docs/domain §1.5; the pattern is rule ``rescue_code_pattern``.

    Raises:
        ValidationError: if it does not match.
    """
    pattern = rule("rescue_code_pattern")
    if not re.match(pattern, value or ""):
        raise ValidationError(_("rescue code must be %(what)s, got %(v)r"), code="layout", params={"what": _pattern_in_words(pattern), "v": value})


def _pattern_in_words(pattern: str) -> str:
    """A digits-only rule pattern in words for people (``^\\d{5,6}$`` → "5-6 digits"), never the regex itself."""
    m = re.fullmatch(r"\^?\\d\{(\d+)(?:,(\d+))?\}\$?", pattern)
    if m and m.group(2):
        return _("%(min)s-%(max)s digits") % {"min": m.group(1), "max": m.group(2)}
    if m:
        return _("%(n)s digits") % {"n": m.group(1)}
    return _("in the format set for this jurisdiction (rule rescue_code_pattern)")


def validate_category(value: str) -> None:
    """Category must be a code of the 2014 catalogue (docs/domain §1.1)."""
    if value not in CATEGORY_CODES:
        raise ValidationError(_("unknown category %(v)r; expected one of the 2014 catalogue codes 3100-3430"), code="category", params={"v": value})


def validate_not_future(value: dt.date) -> None:
    """A date of something that has happened (installation, inspection) cannot be in the future."""
    if value and value > timezone.localdate():
        raise ValidationError(_("date %(v)s is in the future"), code="future", params={"v": value.isoformat()})


def validate_positive(value) -> None:
    """Loads, speeds and heights are strictly positive."""
    if value is not None and value <= 0:
        raise ValidationError(_("must be greater than zero, got %(v)s"), code="positive", params={"v": value})
