"""The T5002 item catalogue, shipped as data (``data/catalogue.json``) plus a deployment's local items.

Source: TSG T5002-2017 annexes A–D (docs/domain §5). The JSON file carries its own source note.
Shape of one item (:class:`Item`): ``code`` ("A-1-05": annex, tier number 1–4, position),
``annex`` A–D, ``tier`` (``half_monthly`` … ``yearly``), ``location`` (machine_room, car_top, car,
landing_doors, pit; ``unspecified`` where the text is not known), ``text``, ``unit`` of a measurement
(``mm`` …) or "", ``min``/``max`` limits or None, ``optional`` ("skip if the lift lacks it",
T5002 annex notes), ``months`` (seasonal items: only due in those months; empty = always),
``text_missing`` (True: the public text was not found, the item is known by code and tier only).

Tiers are nested (docs/domain §5): a quarterly visit covers the half-monthly items too, and so on.
Where the file lists fewer texts than the counts of docs/domain §5, the missing ones are filled in as
``text_missing`` items so that every tier still has its full count; :func:`missing` lists them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

TIERS = ("half_monthly", "quarterly", "half_yearly", "yearly")
LOCATIONS = ("machine_room", "car_top", "car", "landing_doors", "pit", "unspecified")
_PATH = Path(__file__).with_name("data") / "catalogue.json"


@dataclass(frozen=True)
class Item:
    code: str
    annex: str
    tier: str
    location: str
    text: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    optional: bool = False
    months: tuple[int, ...] = field(default_factory=tuple)
    text_missing: bool = False
    local: bool = False


@lru_cache(maxsize=1)
def raw() -> dict:
    """The shipped JSON (parsed once)."""
    return json.loads(_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shipped_items() -> tuple[Item, ...]:
    """Every shipped item of every annex and tier, with ``text_missing`` placeholders up to the counts."""
    data = raw()
    known = {i["code"]: i for i in data["items"]}
    out: list[Item] = []
    for annex, spec in data["annexes"].items():
        for n, tier in enumerate(TIERS, start=1):
            for pos in range(1, spec["counts"][tier] + 1):
                code = f"{annex}-{n}-{pos:02d}"
                i = known.get(code)
                if i is None:
                    out.append(Item(code, annex, tier, "unspecified", "", text_missing=True))
                else:
                    out.append(Item(code, annex, tier, i["location"], i["text"], i.get("unit", ""), i.get("min"), i.get("max"),
                                    bool(i.get("optional")), tuple(i.get("months", ())), False))
    return tuple(out)


def annex_for_category(category: str) -> str | None:
    """Annex A–D of an equipment category code (docs/domain §1.1, §5), or None if none applies."""
    for annex, spec in raw()["annexes"].items():
        if category in spec["categories"]:
            return annex
    return None


def items_for(annex: str, tier: str, *, month: int | None = None) -> list[Item]:
    """Items of ``annex`` for a visit of ``tier``: the tier's own and every lower tier's (nested), plus local items.

    ``month`` (1–12) leaves out seasonal items outside their months.
    """
    depth = TIERS.index(tier)
    items = [i for i in shipped_items() + local_items() if i.annex == annex and TIERS.index(i.tier) <= depth]
    if month is not None:
        items = [i for i in items if not i.months or month in i.months]
    return items


def item_map(annex: str, tier: str) -> dict[str, Item]:
    return {i.code: i for i in items_for(annex, tier)}


def local_items() -> tuple[Item, ...]:
    """A deployment's own items (``maintenance.LocalItem`` rows, active ones)."""
    from .models import LocalItem

    return tuple(Item(li.code, li.annex, li.tier, li.location, li.text, li.unit, li.min_value, li.max_value,
                      li.optional, tuple(li.months or ()), False, True) for li in LocalItem.objects.filter(active=True))


def counts(annex: str) -> dict[str, int]:
    """Cumulative item counts per tier for ``annex`` (shipped items only), e.g. A: 31/44/59/76."""
    out, total = {}, 0
    for tier in TIERS:
        total += raw()["annexes"][annex]["counts"][tier]
        out[tier] = total
    return out


def missing() -> list[str]:
    """Codes of shipped items whose text was not found in public sources."""
    return [i.code for i in shipped_items() if i.text_missing]
