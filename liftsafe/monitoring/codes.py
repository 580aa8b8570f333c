"""Wire codes of the monitoring messages and the alarm types they map to.

Fault / event / alarm codes: docs/domain §4.1 (GB/T 24476-2017 §11 as implemented by
three independent platforms [S]); escalator codes 61-65 (docs/domain §4.1 [S]);
Chongqing add-on alarms 91-93 and Beijing 09-11 (docs/domain §4.1 [S]); the common
IoT "intelligent" add-on alarms (docs/domain §4.1 [S]) carry named codes.
Status codes: docs/domain §3.5 / §4.1 (service mode 0-7, door 1 closed / 2 no signal,
passenger 1 occupied / 2 empty, power 1 normal / 2 outage, door zone 1 in / 2 out).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

SCHEMA_VERSION = 1

# docs/domain §4.1: lift fault (01-11), event (40-47) and alarm (90-93) codes.
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
    # common add-on ("intelligent") alarms, docs/domain §4.1
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
# --------------------------------------------------------------------------- alarm texts (detail, clear reason)
#: What detection stores in ``Alarm.detail`` and ``Alarm.cleared_reason``: stable, language-neutral texts
#: (English words used as codes, never translated when stored: API clients, the emergency case details and
#: the exchange uploads carry them as they are) with ``{name}`` parameters, each with its translatable label
#: (``%(name)s`` placeholders). Writers build a text with :func:`alarm_text`; pages show one with
#: :func:`detail_label` / :func:`reason_label`. The texts are those earlier versions stored, so old rows read
#: the same; a text matching none (a person's clear reason) is shown as stored.
ALARM_TEXTS: dict[str, tuple[str, Any]] = {
    # details (services._apply, detect_offline, door.ingest)
    "trapped_at_landing": ("passenger trapped at a landing", _iot("passenger trapped at a landing")),
    "trapped_away": ("passenger trapped away from a landing", _iot("passenger trapped away from a landing")),
    "stop_outside_zone": ("car stopped outside the door zone", _iot("car stopped outside the door zone")),
    "power_outage": ("power outage", _iot("power outage")),
    "ucm": ("car moved with the doors open", _iot("car moved with the doors open")),
    "door_open_running": ("door open while running", _iot("door open while running")),
    "up_limit": ("up_limit switch", _iot("up_limit switch")),
    "down_limit": ("down_limit switch", _iot("down_limit switch")),
    "at_landing": ("at a landing", _iot("at a landing")),
    "away_from_landing": ("away from a landing", _iot("away from a landing")),
    "position_unknown": ("position unknown", _iot("position unknown")),
    "overspeed": ("{speed} m/s > {ratio}× {rated} m/s", _iot("%(speed)s m/s, over %(ratio)s × the rated %(rated)s m/s")),
    "offline": ("no message since {since}", _iot("no message since %(since)s")),
    "vibration": ("door vibration mean over {window} samples > {limit} dB for {samples} samples (peak {peak} dB)",
                  _iot("door vibration mean over %(window)s samples > %(limit)s dB for %(samples)s samples (peak %(peak)s dB)")),
    "vibration_hz": ("door vibration mean over {window} samples > {limit} dB for {samples} samples at {hz} Hz (peak {peak} dB)",
                     _iot("door vibration mean over %(window)s samples > %(limit)s dB for %(samples)s samples at %(hz)s Hz "
                          "(peak %(peak)s dB)")),
    "vibration_s": ("door vibration mean over {window} samples > {limit} dB for {seconds} s (peak {peak} dB)",
                    _iot("door vibration mean over %(window)s samples > %(limit)s dB for %(seconds)s s (peak %(peak)s dB)")),
    # clear reasons (services._apply, _clear_offline, device_unbind)
    "cleared_message": ("message received", _iot("message received")),
    "cleared_unbound": ("device unbound", _iot("device unbound")),
    "cleared_released": ("passenger released", _iot("passenger released")),
    "cleared_zone": ("back in door zone", _iot("back in door zone")),
    "cleared_door": ("door closed", _iot("door closed")),
    "cleared_restore": ("event 40", _iot("back to normal operation (event 40)")),
    "cleared_power": ("power normal", _iot("power normal")),
    "cleared_up_limit": ("up_limit released", _iot("up_limit released")),
    "cleared_down_limit": ("down_limit released", _iot("down_limit released")),
    "cleared_speed": ("speed normal", _iot("speed normal")),
    "cleared_vibration": ("vibration back to baseline", _iot("vibration back to baseline")),
    "cleared_history": ("history (backfill)", _iot("historical record, loaded by backfill")),
}
#: texts stored by earlier versions → the key of :data:`ALARM_TEXTS` they mean
_LEGACY_TEXTS = {
    "passenger trapped at a landing (平层关人)": "trapped_at_landing",
    "passenger trapped away from a landing (非平层关人)": "trapped_away",
}
_FIXED_TEXTS = {stored: key for key, (stored, _label) in ALARM_TEXTS.items() if "{" not in stored} | _LEGACY_TEXTS
_PATTERN_TEXTS = [(key, re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^·]+?)", re.escape(stored)) + r"\Z"))
                  for key, (stored, _label) in ALARM_TEXTS.items() if "{" in stored]


def alarm_text(key: str, **params) -> str:
    """The stored (language-neutral) text ``key`` of :data:`ALARM_TEXTS` with its ``{name}`` parameters filled in.

    Raises:
        KeyError: unknown ``key`` or a missing parameter (a programming error of the caller).
    """
    return ALARM_TEXTS[key][0].format(**params)


def _param_display(name: str, value: str) -> str:
    if name == "since":  # an ISO time: shown in the platform's time zone like every other time on the pages
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(at):
            at = timezone.localtime(at)
        return at.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _text_label(text: str) -> str:
    """One stored text in the active language (unknown text as it is)."""
    key = _FIXED_TEXTS.get(text)
    if key is not None:
        return str(ALARM_TEXTS[key][1])
    for key, pattern in _PATTERN_TEXTS:
        m = pattern.match(text)
        if m:
            return str(ALARM_TEXTS[key][1]) % {k: _param_display(k, v) for k, v in m.groupdict().items()}
    return text


def detail_label(code: str, detail: str) -> str:
    """An alarm's stored ``detail`` in the active language.

    ``detail`` is " · "-separated parts: the event-code name of :data:`EVENT_CODES` (for the alarm's
    ``code``) and texts of :data:`ALARM_TEXTS`, each translated; anything else stays as stored.
    """
    parts = (detail or "").split(" · ")
    out = []
    for i, part in enumerate(parts):
        if i == 0 and code in EVENT_LABELS and part == EVENT_CODES.get(code):
            out.append(str(EVENT_LABELS[code]))
        else:
            out.append(_text_label(part))
    return " · ".join(out)


def reason_label(reason: str) -> str:
    """An alarm's stored ``cleared_reason`` in the active language (a person's own reason as written)."""
    return _text_label(reason or "")


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

# service modes (docs/domain §4.1): 2 检修 (inspection) suppresses alarms; 0 停止服务 too (maintenance stop)
SERVICE_MODES = {0: "停止服务", 1: "正常运行", 2: "检修", 3: "消防返回", 4: "消防员运行", 5: "应急电源运行", 6: "地震模式", 7: "未知"}
SUPPRESSING_MODES = {2}
# alarms never suppressed by service mode (in inspection a mechanic is in the car, may press the
# alarm button or cut the power, so everything else is suppressed there)
NEVER_SUPPRESSED = {T.OFFLINE}
# mode-change events (docs/domain §4.1) → the service mode they put the car in
EVENT_MODE = {"40": 1, "42": 0, "43": 2, "44": 3, "45": 4, "46": 5, "47": 6}

# Category rules live with the catalogue in the registry; re-exported here for detection.
from liftsafe.registry.codes import (  # noqa: E402,F401
    NO_PASSENGER_CAR_CATEGORIES,
    NO_PASSENGER_CAR_PREFIXES,
    PASSENGER_LIFT_CATEGORIES,
    can_trap_passengers,
)


# status wire codes (docs/domain §3.5)
DOOR_CLOSED, DOOR_NOT_CLOSED = 1, 2
PASSENGER_PRESENT, PASSENGER_ABSENT = 1, 2
POWER_NORMAL, POWER_OUTAGE = 1, 2
IN_DOOR_ZONE, OUTSIDE_DOOR_ZONE = 1, 2


# --------------------------------------------------------------------------- status fields for display
def _st(text: str):
    return pgettext_lazy("iot status", text)


_MODE_VALUES = {0: _st("out of service"), 1: _st("normal operation"), 2: _st("inspection"), 3: _st("fire return"),
                4: _st("firefighter operation"), 5: _st("emergency power"), 6: _st("earthquake mode"), 7: _st("unknown")}
#: escalators and moving walks use their own service-mode codes (docs/domain §4.1: 0 停止, 1 正常, 2 检修, 3 未知)
_ESCALATOR_MODE_VALUES = {0: _st("stopped"), 1: _st("normal operation"), 2: _st("inspection"), 3: _st("unknown")}
_RUNNING_VALUES = {0: _st("stopped"), 1: _st("running")}
_DIR_VALUES = {0: _st("no direction"), 1: _st("up"), 2: _st("down")}
_ZONE_VALUES = {IN_DOOR_ZONE: _st("in the door zone"), OUTSIDE_DOOR_ZONE: _st("outside the door zone")}
_DOOR_VALUES = {DOOR_CLOSED: _st("closed"), DOOR_NOT_CLOSED: _st("not closed / no signal")}
_PASSENGER_VALUES = {PASSENGER_PRESENT: _st("occupied"), PASSENGER_ABSENT: _st("empty")}
_POWER_VALUES = {POWER_NORMAL: _st("normal"), POWER_OUTAGE: _st("outage")}
_LIMIT_VALUES = {1: _st("tripped"), 2: _st("not tripped")}

#: Every status / statistics field a page may show → ``(label, value labels or None, unit)``; the one mapping
#: used wherever a status snapshot is shown (:func:`status_rows`). Keyed by the message's wire names (schema
#: message-v1: ``mode``, ``running`` …, docs/domain §3.5 / §4.1 codes) and by the docs/domain §3.5 upload names of the
#: alarm / case snapshot (``service_mode``, ``car_status`` …, see ``services._snapshot``), plus the statistics.
STATUS_FIELDS: dict[str, tuple[Any, dict | None, str]] = {}
for _names, _field in (
    (("mode", "service_mode"), (_st("Service mode"), _MODE_VALUES, "")),
    (("running", "car_status"), (_st("Car"), _RUNNING_VALUES, "")),
    (("dir", "car_direction"), (_st("Direction"), _DIR_VALUES, "")),
    (("floor", "car_position"), (_st("Floor"), None, "")),
    (("door_zone",), (_st("Door zone"), _ZONE_VALUES, "")),
    (("door", "door_status"), (_st("Door"), _DOOR_VALUES, "")),
    (("passenger", "passenger_status"), (_st("Passenger"), _PASSENGER_VALUES, "")),
    (("power", "power_status"), (_st("Power"), _POWER_VALUES, "")),
    (("up_limit",), (_st("Top limit switch"), _LIMIT_VALUES, "")),
    (("down_limit",), (_st("Bottom limit switch"), _LIMIT_VALUES, "")),
    (("speed", "speed_mps"), (_st("Speed"), None, "m/s")),
    # statistics (schema message-v1 "stats")
    (("run_hours",), (_st("Running time"), None, "h")),
    (("run_count",), (_st("Runs"), None, "")),
    (("door_cycles",), (_st("Door cycles"), None, "")),
    (("rope_bends",), (_st("Rope bends"), None, "")),
    (("distance_m",), (_st("Distance"), None, "m")),
    (("ball_bearing",), (_st("Door ball bearing"), None, "")),
    (("humidity",), (_st("Humidity"), None, "%")),
    (("vibration_db",), (_st("Door vibration"), None, "dB")),
    (("rssi",), (_st("Signal strength"), None, "dBm")),
    (("uptime_s",), (_st("Uptime"), None, "s")),
):
    for _name in _names:
        STATUS_FIELDS[_name] = _field
del _names, _field, _name


def field_label(key: str) -> str:
    """The label of a status / statistics field in the active language (an unknown key as it is)."""
    f = STATUS_FIELDS.get(key)
    return str(f[0]) if f else key


def status_rows(data: dict | None, *, escalator: bool = False) -> list[dict]:
    """A status snapshot or statistics dict for display, in the active language.

    ``escalator``: the device is on an escalator / moving walk (registry ``ESCALATOR_CATEGORIES``), whose
    service-mode codes differ from a lift's (docs/domain §4.1: 3 is "unknown" there, "fire return" on a lift).

    Returns ``[{"key", "label", "value", "raw"}]`` in :data:`STATUS_FIELDS` order, then unknown keys (label = key,
    value as stored); ``None`` values are left out. Coded values get their label (``mode`` 2 → "inspection" /
    "检修"); a code outside the known ones shows as the number; numbers are formatted with
    :func:`liftsafe.core.formatting.fmt_number` plus the unit.
    """
    from liftsafe.core.formatting import fmt_number

    data = data or {}
    order = {k: i for i, k in enumerate(STATUS_FIELDS)}
    rows = []
    for key in sorted(data, key=lambda k: (order.get(k, len(order)), k)):
        raw = data[key]
        if raw is None:
            continue
        label, values, unit = STATUS_FIELDS.get(key, (key, None, ""))
        if escalator and values is _MODE_VALUES:
            values = _ESCALATOR_MODE_VALUES
        if values is not None and isinstance(raw, int) and raw in values:
            value = str(values[raw])
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = fmt_number(raw, unit)
            if unit and unit != "%":
                value = f"{value} {unit}"
        else:
            value = str(raw)
        rows.append({"key": key, "label": str(label), "value": value, "raw": raw})
    return rows
