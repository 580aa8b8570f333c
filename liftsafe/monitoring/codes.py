"""Wire codes of the monitoring messages and the alarm types they map to.

Fault / event / alarm codes: FACTS §4.1 (GB/T 24476-2017 §11 as implemented by
three independent platforms [S]); escalator codes 61-65 (FACTS §4.1 [S]);
Chongqing add-on alarms 91-93 and Beijing 09-11 (FACTS §4.1 [S]); the common
IoT "intelligent" add-on alarms (FACTS §4.1 [S]) carry named codes.
Status codes: FACTS §3.5 / §4.1 (service mode 0-7, door 1 closed / 2 no signal,
passenger 1 occupied / 2 empty, power 1 normal / 2 outage, door zone 1 in / 2 out).
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

SCHEMA_VERSION = 1

# FACTS §4.1: lift fault (01-11), event (40-47) and alarm (90-93) codes.
EVENT_CODES: dict[str, str] = {
    "00": "no fault",
    "01": "安全回路断路 safety circuit open (while running)",
    "02": "关门故障 door close fault",
    "03": "开门故障 door open fault",
    "04": "轿厢在开锁区域外停止 stop outside the door zone",
    "05": "轿厢意外移动 unintended car movement (UCMP)",
    "06": "电动机运转时间限制器动作 motor run-time limiter",
    "07": "楼层位置丢失 floor position lost",
    "08": "防止电梯再运行的故障 fault preventing further running",
    "09": "轿厢冲顶 over-travel top (Beijing)",
    "10": "轿厢蹲底 over-travel bottom (Beijing)",
    "11": "困人 entrapment (Beijing)",
    "40": "恢复自动运行模式 back to normal operation (event)",
    "41": "主电源断电 main power lost (event)",
    "42": "进入停止服务 out of service (event)",
    "43": "进入检修运行 inspection operation (event)",
    "44": "进入消防返回 fire return (event)",
    "45": "进入消防员运行 firefighter operation (event)",
    "46": "进入应急电源运行 emergency power (event)",
    "47": "地震模式 earthquake mode (event)",
    "61": "扶梯安全回路断路 escalator safety circuit open",
    "62": "扶梯超速保护 escalator overspeed",
    "63": "扶梯非操纵逆转保护 escalator unintended reversal",
    "64": "梯级或踏板缺失保护 missing step or pallet",
    "65": "扶梯防止重新启动故障 escalator restart-prevention fault",
    "90": "报警按钮动作 alarm button (user alarm)",
    "91": "蹲底 over-travel bottom (Chongqing)",
    "92": "冲顶 over-travel top (Chongqing)",
    "93": "平层关人 trapped at landing (Chongqing)",
    # common add-on ("intelligent") alarms, FACTS §4.1
    "overspeed": "超速",
    "door_open_running": "运行中开门",
    "trapped_between_floors": "非平层关人",
    "power_loss": "停电",
    "door_lock_circuit": "门锁回路断路",
    "landing_button_stuck": "层站按钮粘连",
    "speed_abnormal": "速度异常",
    "run_timeout": "运行超时",
    "door_cycling": "反复开关门 / 长时间开门",
    "e_bike": "电动车入梯",
    "abnormal_vibration": "异常震动",
}


def _iot(text: str):
    return pgettext_lazy("iot alarm", text)


#: event code → translatable label (English msgid; zh-Hans = the Chinese name in :data:`EVENT_CODES`)
EVENT_LABELS = {
    "00": _iot("no fault"),
    "01": _iot("safety circuit open (while running)"),
    "02": _iot("door close fault"),
    "03": _iot("door open fault"),
    "04": _iot("stop outside the door zone"),
    "05": _iot("unintended car movement (UCMP)"),
    "06": _iot("motor run-time limiter"),
    "07": _iot("floor position lost"),
    "08": _iot("fault preventing further running"),
    "09": _iot("over-travel top (Beijing)"),
    "10": _iot("over-travel bottom (Beijing)"),
    "11": _iot("entrapment (Beijing)"),
    "40": _iot("back to normal operation (event)"),
    "41": _iot("main power lost (event)"),
    "42": _iot("out of service (event)"),
    "43": _iot("inspection operation (event)"),
    "44": _iot("fire return (event)"),
    "45": _iot("firefighter operation (event)"),
    "46": _iot("emergency power (event)"),
    "47": _iot("earthquake mode (event)"),
    "61": _iot("escalator safety circuit open"),
    "62": _iot("escalator overspeed"),
    "63": _iot("escalator unintended reversal"),
    "64": _iot("missing step or pallet"),
    "65": _iot("escalator restart-prevention fault"),
    "90": _iot("alarm button (user alarm)"),
    "91": _iot("over-travel bottom (Chongqing)"),
    "92": _iot("over-travel top (Chongqing)"),
    "93": _iot("trapped at landing (Chongqing)"),
    "overspeed": _iot("overspeed"),
    "door_open_running": _iot("door open while running"),
    "trapped_between_floors": _iot("trapped between floors"),
    "power_loss": _iot("power loss"),
    "door_lock_circuit": _iot("door-lock circuit open"),
    "landing_button_stuck": _iot("landing button stuck"),
    "speed_abnormal": _iot("abnormal speed"),
    "run_timeout": _iot("run timeout"),
    "door_cycling": _iot("doors cycling or open too long"),
    "e_bike": _iot("e-bike in the car"),
    "abnormal_vibration": _iot("abnormal vibration"),
}
#: the detail texts detection stores (English, stable) → translatable label
DETAIL_LABELS = {
    "passenger trapped at a landing": _iot("passenger trapped at a landing"),
    "passenger trapped away from a landing": _iot("passenger trapped away from a landing"),
    "car stopped outside the door zone": _iot("car stopped outside the door zone"),
    "power outage": _iot("power outage"),
    "car moved with the doors open": _iot("car moved with the doors open"),
    "door open while running": _iot("door open while running"),
    "up_limit switch": _iot("up_limit switch"),
    "down_limit switch": _iot("down_limit switch"),
    "at a landing": _iot("at a landing"),
    "away from a landing": _iot("away from a landing"),
    "position unknown": _iot("position unknown"),
    # stored by earlier versions
    "passenger trapped at a landing (平层关人)": _iot("passenger trapped at a landing"),
    "passenger trapped away from a landing (非平层关人)": _iot("passenger trapped away from a landing"),
}


def detail_label(code: str, detail: str) -> str:
    """An alarm's stored ``detail`` in the active language: the event-code name (from ``code``) and the
    known detection texts (" · "-separated parts) are translated; numbers and unknown text stay as stored."""
    parts = (detail or "").split(" · ")
    out = []
    for i, part in enumerate(parts):
        if i == 0 and code in EVENT_LABELS and part == EVENT_CODES.get(code):
            out.append(str(EVENT_LABELS[code]))
        else:
            out.append(str(DETAIL_LABELS.get(part, part)))
    return " · ".join(out)


class AlarmType(models.TextChoices):
    """What an alarm is about; at most one active per (elevator, type)."""

    ENTRAPMENT = "entrapment", _("Entrapment")
    OVER_TRAVEL_TOP = "over_travel_top", _("Over-travel top")
    OVER_TRAVEL_BOTTOM = "over_travel_bottom", _("Over-travel bottom")
    DOOR_OPEN_RUNNING = "door_open_running", _("Door open while running")
    UNINTENDED_MOVEMENT = "unintended_movement", _("Unintended car movement")
    STOP_OUTSIDE_ZONE = "stop_outside_zone", _("Stop outside the door zone")
    POWER_LOSS = "power_loss", _("Power loss")
    OVERSPEED = "overspeed", _("Overspeed")
    SAFETY_CIRCUIT = "safety_circuit", _("Safety circuit open")
    DOOR_FAULT = "door_fault", _("Door fault")
    CONTROL_FAULT = "control_fault", _("Control fault")
    ESCALATOR_FAULT = "escalator_fault", _("Escalator fault")
    OTHER_FAULT = "other_fault", _("Other add-on alarm")
    ABNORMAL_VIBRATION = "abnormal_vibration", _("Abnormal door vibration")
    OFFLINE = "offline", _("Device offline")


T = AlarmType
# event code → alarm type raised by that code (codes absent here raise nothing)
CODE_ALARM: dict[str, str] = {
    "01": T.SAFETY_CIRCUIT, "02": T.DOOR_FAULT, "03": T.DOOR_FAULT, "04": T.STOP_OUTSIDE_ZONE,
    "05": T.UNINTENDED_MOVEMENT, "06": T.CONTROL_FAULT, "07": T.CONTROL_FAULT, "08": T.CONTROL_FAULT,
    "09": T.OVER_TRAVEL_TOP, "10": T.OVER_TRAVEL_BOTTOM, "11": T.ENTRAPMENT, "41": T.POWER_LOSS,
    "61": T.ESCALATOR_FAULT, "62": T.OVERSPEED, "63": T.ESCALATOR_FAULT, "64": T.ESCALATOR_FAULT, "65": T.ESCALATOR_FAULT,
    "90": T.ENTRAPMENT, "91": T.OVER_TRAVEL_BOTTOM, "92": T.OVER_TRAVEL_TOP, "93": T.ENTRAPMENT,
    "overspeed": T.OVERSPEED, "door_open_running": T.DOOR_OPEN_RUNNING, "trapped_between_floors": T.ENTRAPMENT,
    "power_loss": T.POWER_LOSS, "door_lock_circuit": T.SAFETY_CIRCUIT, "landing_button_stuck": T.OTHER_FAULT,
    "speed_abnormal": T.OTHER_FAULT, "run_timeout": T.CONTROL_FAULT, "door_cycling": T.DOOR_FAULT,
    "e_bike": T.OTHER_FAULT, "abnormal_vibration": T.ABNORMAL_VIBRATION,
}
# event 40 (back to normal operation) clears every fault-type alarm of the elevator
RESTORE_CODE = "40"
CLEARED_BY_RESTORE = {T.SAFETY_CIRCUIT, T.DOOR_FAULT, T.STOP_OUTSIDE_ZONE, T.UNINTENDED_MOVEMENT, T.CONTROL_FAULT,
                      T.OVER_TRAVEL_TOP, T.OVER_TRAVEL_BOTTOM, T.DOOR_OPEN_RUNNING, T.OVERSPEED, T.ESCALATOR_FAULT,
                      T.OTHER_FAULT}

# service modes (FACTS §4.1): 2 检修 (inspection) suppresses alarms; 0 停止服务 too (maintenance stop)
SERVICE_MODES = {0: "停止服务", 1: "正常运行", 2: "检修", 3: "消防返回", 4: "消防员运行", 5: "应急电源运行", 6: "地震模式", 7: "未知"}
SUPPRESSING_MODES = {2}
# alarms never suppressed by service mode (in inspection a mechanic is in the car, may press the
# alarm button or cut the power, so everything else is suppressed there)
NEVER_SUPPRESSED = {T.OFFLINE}
# mode-change events (FACTS §4.1) → the service mode they put the car in
EVENT_MODE = {"40": 1, "42": 0, "43": 2, "44": 3, "45": 4, "46": 5, "47": 6}

# Category rules live with the catalogue in the registry; re-exported here for detection.
from liftsafe.registry.codes import (  # noqa: E402,F401
    NO_PASSENGER_CAR_CATEGORIES,
    NO_PASSENGER_CAR_PREFIXES,
    PASSENGER_LIFT_CATEGORIES,
    can_trap_passengers,
)


# status wire codes (FACTS §3.5)
DOOR_CLOSED, DOOR_NOT_CLOSED = 1, 2
PASSENGER_PRESENT, PASSENGER_ABSENT = 1, 2
POWER_NORMAL, POWER_OUTAGE = 1, 2
IN_DOOR_ZONE, OUTSIDE_DOOR_ZONE = 1, 2
