"""Registry of periodic (scheduled) jobs; each app declares its own in ``<app>/tasks.py``.

Usage in an app's tasks.py::

    from liftsafe.core.tasks import periodic

    @periodic(seconds=15)
    def escalate_late_cases() -> int:
        ...  # idempotent: safe to run twice, or in two workers at once

Jobs must be idempotent and derive their state from stored timestamps, so a
restart loses nothing and two workers running the same job do no harm
(use ``select_for_update(skip_locked=True)`` or conditional updates).
``demo_only`` jobs (live demo traffic) run only when the worker is started by
``liftsafe demo`` (``LIFTSAFE_DEMO=1``). The runner is ``liftsafe worker``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from django.apps import apps


@dataclass(frozen=True)
class PeriodicJob:
    """A registered job: ``func()`` every ``seconds`` seconds."""

    name: str
    func: Callable[[], object]
    seconds: float
    demo_only: bool = False


_REGISTRY: dict[str, PeriodicJob] = {}


def periodic(seconds: float, *, name: str | None = None, demo_only: bool = False):
    """Decorator: register a zero-argument function to run every ``seconds`` seconds."""

    def wrap(func):
        job_name = name or f"{func.__module__}.{func.__qualname__}"
        _REGISTRY[job_name] = PeriodicJob(job_name, func, float(seconds), demo_only)
        return func

    return wrap


def discover() -> list[PeriodicJob]:
    """Import every installed liftsafe app's ``tasks`` module and return all registered jobs."""
    for cfg in apps.get_app_configs():
        if cfg.name.startswith("liftsafe."):
            try:
                importlib.import_module(f"{cfg.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{cfg.name}.tasks":
                    raise
    return sorted(_REGISTRY.values(), key=lambda j: j.name)


@periodic(seconds=5, name="core.deliver_notifications")
def deliver_notifications() -> int:
    """Deliver due outbox notifications (see :func:`liftsafe.core.notifications.deliver_due`)."""
    from .notifications import deliver_due

    return deliver_due()
