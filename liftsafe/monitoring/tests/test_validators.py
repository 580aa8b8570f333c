"""The per-type compiled schema validators of the hot path (services._TYPE_VALIDATORS) against the whole schema."""
from __future__ import annotations

import json

import fastjsonschema
import pytest

from liftsafe.monitoring import services

@pytest.mark.parametrize("body", [
    {"v": 1, "type": "status", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00+00:00",
     "data": {"mode": 1, "running": 0, "door_zone": 1, "floor": 2, "door": 1, "passenger": 2, "power": 1}},
    {"v": 1, "type": "status", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00+00:00", "data": {"mode": 1}},
    {"v": 1, "type": "status", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00+00:00"},
    {"v": 1, "type": "event", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"code": "90", "floor": 3}},
    {"v": 1, "type": "event", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"code": "99"}},
    {"v": 1, "type": "event", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"mode": 1, "running": 0,
     "door_zone": 1, "floor": 2, "door": 1, "passenger": 2, "power": 1}},
    {"v": 1, "type": "stats", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"run_count": 5}},
    {"v": 1, "type": "stats", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {}},
    {"v": 1, "type": "stats", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"code": "01"}},
    {"v": 1, "type": "heartbeat", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z"},
    {"v": 1, "type": "heartbeat", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "data": {"rssi": 5}},
    {"v": 1, "type": "heartbeat", "device": "D 1", "id": "1", "ts": "2026-11-29T10:00:00Z"},
    {"v": 1, "type": "heartbeat", "device": "D1", "id": "", "ts": "2026-11-29T10:00:00Z"},
    {"v": 1, "type": "heartbeat", "device": "D1", "id": "1", "ts": "yesterday"},
    {"v": 1, "type": "heartbeat", "device": "D1", "id": "1", "ts": "2026-11-29T10:00:00Z", "extra": 1},
])
def test_type_validators_agree_with_the_whole_schema(body):
    """The per-type validators the hot path uses accept and reject exactly what the published schema does."""
    def verdict(validate):
        try:
            validate(json.loads(json.dumps(body)))
            return True
        except fastjsonschema.JsonSchemaException:
            return False

    assert verdict(services._TYPE_VALIDATORS[body["type"]]) == verdict(services._validate)
