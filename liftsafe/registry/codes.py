"""Code lists of the elevator registry, with their sources (docs/domain §1, §2).

Kept as plain tuples so that models, importer mappings, the API schema and
the templates all read the same list.
"""
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# docs/domain §1.1, 2014 special-equipment catalogue (特种设备目录), kind 3000 电梯.
_CATEGORY_NAMES = [
    ("3100", _("Traction and positive-drive lifts"), "曳引与强制驱动电梯"),
    ("3110", _("Traction passenger lift"), "曳引驱动乘客电梯"),
    ("3120", _("Traction goods lift"), "曳引驱动载货电梯"),
    ("3130", _("Positive-drive goods lift"), "强制驱动载货电梯"),
    ("3200", _("Hydraulic lifts"), "液压驱动电梯"),
    ("3210", _("Hydraulic passenger lift"), "液压乘客电梯"),
    ("3220", _("Hydraulic goods lift"), "液压载货电梯"),
    ("3300", _("Escalators and moving walks"), "自动扶梯与自动人行道"),
    ("3310", _("Escalator"), "自动扶梯"),
    ("3320", _("Moving walk"), "自动人行道"),
    ("3400", _("Other lifts"), "其他类型电梯"),
    ("3410", _("Explosion-proof lift"), "防爆电梯"),
    ("3420", _("Firefighter lift"), "消防员电梯"),
    ("3430", _("Dumbwaiter"), "杂物电梯"),
]
# labels "3110 曳引驱动乘客电梯" in Chinese, "3110 Traction passenger lift" in English (translated lazily)
CATEGORY_CHOICES = [(code, format_lazy("{} {}", code, name)) for code, name, _zh in _CATEGORY_NAMES]
# the catalogue's own Chinese names (docs/domain §1.1), whatever the UI language: for matching source files
CATEGORY_NAMES_ZH = {code: zh for code, _name, zh in _CATEGORY_NAMES}
CATEGORY_CODES = {c for c, _label in CATEGORY_CHOICES}

# docs/domain §1.1, legacy (pre-2014) category prefixes still inside old 注册代码.
LEGACY_CATEGORY_CODES = {
    "3110": "曳引式客梯", "3120": "强制式客梯", "3130": "无机房客梯", "3140": "消防客梯",
    "3150": "观光客梯", "3160": "防爆客梯", "3170": "病床客梯", "3210": "曳引式货梯",
    "3220": "强制式货梯", "3230": "无机房货梯", "3240": "汽车电梯", "3250": "防爆货梯",
    "3310": "液压客梯", "3320": "防爆液压客梯", "3330": "液压货梯", "3340": "防爆液压货梯",
    "3400": "杂物电梯", "3500": "自动扶梯", "3600": "自动人行道",
}
# A 注册代码 prefix is valid if it is a current or a legacy code.
REGISTRATION_PREFIXES = CATEGORY_CODES | set(LEGACY_CATEGORY_CODES)

ESCALATOR_CATEGORIES = {"3300", "3310", "3320"}

# docs/domain §1.4: two-digit variety codes in 使用登记证编号.
USE_CERTIFICATE_VARIETIES = {"11", "12", "13", "21", "22", "31", "32", "41", "42", "43"}

# docs/domain §2: 使用场所 (Fujian platform enumeration); 1-10 are 公众聚集场所.
PLACE_TYPE_CHOICES = [
    (1, _("School")), (2, _("Kindergarten")), (3, _("Hospital")), (4, _("Station")),
    (5, _("Passenger pier")), (6, _("Shopping mall")), (7, _("Stadium")), (8, _("Exhibition hall")),
    (9, _("Park")), (10, _("Other crowded place")), (11, _("Residential")), (12, _("Office")),
    (13, _("Factory")), (14, _("Crowded place")), (15, _("Other")),
]
CROWDED_PLACE_TYPES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14}

# Passenger lifts (TSG 08 catalogue: 3110 曳引驱动乘客电梯, 3210 液压乘客电梯): the only categories the demo
# IoT simulator binds devices to, and the ones the call-taker lookup ranks first.
PASSENGER_LIFT_CATEGORIES = ("3110", "3210")
# categories without a car a person rides in: dumbwaiters (3430 杂物电梯) and escalators / moving walks (33xx,
# which report their own codes 61-65). Passenger entrapment can never be raised for them.
NO_PASSENGER_CAR_CATEGORIES = ("3430",)
NO_PASSENGER_CAR_PREFIXES = ("33",)


def can_trap_passengers(category: str | None) -> bool:
    """Whether an elevator of this TSG category code (e.g. ``"3110"``) has a car a passenger can be trapped in.

    False for dumbwaiters (3430) and escalators / moving walks (33xx); True otherwise (also when unknown,
    so a real entrapment is never dropped for a missing category). The one rule used by detection.
    """
    c = (category or "").strip()
    return not (c in NO_PASSENGER_CAR_CATEGORIES or c.startswith(NO_PASSENGER_CAR_PREFIXES))
