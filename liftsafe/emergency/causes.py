"""Trapping-cause (困人原因) code list: a two-level tree, cause class → cause item (FACTS §4.3).

CPASE M001-2015 Annex D and DB52/T 1628.3 Annex B define the official lists
but their contents were not retrieved (FACTS §4.3 [U]); this tree follows the
classes used consistently in published 96333 reports (人为 / 外部 / 门系统 /
控制系统 …) and the GB 7588 system grouping, each with an "other" item.
Codes are stable ASCII keys; labels are zh-Hans (the reports' own words) with
an English gloss.
"""
from __future__ import annotations

# class code -> (label, {item code -> label})
CAUSES: dict[str, tuple[str, dict[str, str]]] = {
    "human": ("人为原因 (human)", {
        "rubbish_blocking_doors": "生活/装修垃圾卡阻门 (rubbish blocking doors)",
        "holding_doors": "长时间扒/挡门 (holding doors)",
        "rough_use": "野蛮使用致门变形 (rough use deforming doors)",
        "overload": "超载 (overload)",
        "misuse": "乘客误操作/强行扒门 (passenger misuse)",
        "other": "其他人为原因 (other)",
    }),
    "external": ("外部原因 (external)", {
        "power_cut": "停电 (power cut)",
        "water_ingress": "进水短路 (water ingress)",
        "machine_room_overheat": "机房超温保护 (machine-room over-temperature)",
        "construction": "施工/外线停电 (construction or outside-line outage)",
        "low_temperature": "低温 (low temperature)",
        "auto_recovered": "故障后自动恢复运行 (recovered by itself)",
        "other": "其他外部原因 (other)",
    }),
    "door_system": ("门系统原因 (door system)", {
        "landing_door_lock": "厅门锁失效 (landing-door lock)",
        "door_operator": "门机故障 (door operator)",
        "car_door_lock": "轿门锁失效 (car-door lock)",
        "door_rail_slider": "门导轨/滑块 (door rail or slider)",
        "other": "其他门系统原因 (other)",
    }),
    "control_system": ("控制系统原因 (control system)", {
        "controller": "主控制器 (controller)",
        "inverter": "变频器 (inverter)",
        "encoder": "编码器 (encoder)",
        "levelling_sensor": "平层感应器 (levelling sensor)",
        "other": "其他控制系统原因 (other)",
    }),
    "traction_system": ("曳引系统 (traction system)", {"other": "曳引系统 (traction system)"}),
    "safety_devices": ("安全保护装置 (safety devices)", {"other": "安全保护装置 (safety devices)"}),
    "other": ("其他 (other)", {"other": "其他 (other)"}),
}

CAUSE_CLASS_CHOICES = [(k, v[0]) for k, v in CAUSES.items()]
CAUSE_ITEM_CHOICES = sorted({(item, item) for _, items in CAUSES.values() for item in items})


def is_valid(cause_class: str, cause_item: str) -> bool:
    """True when ``cause_item`` is an item of ``cause_class`` in :data:`CAUSES`."""
    return cause_class in CAUSES and cause_item in CAUSES[cause_class][1]
