"""The start-up flow table (liftsafe.core.flows): declared flows, one registration, loud failures."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from liftsafe.core import flows
from liftsafe.core.flows import FlowNotConnected, FlowRegistry


def test_required_flow_without_handler_is_a_system_check_error_and_a_loud_call():
    reg = FlowRegistry()
    reg.declare("a.happened", required=True)
    msgs = reg.check()
    assert [m.id for m in msgs] == ["liftsafe.E101"] and "a.happened" in msgs[0].msg
    with pytest.raises(FlowNotConnected):
        reg.call("a.happened", x=1)
    with pytest.raises(FlowNotConnected):
        reg.send("a.happened", x=1)
    seen = []
    reg.register("a.happened", lambda **kw: seen.append(kw) or "done")
    reg.register("a.happened", reg.handlers("a.happened")[0])  # same function twice: one registration
    assert reg.check() == []
    assert reg.call("a.happened", x=1) == "done" and seen == [{"x": 1}]
    assert reg.send("a.happened", x=2) == ["done"]


def test_handler_of_an_undeclared_flow_is_an_error():
    reg = FlowRegistry()
    reg.register("typo.flow", lambda **kw: None)
    assert [m.id for m in reg.check()] == ["liftsafe.E102"]


def test_the_table_is_fixed_once_apps_are_loaded():
    with pytest.raises(RuntimeError):
        flows.register("monitoring.entrapment_alarm", lambda **kw: None)
    with pytest.raises(RuntimeError):
        flows.declare("late.flow", required=True)


def test_project_wiring_passes_the_check_and_fails_without_the_handler(monkeypatch):
    call_command("check")  # every required flow of the installed apps has its handler
    flow = flows.registry._flows["monitoring.entrapment_alarm"]
    assert flow.required and len(flow.handlers) == 1
    monkeypatch.setattr(flow, "handlers", [])  # as if the handling app were missing or failed to load
    from django.core.management.base import SystemCheckError

    with pytest.raises(SystemCheckError, match="liftsafe.E101"):
        call_command("check")
