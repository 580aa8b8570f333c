"""National fault-analysis and risk-monitoring platform: the docs/domain §3.5 upload fields as JSON.

Body: ``{"records": [row, …]}``; reply: ``{"code": 0|…, "message": str, "results": [{"fault_id": …,
"status": "ok"|"rejected", "reason": …}]}`` (docs/exchange.md). Sources of every field:

- ``fault_id`` (unique serial: ``LS`` + case id), ``order_number`` (处置单号), ``fault_timestamp``
  (received), ``deal_respond_time`` / ``deal_arrive_time`` / ``deal_end_time`` (first responded /
  arrived / closed milestone), ``deal_node`` (handling notes from the milestones) — docs/domain §3.5;
- ``deal_status`` — :func:`liftsafe.emergency.selectors.upload_status_code` (00 完成, 01 发生, 02 响应,
  04 到场, 05 误报; docs/domain §3.5, no 03);
- ``fault_type`` — docs/domain §4.2 (lifts 01–11, escalators 61–65) through :data:`FAULT_TYPE_BY_CODE` /
  :data:`FAULT_TYPE_BY_CASE_TYPE` (docs/domain §4.2: "keep a mapping table");
- status snapshot (``car_status`` … ``down_limit``, ``service_mode``) — docs/domain §3.5, copied from the
  case's IoT snapshot (``case.details``) when it has them;
- ``registration_code``, ``equipment_code``, ``rescue_code``, ``area_code`` — docs/domain §1.3-§1.6.
"""
from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _

from .base import Adapter, wire_time

#: docs/domain §4.2 wire enum: lift codes 01-11, escalator / moving-walk codes 61-65
LIFT_FAULT_TYPES = {f"{i:02d}" for i in range(1, 12)}
ESCALATOR_FAULT_TYPES = {str(i) for i in range(61, 66)}

#: IoT alarm / event code carried by the case (``details["code"]``, docs/domain §4.1) → upload fault_type (§4.2).
#: Codes 01-11 and 61-65 are the wire enum already; the alarm-class codes map to the fault they report.
FAULT_TYPE_BY_CODE: dict[str, str] = {
    **{c: c for c in LIFT_FAULT_TYPES | ESCALATOR_FAULT_TYPES},
    "90": "11",  # 报警按钮动作 (user alarm) → 困人 (only entrapment alarms open cases)
    "93": "11",  # 平层关人 (Chongqing) → 困人
    "91": "10",  # 蹲底 (Chongqing) → 轿厢蹲底
    "92": "09",  # 冲顶 (Chongqing) → 轿厢冲顶
    "trapped_between_floors": "11",  # 非平层关人 → 困人
    "status.entrapment": "11",  # passenger present, car stopped (status rule) → 困人
    "status.stop_outside_zone": "04",  # 门区外停梯
    "status.ucm": "05",  # 开门走车 (UCMP)
    "door_open_running": "05",
    "power_loss": "08", "41": "08",  # 停电: the lift cannot run again until power returns
    "door_lock_circuit": "01",
}
#: our case type → fault_type when the case carries no IoT code (liftsafe design [U], docs/domain §4.2 has no
#: "other" code): an entrapment is 11 困人; a fault report on a lift is 08 (prevents further running);
#: on an escalator 65 (restart-prevention fault). Enquiries are not faults and are not uploaded.
FAULT_TYPE_BY_CASE_TYPE = {"entrapment": "11", "fault_report": "08"}
ESCALATOR_FAULT_TYPE_BY_CASE_TYPE = {"entrapment": "61", "fault_report": "65"}

#: docs/domain §3.5 status-snapshot fields, copied from the case's IoT snapshot when present
SNAPSHOT_FIELDS = ("car_status", "car_direction", "door_zone", "car_position", "door_status", "passenger_status",
                   "service_mode", "power_status", "up_limit", "down_limit")
#: handling-note labels of the milestones (wire text, Chinese as the receiver expects)
NODE_LABELS = {"received": "接警", "dispatched": "派遣", "responded": "响应", "arrived": "到场", "released": "解救",
               "completed": "处置完成", "false_alarm": "误报", "cancelled": "取消", "escalated": "升级",
               "call_attached": "追加来电"}
DEAL_STATUSES = {"00", "01", "02", "04", "05"}


def is_escalator(elevator) -> bool:
    """Escalators and moving walks: catalogue class 33xx (docs/domain §1.1)."""
    return str(elevator.category or "").startswith("33")


def fault_type_of(case) -> str:
    """docs/domain §4.2 ``fault_type`` of a case: its IoT code through :data:`FAULT_TYPE_BY_CODE`, else its
    case type; an escalator never gets a lift code (and vice versa)."""
    esc = is_escalator(case.elevator)
    code = str((case.details or {}).get("code") or "")
    ft = FAULT_TYPE_BY_CODE.get(code)
    if ft and (ft in ESCALATOR_FAULT_TYPES) == esc:
        return ft
    table = ESCALATOR_FAULT_TYPE_BY_CASE_TYPE if esc else FAULT_TYPE_BY_CASE_TYPE
    return table.get(case.case_type, "08" if not esc else "65")


def deal_node(milestones: list) -> str:
    """Handling notes: ``HH:MM 接警; HH:MM 派遣L1; …`` from the milestones (docs/domain §3.5 ``deal_node``)."""
    parts = []
    for m in sorted(milestones, key=lambda m: (m.at, m.pk or 0)):
        label = NODE_LABELS.get(m.kind, m.kind)
        if m.kind == "dispatched" and m.level:
            label += f"L{m.level}"
        parts.append(f"{wire_time(m.at)} {label}")
    return "; ".join(parts)[:1000]


def case_fields(case, milestones: list) -> dict:
    """The docs/domain §3.5 fields of a case (shared by every adapter that uploads cases)."""
    from liftsafe.emergency.selectors import derive, upload_status_code

    d = derive(milestones)
    e = case.elevator
    row = {
        "fault_id": f"LS{case.pk}",
        "order_number": case.order_number,
        "fault_type": fault_type_of(case),
        "fault_timestamp": wire_time(case.received_at),
        "deal_status": upload_status_code(case, milestones),
        "deal_respond_time": wire_time(d.responded_at),
        "deal_arrive_time": wire_time(d.arrived_at),
        "deal_end_time": wire_time(d.closed_at),
        "deal_node": deal_node(milestones),
        "registration_code": e.registration_code,
        "equipment_code": e.equipment_code,
        "rescue_code": e.rescue_code,
        "area_code": e.area.code if e.area_id else "",
        "trapped_count": case.trapped_count,
        "released_count": d.released_count,
    }
    details = case.details or {}
    for f in SNAPSHOT_FIELDS:
        if details.get(f) is not None:
            row[f] = details[f]
    if "car_position" not in row and case.car_position:
        row["car_position"] = case.car_position
    return row


class NationalAdapter(Adapter):
    """docs/domain §3.5 upload rows as JSON (``t_elevator_data`` / ``t_escalator_data`` style)."""

    key = "national"
    label = _("National platform (docs/domain §3.5 JSON)")
    kind = "national"
    record_types = ("case", "elevator")
    content_type = "application/json"
    result_id_fields = ("fault_id", "device_id", "id")

    def map_case(self, case, milestones: list) -> dict | None:
        if case.case_type not in FAULT_TYPE_BY_CASE_TYPE:
            return None  # enquiries are not faults
        row = case_fields(case, milestones)
        row["table"] = "t_escalator_data" if is_escalator(case.elevator) else "t_elevator_data"
        return row

    def map_elevator(self, e) -> dict | None:
        """Elevator register row (docs/domain §1.6 names; dates ISO)."""
        return {
            "device_id": f"{e.source}:{e.source_id}",
            "registration_code": e.registration_code, "equipment_code": e.equipment_code,
            "use_certificate_no": e.use_certificate_no, "rescue_code": e.rescue_code,
            "eqp_sort": e.category, "area_code": e.area.code if e.area_id else "", "address": e.address,
            "use_unit": e.use_unit.name if e.use_unit_id else "", "fac_cod": e.factory_number, "eqp_mod": e.model,
            "install_date": e.installation_date.isoformat() if e.installation_date else None,
            "status": e.status, "next_inspection_due": e.next_inspection_due.isoformat() if e.next_inspection_due else None,
        }

    def record_key(self, record_type: str, payload: dict) -> str:
        return str(payload["fault_id"] if record_type == "case" else payload["device_id"])

    def encode(self, record_type: str, payloads: list[dict]) -> bytes:
        return json.dumps({"records": payloads}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def check_case_row(row: dict) -> str:
    """Basic receiver-side checks of a national case row (used by the loopback receiver and tests):
    '' when valid, else the reason."""
    if not row.get("fault_id") or not row.get("order_number"):
        return "fault_id and order_number are required"
    ft = str(row.get("fault_type") or "")
    if ft not in LIFT_FAULT_TYPES | ESCALATOR_FAULT_TYPES:
        return f"fault_type {ft!r} is not in the §4.2 code list"
    if str(row.get("deal_status") or "") not in DEAL_STATUSES:
        return f"deal_status {row.get('deal_status')!r} is not one of 00/01/02/04/05"
    if not row.get("fault_timestamp"):
        return "fault_timestamp is required"
    if not (row.get("registration_code") or row.get("equipment_code") or row.get("rescue_code")):
        return "no registration_code, equipment_code or rescue_code: the elevator cannot be identified"
    return ""
