"""Platform notes stored as a kind and parameters, shown in the reader's language (issue 16, "Mixed language").

A note the platform writes (an audit reason, a lifecycle event's note, a milestone note) is stored as data, never
as an English or bilingual sentence:

- a *kind*, a stable code ``"<app>.<name>"`` (e.g. ``"hazards.stop_use_ordered"``), and
- *parameters*, a JSON object of named values (ids, codes, choice values, operator-typed text).

Each app declares its kinds in its own ``<app>/messages.py`` (found at first use through Django's
``autodiscover_modules("messages")``; core imports no domain app)::

    from django.utils.translation import gettext_lazy as _l
    from liftsafe.core.messages import register

    register("hazards.stop_use_ordered", _l("stop-use ordered by hazard #%(hazard)s: %(reason)s"),
             legacy=r"^责令停用 hazard #(?P<hazard>\\d+): (?P<reason>.*)$")

Where a single text column holds the note (simple-history's ``history_change_reason``, 100 characters) it is
stored encoded, ``@<kind>`` or ``@<kind> <json>`` (:func:`encode`; :func:`fit` shortens the longest text
parameter, never cuts the JSON). Models with room keep ``kind`` and ``params`` in their own fields and call
:func:`render_kind`.

Reading goes through ONE helper, :func:`render` (or :func:`render_kind`): the kind's template in the active
language with its parameters (each optionally shown through the kind's ``show`` callable, e.g. a choice label).
Old rows written before this module held sentences: a kind's ``legacy`` regex (named groups = parameters)
recognises them and they are translated too; any other text (an operator's own words) is shown as it is.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

PREFIX = "@"
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_ENCODED = re.compile(r"^@([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(?: (\{.*\}))?$", re.S)


@dataclass
class Kind:
    code: str
    template: Any  # a gettext_lazy string with %(name)s placeholders
    legacy: list[re.Pattern] = field(default_factory=list)
    show: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


_KINDS: dict[str, Kind] = {}
_discovered = False


def register(code: str, template, *, legacy: str | list[str] | None = None,
             show: dict[str, Callable[[Any], Any]] | None = None) -> str:
    """Declare the kind ``code`` (``"<app>.<name>"``) with its translatable ``template`` (``%(param)s`` names);
    ``legacy``: regex(es) with named groups recognising the sentence older versions stored; ``show``: param →
    callable giving its display value (a translated choice label). Returns ``code``. Raises ``ValueError`` for a
    malformed code or a second, different registration."""
    if not KIND_RE.match(code):
        raise ValueError(f"message kind {code!r} is not '<app>.<name>'")
    pats = [legacy] if isinstance(legacy, str) else list(legacy or [])
    k = Kind(code, template, [re.compile(p, re.S) for p in pats], dict(show or {}))
    if code in _KINDS and _KINDS[code].template != template:
        raise ValueError(f"message kind {code!r} registered twice")
    _KINDS[code] = k
    return code


def _discover() -> None:
    global _discovered
    if not _discovered:
        _discovered = True
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("messages")


def registered_kinds() -> dict[str, Kind]:
    """All declared kinds (after importing every app's ``messages`` module)."""
    _discover()
    return dict(_KINDS)


def encode(code: str, **params) -> str:
    """The one-column form of a note: ``"@code"`` or ``'@code {"param": value}'`` (JSON, non-ASCII kept)."""
    if not KIND_RE.match(code):
        raise ValueError(f"message kind {code!r} is not '<app>.<name>'")
    if not params:
        return PREFIX + code
    return f"{PREFIX}{code} {json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)}"


def decode(text) -> tuple[str, dict] | None:
    """``(kind, params)`` of an encoded note; None for any other text."""
    if not text or not isinstance(text, str) or not text.startswith(PREFIX):
        return None
    m = _ENCODED.match(text)
    if not m:
        return None
    try:
        params = json.loads(m.group(2)) if m.group(2) else {}
    except ValueError:
        return None
    return (m.group(1), params) if isinstance(params, dict) else None


def fit(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: an encoded note stays valid JSON (its longest text parameter is
    shortened, ending with "…"); any other text is cut."""
    text = str(text)
    if len(text) <= limit:
        return text
    parsed = decode(text)
    if parsed is None:
        return text[:limit]
    code, params = parsed
    while True:
        strings = [k for k, v in params.items() if isinstance(v, str) and v]
        if not strings:
            return encode(code)[:limit]
        longest = max(strings, key=lambda k: len(params[k]))
        over = len(encode(code, **params)) - limit
        if over <= 0:
            return encode(code, **params)
        v = params[longest]
        params[longest] = v[: max(0, len(v) - over - 1)] + "…" if len(v) > over + 1 else ""


def render_kind(code: str, params: dict | None = None, fallback: str = "") -> str:
    """The note ``code`` with ``params`` in the active language; ``fallback`` (or the code) for an unknown kind."""
    _discover()
    k = _KINDS.get(code)
    if k is None:
        return fallback or code
    values = {}
    for name, value in (params or {}).items():
        shown = k.show.get(name)
        try:
            values[name] = shown(value) if shown else value
        except Exception:  # noqa: BLE001 - an old value no longer in the choices: show it raw
            values[name] = value
        if values[name] is None:
            values[name] = "—"
    try:
        return str(k.template) % values
    except (KeyError, TypeError, ValueError):  # a parameter missing in an old row: the template without values
        return str(k.template)


def parse(text) -> tuple[str, dict] | None:
    """``(kind, params)`` of ``text``: encoded, or an old sentence a kind's ``legacy`` regex recognises; else None."""
    parsed = decode(text)
    if parsed is not None:
        return parsed
    if not text or not isinstance(text, str):
        return None
    _discover()
    for k in _KINDS.values():
        for rx in k.legacy:
            m = rx.match(text)
            if m:
                return k.code, {n: v for n, v in m.groupdict().items()}
    return None


def render(text) -> str:
    """Display text of a stored note in the active language: an encoded note or a recognised old sentence is
    translated (:func:`render_kind`); any other text (typed by a person) is returned unchanged; "" for empty."""
    if not text:
        return ""
    parsed = parse(text)
    if parsed is None:
        return str(text)
    return render_kind(parsed[0], parsed[1], fallback=str(text))


# --- generic audit reasons any app may store (short codes older versions stored as they are) -------------------
def _register_core_kinds() -> None:
    from django.utils.translation import gettext_lazy as _l

    register("core.created", _l("created"), legacy=r"^created$")
    register("core.updated", _l("updated"), legacy=r"^(updated|changed)$")
    register("core.deleted", _l("deleted"), legacy=r"^deleted$")
    register("core.via_api", _l("changed through the API"), legacy=r"^API$")
    register("core.via_admin", _l("changed in the admin site"), legacy=r"^admin$")


_register_core_kinds()
