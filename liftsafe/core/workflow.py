"""Workflows declared once: a state machine as a table (issue 10, "Workflows declared once").

A :class:`Workflow` is a list of :class:`Transition` s — name, the states it may start from, the state it
leads to (``None``: the state is unchanged, e.g. listing a hazard for supervision) and the permission action
of :mod:`liftsafe.core.permissions` that a user needs. The same table is used

- by services to check a transition (:meth:`Workflow.check` raises ``ValidationError({"state": ...})``);
- by pages and API routes to dispatch: the transition's ``name`` is the URL / payload action name of both;
- by templates to show only what the user may do *now* (:meth:`Workflow.available`: state AND permission).

Example (hazards/workflow.py)::

    HAZARD_FLOW = Workflow("hazard", State, [
        Transition("accept", {State.LEAD}, State.OPEN, "hazard.accept", _("accept")),
        ...
    ])
    t = HAZARD_FLOW.check("accept", hazard.state)      # in the service
    hazard.state = t.target
    HAZARD_FLOW.available(user, hazard)                 # in the view → the forms to render

To add a state or a transition: add it to the app's table (and the permission action to
``core/permissions.py``); services, page and API follow.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _

from . import permissions


@dataclass(frozen=True)
class Transition:
    """One transition: ``name`` (the action name of page and API), ``sources`` (states it may start from),
    ``target`` (state after it, None = unchanged), ``permission`` (an action of
    :data:`liftsafe.core.permissions.ACTIONS`), ``verb`` (translatable, for "Cannot <verb> a … that is <state>")."""

    name: str
    sources: frozenset[str]
    target: str | None
    permission: str
    verb: str = ""

    def __init__(self, name: str, sources: Iterable[str], target: str | None, permission: str, verb: str = ""):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "sources", frozenset(str(s) for s in sources))
        object.__setattr__(self, "target", None if target is None else str(target))
        object.__setattr__(self, "permission", permission)
        object.__setattr__(self, "verb", verb or name)


@dataclass
class Workflow:
    """A named table of transitions over ``states`` (a Django ``TextChoices`` class or any iterable of values).

    ``refusal`` is the translatable message of a refused transition, with ``%(action)s`` (the verb) and
    ``%(state)s`` (the state's label), e.g. ``_("Cannot %(action)s a hazard that is %(state)s.")``."""

    name: str
    states: object
    transitions: list[Transition]
    refusal: str = ""
    _by_name: dict[str, Transition] = field(init=False, repr=False)

    def __post_init__(self):
        values = {str(getattr(s, "value", s)) for s in self.states}
        self._by_name = {}
        for t in self.transitions:
            if t.name in self._by_name:
                raise ImproperlyConfigured(f"workflow {self.name}: transition {t.name!r} declared twice")
            unknown = (t.sources | ({t.target} if t.target else set())) - values
            if unknown:
                raise ImproperlyConfigured(f"workflow {self.name}: transition {t.name!r} uses unknown states {sorted(unknown)}")
            if t.permission not in permissions.ACTIONS:
                raise ImproperlyConfigured(f"workflow {self.name}: transition {t.name!r} needs undeclared action {t.permission!r}")
            self._by_name[t.name] = t

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.transitions]

    def get(self, name: str) -> Transition:
        """The transition ``name`` (``ValidationError({"action": ...})`` for an unknown one)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ValidationError({"action": _("Unknown action %(a)r; expected one of %(all)s.") % {
                "a": name, "all": ", ".join(self.names)}}) from None

    def can(self, name: str, state: str) -> bool:
        """Whether transition ``name`` may start from ``state`` (the state part only)."""
        return str(state) in self.get(name).sources

    def check(self, name: str, state: str, *, state_label: str | None = None, extra_sources: Iterable[str] = ()) -> Transition:
        """Return transition ``name`` if it may start from ``state`` (or one of ``extra_sources``, for a rule that
        widens it case by case); else raise ``ValidationError({"state": refusal})`` naming the verb and the state's label."""
        t = self.get(name)
        if str(state) not in t.sources and str(state) not in {str(s) for s in extra_sources}:
            label = state_label or _state_label(self.states, state)
            text = str(self.refusal) if self.refusal else _("Cannot %(action)s now: the state is %(state)s.")
            raise ValidationError({"state": text % {"action": t.verb, "state": label}})
        return t

    def allowed(self, user, name: str, obj, state: str | None = None) -> bool:
        """State AND permission: whether ``user`` may take transition ``name`` on ``obj`` now."""
        t = self.get(name)
        st = obj.state if state is None else state
        return str(st) in t.sources and permissions.allowed(user, t.permission, obj)

    def available(self, user, obj, state: str | None = None) -> list[Transition]:
        """The transitions ``user`` may take on ``obj`` now (its ``state`` unless given), in table order."""
        st = str(obj.state if state is None else state)
        return [t for t in self.transitions if st in t.sources and permissions.allowed(user, t.permission, obj)]

    def available_names(self, user, obj, state: str | None = None) -> list[str]:
        return [t.name for t in self.available(user, obj, state)]

    def table(self) -> list[dict]:
        """The table as plain data (docs, API): ``[{name, sources, target, permission}]``."""
        return [{"name": t.name, "sources": sorted(t.sources), "target": t.target, "permission": t.permission}
                for t in self.transitions]


def _state_label(states, value) -> str:
    for s in states:
        if str(getattr(s, "value", s)) == str(value):
            return str(getattr(s, "label", value))
    return str(value)
