"""Insurance facts other apps use (one definition each): whether a lift is insured on a day, and the
trapped-passenger compensation band of an entrapment (docs/domain §11, §15.7).

- :func:`in_force` / :func:`in_force_q`: a policy is in force on day ``d`` iff ``start_date <= d <= end_date``
  (both inclusive, the policy's own dates). "One party insures, several benefit" (docs/domain §11): a lift is
  insured when ANY policy covering it is in force, whoever holds it.
- :func:`bands` / :func:`band_for` / :func:`compensation`: the configurable table ``insurance_trapped_bands``
  (liftsafe/rules.py; Shandong 2019 minimums by default). Edge rules, explicit: the FIRST band includes its lower
  edge (trapped exactly 30 min → ¥200); every band includes its upper edge ``to_s`` (exactly 1 h → ¥200) and the
  next band starts just above it (1 h + 1 s → ¥300); ``to_s`` None = no upper edge. Below the first band: no
  compensation (None). The trapped duration itself is :func:`liftsafe.emergency.domain.trapped_duration_s`,
  never restated here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from liftsafe.rules import rule


# --------------------------------------------------------------------------- policies in force
def in_force_q(on: dt.date, prefix: str = "") -> Q:
    """Policies (``prefix`` = path to a Policy, e.g. ``"insurance_policies__"`` from Elevator) in force on ``on``."""
    return Q(**{f"{prefix}start_date__lte": on, f"{prefix}end_date__gte": on})


def in_force(elevator_ids: Iterable[int], on: dt.date | None = None) -> set[int]:
    """The subset of ``elevator_ids`` covered by at least one policy in force on ``on`` (default: today, in the
    server's time zone). Unscoped: a fact for other apps (on-demand maintenance eligibility, risk factors, the
    public page), not a list for a user."""
    from django.utils import timezone

    from .models import Policy

    on = on or timezone.localdate()
    ids = list({int(i) for i in elevator_ids})
    if not ids:
        return set()
    through = Policy.elevators.through
    return set(through.objects.filter(elevator_id__in=ids).filter(in_force_q(on, "policy__"))
               .values_list("elevator_id", flat=True).distinct())


# --------------------------------------------------------------------------- compensation bands
@dataclass(frozen=True)
class Band:
    """One row of the band table: trapped more than ``from_s`` (or exactly ``from_s`` for the first band) and at
    most ``to_s`` seconds (None = no upper edge) → at least ``yuan_per_person``."""

    key: str
    from_s: int
    to_s: int | None
    yuan_per_person: Decimal
    first: bool = False

    @property
    def label(self) -> str:
        """The band in minutes with its edges, e.g. ``"≥ 30 – ≤ 60 min"``, ``"> 60 – ≤ 90 min"``, ``"> 120 min"``."""
        lo = f"{'≥' if self.first else '>'} {self.from_s / 60:g}"
        return f"{lo} – ≤ {self.to_s / 60:g} min" if self.to_s is not None else f"{lo} min"

    def contains(self, seconds: float) -> bool:
        above = seconds >= self.from_s if self.first else seconds > self.from_s
        return above and (self.to_s is None or seconds <= self.to_s)


def bands(table: list[dict] | None = None) -> list[Band]:
    """The band table (``table`` or the rule ``insurance_trapped_bands``), validated: sorted, contiguous (each
    band starts where the previous ends), positive amounts, only the last open-ended.

    Raises:
        ImproperlyConfigured: a malformed table (a deployment's override must not silently mis-pay)."""
    raw = rule("insurance_trapped_bands") if table is None else table
    try:
        rows = sorted(raw, key=lambda r: r["from_s"])
        out = [Band(str(r["key"]), int(r["from_s"]), None if r.get("to_s") is None else int(r["to_s"]),
                    Decimal(str(r["yuan_per_person"])), first=(i == 0)) for i, r in enumerate(rows)]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ImproperlyConfigured(f"insurance_trapped_bands: {exc!r}") from None
    for i, b in enumerate(out):
        if b.yuan_per_person < 0 or b.from_s < 0 or (b.to_s is not None and b.to_s <= b.from_s):
            raise ImproperlyConfigured(f"insurance_trapped_bands: band {b.key!r} is empty or negative")
        if i + 1 < len(out) and b.to_s != out[i + 1].from_s:
            raise ImproperlyConfigured(f"insurance_trapped_bands: band {b.key!r} does not end where the next begins")
        if b.to_s is None and i + 1 < len(out):
            raise ImproperlyConfigured(f"insurance_trapped_bands: only the last band may be open-ended ({b.key!r})")
    return out


def min_claimable_s(table: list[dict] | None = None) -> int | None:
    """The shortest trapped duration that earns compensation (the first band's lower edge), None if no bands."""
    bs = bands(table)
    return bs[0].from_s if bs else None


def band_for(seconds: float | None, table: list[dict] | None = None) -> Band | None:
    """The band of a trapped duration in seconds (None below the first band, or for an unknown duration)."""
    if seconds is None:
        return None
    for b in bands(table):
        if b.contains(seconds):
            return b
    return None


@dataclass(frozen=True)
class Compensation:
    """A suggested compensation: the band, per person, and the total (None when the number of people is unknown)."""

    band: Band
    persons: int | None
    yuan_per_person: Decimal
    total: Decimal | None


def compensation(seconds: float | None, persons: int | None, table: list[dict] | None = None) -> Compensation | None:
    """The minimum compensation for ``persons`` people trapped ``seconds`` (docs/domain §15.7), or None when the
    duration is below the first band or unknown. ``persons`` None or 0 → total None (the case does not say how
    many people were trapped; the insurer states it when filing — never guessed)."""
    b = band_for(seconds, table)
    if b is None:
        return None
    n = persons if persons and persons > 0 else None
    return Compensation(b, n, b.yuan_per_person, None if n is None else b.yuan_per_person * n)
