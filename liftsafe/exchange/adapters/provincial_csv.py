"""Provincial data centre: a CSV profile of the case upload, POSTed as ``text/csv``.

Body: UTF-8 with a byte-order mark, a header row of the Chinese column names in :data:`COLUMNS`,
one row per case, CRLF line ends (RFC 4180). Values are those of the national mapping
(:func:`liftsafe.exchange.adapters.national.case_fields`, one definition); empty cell = no value.
Reply: JSON ``{"code": 0|…, "message": …, "results": [{"row": n | "order_number": …,
"status": "ok"|"rejected", "reason": …}]}``; without ``results`` the ``code`` is the whole batch's status.
"""
from __future__ import annotations

import csv
import io

from django.utils.translation import gettext_lazy as _

from .base import Adapter
from .national import FAULT_TYPE_BY_CASE_TYPE, case_fields

#: (CSV header, payload key) in column order
COLUMNS: list[tuple[str, str]] = [
    ("处置单号", "order_number"),
    ("故障编号", "fault_id"),
    ("注册代码", "registration_code"),
    ("设备代码", "equipment_code"),
    ("救援识别码", "rescue_code"),
    ("行政区划代码", "area_code"),
    ("故障类型", "fault_type"),
    ("故障时间", "fault_timestamp"),
    ("处置状态", "deal_status"),
    ("响应时间", "deal_respond_time"),
    ("到场时间", "deal_arrive_time"),
    ("完成时间", "deal_end_time"),
    ("被困人数", "trapped_count"),
    ("解救人数", "released_count"),
    ("困人原因", "cause"),
    ("处置过程", "deal_node"),
]
HEADER = [h for h, _k in COLUMNS]


class ProvincialCsvAdapter(Adapter):
    """The provincial CSV profile (cases only)."""

    key = "provincial-csv"
    label = _("Provincial data centre (CSV profile)")
    kind = "provincial"
    record_types = ("case",)
    content_type = "text/csv; charset=utf-8"
    result_id_fields = ("order_number", "id")

    def map_case(self, case, milestones: list) -> dict | None:
        if case.case_type not in FAULT_TYPE_BY_CASE_TYPE:
            return None
        row = case_fields(case, milestones)
        out = {k: row.get(k) for _h, k in COLUMNS if k != "cause"}
        out["cause"] = f"{case.cause_class}:{case.cause_item}" if case.cause_class else ""
        return out

    def map_elevator(self, elevator) -> dict | None:
        return None

    def record_key(self, record_type: str, payload: dict) -> str:
        return str(payload["order_number"])

    def encode(self, record_type: str, payloads: list[dict]) -> bytes:
        # A machine payload whose bytes the provincial platform specifies (not a download for people):
        # deliberately NOT passed through liftsafe.core.exports' formula neutralisation, which would alter values.
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(HEADER)
        for p in payloads:
            w.writerow(["" if p.get(k) is None else p.get(k) for _h, k in COLUMNS])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")


def parse_csv(body: bytes) -> list[dict]:
    """Read a body made by :meth:`ProvincialCsvAdapter.encode` back into payload dicts (strings; '' = None).

    Raises:
        ValueError: no BOM, or the header is not :data:`HEADER`.
    """
    text = body.decode("utf-8")
    if not text.startswith("\ufeff"):
        raise ValueError("CSV body must start with a UTF-8 byte-order mark")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    if not rows or rows[0] != HEADER:
        raise ValueError(f"CSV header must be {HEADER}")
    keys = [k for _h, k in COLUMNS]
    return [{k: (v if v != "" else None) for k, v in zip(keys, r)} for r in rows[1:]]
