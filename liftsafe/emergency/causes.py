"""Trapping-cause (困人原因) code list: a two-level tree, cause class → cause item (docs/domain §4.3).

CPASE M001-2015 Annex D and DB52/T 1628.3 Annex B define the official lists
but their contents were not retrieved (docs/domain §4.3 [U]); this tree follows the
classes used consistently in published 96333 reports (人为 / 外部 / 门系统 /
控制系统 …) and the GB 7588 system grouping, each with an "other" item.
Codes are stable ASCII keys; labels are translatable (English msgids, zh-Hans
translations in the reports' own words in the emergency catalogue).
"""
from __future__ import annotations

from django.utils.translation import pgettext_lazy

# class code -> (label, {item code -> label}); labels are translatable (English msgid, zh-Hans in the
# emergency catalogue, the words of the published 96333 reports), context "trapping cause".
def _c(text: str):
    return pgettext_lazy("trapping cause", text)


CAUSES: dict[str, tuple] = {
    "human": (_c("Human causes"), {
        "rubbish_blocking_doors": _c("Rubbish blocking the doors"),
        "holding_doors": _c("Holding the doors open for long"),
        "rough_use": _c("Rough use deforming the doors"),
        "overload": _c("Overload"),
        "misuse": _c("Passenger misuse or forcing the doors"),
        "other": _c("Other human cause"),
    }),
    "external": (_c("External causes"), {
        "power_cut": _c("Power cut"),
        "water_ingress": _c("Water ingress (short circuit)"),
        "machine_room_overheat": _c("Machine-room over-temperature"),
        "construction": _c("Construction or outside-line outage"),
        "low_temperature": _c("Low temperature"),
        "auto_recovered": _c("Recovered by itself after the fault"),
        "other": _c("Other external cause"),
    }),
    "door_system": (_c("Door system"), {
        "landing_door_lock": _c("Landing-door lock failure"),
        "door_operator": _c("Door operator fault"),
        "car_door_lock": _c("Car-door lock failure"),
        "door_rail_slider": _c("Door rail or slider"),
        "other": _c("Other door-system cause"),
    }),
    "control_system": (_c("Control system"), {
        "controller": _c("Main controller"),
        "inverter": _c("Inverter"),
        "encoder": _c("Encoder"),
        "levelling_sensor": _c("Levelling sensor"),
        "other": _c("Other control-system cause"),
    }),
    "traction_system": (_c("Traction system"), {"other": _c("Traction system")}),
    "safety_devices": (_c("Safety devices"), {"other": _c("Safety devices")}),
    "other": (_c("Other"), {"other": _c("Other")}),
}

CAUSE_CLASS_CHOICES = [(k, v[0]) for k, v in CAUSES.items()]
CAUSE_ITEM_CHOICES = sorted({(item, item) for _, items in CAUSES.values() for item in items})


def is_valid(cause_class: str, cause_item: str) -> bool:
    """True when ``cause_item`` is an item of ``cause_class`` in :data:`CAUSES`."""
    return cause_class in CAUSES and cause_item in CAUSES[cause_class][1]
