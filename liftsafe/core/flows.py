"""Cross-app flows: named events whose handlers are registered once, at start-up.

A domain app that must make another app react (an IoT entrapment alarm opens an
emergency case; later: a closed case feeds the risk score) does not import that
app, nor guard an optional import, nor expose a module variable for others to
overwrite. It *declares* a named flow and *calls* it explicitly from its
service; the reacting app *registers* its handler in ``AppConfig.ready``:

    # monitoring/apps.py (the emitter)            # emergency/apps.py (the handler)
    flows.declare("monitoring.entrapment_alarm",  flows.register("monitoring.entrapment_alarm",
                  required=True, doc="...")                        intake_entrapment_alarm)

    # monitoring/services.py
    case_id = flows.call("monitoring.entrapment_alarm", elevator=..., ...)

Rules (checked, never silently ignored):

- a flow declared ``required=True`` with no handler is a Django system-check
  error (``liftsafe.E101``), so ``manage.py check``, ``migrate``, ``runserver``,
  ``liftsafe serve`` and ``liftsafe worker`` refuse to start; calling it raises
  :class:`FlowNotConnected`;
- a handler registered for a flow nobody declared is an error too
  (``liftsafe.E102``: a typo would otherwise never be called);
- :func:`call` is for flows with exactly one handler and returns its result;
  :func:`send` calls every handler in registration order and returns their results;
- registration is only possible while the apps load (before
  ``django.apps.apps.ready``); afterwards the table is fixed.

No Django signals carry business rules: a flow runs in the caller's
transaction, in the caller's thread, and its exceptions reach the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from django.core import checks


class FlowNotConnected(RuntimeError):
    """A flow was called but no handler is registered for it (a start-up wiring error)."""


@dataclass
class Flow:
    """One declared flow: its name (``<emitting app>.<event>``), whether a handler is required, its contract."""

    name: str
    required: bool = False
    doc: str = ""
    handlers: list[Callable[..., Any]] = field(default_factory=list)
    declared: bool = False


class FlowRegistry:
    """The table of flows. The module-level :data:`registry` is the one the project uses;
    tests build their own instance to check the rules without touching it."""

    def __init__(self, *, frozen: Callable[[], bool] | None = None):
        self._flows: dict[str, Flow] = {}
        self._frozen = frozen or (lambda: False)

    def _flow(self, name: str) -> Flow:
        if name not in self._flows:
            self._flows[name] = Flow(name)
        return self._flows[name]

    def declare(self, name: str, *, required: bool = False, doc: str = "") -> None:
        """Declare flow ``name`` (by the emitting app, in its ``ready``). Idempotent."""
        self._check_open(name)
        f = self._flow(name)
        f.declared, f.required, f.doc = True, f.required or required, doc or f.doc

    def register(self, name: str, handler: Callable[..., Any]) -> None:
        """Register ``handler`` for flow ``name`` (by the reacting app, in its ``ready``).

        Registering the same function twice is a no-op (``ready`` may run twice in tests)."""
        self._check_open(name)
        f = self._flow(name)
        if handler not in f.handlers:
            f.handlers.append(handler)

    def _check_open(self, name: str) -> None:
        if self._frozen():
            raise RuntimeError(f"flow {name!r}: flows are declared and registered in AppConfig.ready only")

    def handlers(self, name: str) -> list[Callable[..., Any]]:
        """The handlers registered for ``name`` (a copy)."""
        f = self._flows.get(name)
        return list(f.handlers) if f else []

    def call(self, name: str, /, **kwargs: Any) -> Any:
        """Call the single handler of ``name`` with ``kwargs`` and return its result.

        Raises:
            FlowNotConnected: no handler (or more than one) is registered.
            Whatever the handler raises.
        """
        hs = self.handlers(name)
        if len(hs) != 1:
            raise FlowNotConnected(f"flow {name!r} has {len(hs)} handlers; call() needs exactly one")
        return hs[0](**kwargs)

    def send(self, name: str, /, **kwargs: Any) -> list[Any]:
        """Call every handler of ``name`` in registration order; returns their results.

        Raises:
            FlowNotConnected: the flow is required and has no handler.
        """
        f = self._flows.get(name)
        if f is None or not f.declared:
            raise FlowNotConnected(f"flow {name!r} is not declared")
        if f.required and not f.handlers:
            raise FlowNotConnected(f"required flow {name!r} has no handler")
        return [h(**kwargs) for h in list(f.handlers)]

    def check(self) -> list[checks.CheckMessage]:
        """System-check messages for the table: required flows without a handler, handlers of undeclared flows."""
        out: list[checks.CheckMessage] = []
        for f in self._flows.values():
            if f.declared and f.required and not f.handlers:
                out.append(checks.Error(f"Required flow {f.name!r} has no handler registered.",
                                        hint="Register one in the reacting app's AppConfig.ready "
                                             "(liftsafe.core.flows.register) and make sure the app is installed.",
                                        obj=f.name, id="liftsafe.E101"))
            if not f.declared and f.handlers:
                out.append(checks.Error(f"Handler registered for undeclared flow {f.name!r}.",
                                        hint="The emitting app declares the flow (liftsafe.core.flows.declare).",
                                        obj=f.name, id="liftsafe.E102"))
        return out


def _apps_ready() -> bool:
    from django.apps import apps

    return apps.ready


#: The project's flow table (fixed once the apps are loaded).
registry = FlowRegistry(frozen=_apps_ready)
declare = registry.declare
register = registry.register
call = registry.call
send = registry.send


@checks.register()
def check_flows(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Django system check: every required flow has a handler (``liftsafe.E101``), no handler is orphaned (``E102``)."""
    return registry.check()
