"""Adapters: one per receiver format. Each maps our records to the receiver's rows, encodes a batch
as an HTTP body, and reads the receiver's reply into per-record results.

Registry: :data:`ADAPTERS` (key → adapter instance); :func:`get_adapter` raises ``KeyError`` for an
unknown key. See docs/exchange.md for the wire contracts.
"""
from __future__ import annotations

from .base import Adapter, Reply
from .national import NationalAdapter
from .provincial_csv import ProvincialCsvAdapter

ADAPTERS: dict[str, Adapter] = {a.key: a for a in (NationalAdapter(), ProvincialCsvAdapter())}


def get_adapter(key: str) -> Adapter:
    """The adapter registered as ``key``.

    Raises:
        KeyError: unknown adapter key.
    """
    return ADAPTERS[key]


def adapter_choices() -> list[tuple[str, str]]:
    return [(k, str(a.label)) for k, a in ADAPTERS.items()]


__all__ = ["Adapter", "Reply", "ADAPTERS", "get_adapter", "adapter_choices"]
