"""Regression (issue 10, defect 6): an IoT entrapment alarm reaches emergency through the registered flow
``monitoring.entrapment_alarm``; without a handler the failure is logged and recorded, never silently dropped."""
from __future__ import annotations

import datetime as dt
import logging

from liftsafe.core import flows
from liftsafe.emergency.models import EmergencyCase
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm
from liftsafe.monitoring.services import process_batch

from .helpers import msg, raw, status

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.timezone.utc)


def _trap(device: str):
    bodies = [status(device, ts=NOW - dt.timedelta(seconds=1), passenger=1, door=1, door_zone=2, floor=4),
              msg(device, "event", {"code": "90"}, ts=NOW)]
    process_batch([raw(b, received_at=NOW) for b in bodies], now=NOW)
    return Alarm.objects.get(type=AlarmType.ENTRAPMENT, device__device_id=device)


def test_entrapment_alarm_opens_a_case_through_the_registered_flow(world):
    from liftsafe.emergency.flows import intake_entrapment_alarm

    assert flows.registry.handlers("monitoring.entrapment_alarm") == [intake_entrapment_alarm]
    services.bind_device(world.elevators["a1"], "FLOW-A1")
    a = _trap("FLOW-A1")
    case = EmergencyCase.objects.get(elevator=world.elevators["a1"])
    assert a.case_id == case.pk and case.channel == "iot" and case.car_position == "4" and a.case_error == ""


def test_missing_handler_is_logged_recorded_and_retried_not_dropped(world, monkeypatch, caplog):
    flow = flows.registry._flows["monitoring.entrapment_alarm"]
    services.bind_device(world.elevators["a1"], "FLOW-A2")
    with monkeypatch.context() as m:
        m.setattr(flow, "handlers", [])  # the emergency app failed to register (the old ImportError case)
        with caplog.at_level(logging.ERROR, logger="liftsafe.monitoring"):
            a = _trap("FLOW-A2")
    assert a.case_id is None and a.case_error.startswith("FlowNotConnected")
    assert any("FlowNotConnected" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert not EmergencyCase.objects.exists()
    assert services.retry_case_links() == 1  # handler back: the periodic job opens the case
    a.refresh_from_db()
    assert a.case_id == EmergencyCase.objects.get().pk and a.case_error == ""
