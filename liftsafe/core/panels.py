"""Sections of the elevator file (一梯一档), each contributed by the app that owns its facts.

The elevator file gathers everything known about one lift: identity, organisations, 96333 cases,
IoT device, maintenance, inspection, hazards, risk, insurance, public reports, documents … Each
section is *owned* by one domain app, which registers it here in its ``AppConfig.ready``; the page
that renders the file (and its PDF dossier and exports) iterates over the table and never imports
the apps. An app that is not installed simply has no section — no optional imports, no guards.

    # risk/apps.py
    from liftsafe.core import panels
    panels.register(panels.Panel(
        key="risk", title=_("Risk grade"), order=40,
        template="risk/panel.html",          # rendered with {"elevator": ..., "panel": ..., **context}
        context=risk_panel_context,          # (user, elevator) -> dict | None
    ))

Contract of ``context(user, elevator)``:

- reads through the owning app's **scoped selectors** for ``user`` (the page has already checked
  that ``user`` may see ``elevator``; a section may still narrow further, e.g. worker locations);
- returns a ``dict`` for the template, or ``None`` when the user may not see this section at all
  (the section is then left out, not shown empty);
- an empty history is a dict saying so (``{"rows": []}``), not ``None``;
- optional ``export(user, elevator) -> (headers, rows)`` gives the section's CSV/XLSX rows.

Registration is only possible while apps load (like :mod:`liftsafe.core.flows`); keys are unique.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Context = Callable[[Any, Any], "dict | None"]
Export = Callable[[Any, Any], "tuple[list[str], list[list]]"]


@dataclass(frozen=True)
class Panel:
    """One section of the elevator file.

    Attributes:
        key: unique slug, also the section's anchor (``#risk``) and export name.
        title: translated title (lazy).
        order: position on the page (lower first; identity 0–9, organisations 10–19, …).
        template: template rendered with ``{"elevator", "panel", **context}``.
        context: ``(user, elevator) -> dict | None`` (see the module docstring).
        export: optional ``(user, elevator) -> (headers, rows)`` for CSV/XLSX.
    """

    key: str
    title: Any
    order: int
    template: str
    context: Context
    export: Export | None = None


_PANELS: dict[str, Panel] = {}


def _apps_ready() -> bool:
    from django.apps import apps

    return apps.ready


def register(panel: Panel) -> None:
    """Register ``panel`` (in ``AppConfig.ready``). Re-registering the same key with an equal panel is a
    no-op (``ready`` may run twice in tests); a different panel under a taken key raises ``ValueError``."""
    if _apps_ready():
        raise RuntimeError(f"panel {panel.key!r}: panels are registered in AppConfig.ready only")
    old = _PANELS.get(panel.key)
    if old is not None and old != panel:
        raise ValueError(f"elevator-file panel key {panel.key!r} is already registered by {old.template}")
    _PANELS[panel.key] = panel


def panels() -> list[Panel]:
    """Every registered panel, in page order."""
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.key))


def get(key: str) -> Panel | None:
    """The panel registered under ``key``, or ``None``."""
    return _PANELS.get(key)


def contexts(user, elevator) -> list[tuple[Panel, dict]]:
    """``[(panel, context)]`` of the panels ``user`` may see for ``elevator``, in page order."""
    out = []
    for p in panels():
        ctx = p.context(user, elevator)
        if ctx is not None:
            out.append((p, ctx))
    return out
