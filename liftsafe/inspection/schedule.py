"""The inspection schedule engine: PURE (no database, no Django models, no clock).

Inputs are dates and a :class:`Policy`; outputs are :class:`Occurrence` / :class:`ScheduleState`.
Sources (docs/domain §6 and §15.2 mirror shared docs/domain §6, §15.2; cited per rule below):

- **TSG T7001-2023** (docs/domain §6, §15.2 [S], P56): the base month is the month of the last
  supervision-inspection pass (installation or modification; a major repair that passed supervision
  inspection resets it); periodic inspection in years **1, 4, 7, 9, 11, 13, 15** after the base, then
  **every year**; **self-testing** (TSG T7008-2023) in the other years; the due date is the base
  month of that year (this module: the LAST day of that month).
- Early window (docs/domain §6 [V]): an inspection may be brought forward by up to **2 months**, a
  self-test by up to **1 month**, "without moving the next due date" (the schedule stays anchored).
- A lift stopped **≥ 1 year** is inspected before reuse; its schedule counts from that pass
  (docs/domain §6): the caller passes that pass as a new base (:func:`base_date`).
- Transition (docs/domain §15.2 [S]/[U]): anniversaries due before **2023-04-01** keep the legacy
  annual rule (TSG T7001-2009 … T7006: every year, docs/domain §6 "Legacy rule").
- Pilot variants (docs/domain §6 [V], P33): Shanxi 2020, lifts ≤ 6 years every 3 years, 6-15 years
  every 2 years, self-testing in the other years, > 15 years annual.
- New York City (comparator, docs/domain §12, §15.2): periodic inspection every 12 months (ASME
  A17.1 Category 1 cycle as adopted in US codes [V]); the exact NYC calendar-year rule is [U]; the
  schedule rolls from the last inspection, there is no base month and no self-testing.

Age ("years after the base") is the occurrence number ``k``: occurrence ``k`` is due at the end of
the base month of ``base.year + k``.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

INSPECTION = "inspection"
SELF_TEST = "self_test"

#: TSG T7001-2023's publication date: anniversaries before it keep the annual rule (docs/domain §15.2)
T7001_2023_TRANSITION = dt.date(2023, 4, 1)


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` moved by ``months`` calendar months, the day clamped to the target month's length."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def month_end(d: dt.date) -> dt.date:
    """The last day of ``d``'s month."""
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


@dataclass(frozen=True)
class Policy:
    """One inspection-cycle policy (a rule table keyed on age, category and local policy, docs/domain §6).

    Attributes:
        code: the key used in ``rules.inspection_policies``.
        label: English name (translated where shown).
        source: where the rule comes from.
        anchored: True = occurrences at the base month's anniversaries (T7001 style); False = rolling
            ``interval_months`` after the last passed inspection (NYC style).
        inspection_years: years after the base with a periodic inspection (anchored policies).
        annual_after_years: after this many years every year is an inspection year.
        band_rules: ``((max_age_years, every_n_years), …)``: inspection when ``k % n == 0`` inside the
            band (pilot variants such as Shanxi 2020); empty = use ``inspection_years``.
        self_testing: the other years are self-testing years (T7008-2023); False = no occurrence.
        early_inspection_months / early_self_test_months: how far an occurrence may be brought forward.
        transition: occurrences due before this date are annual inspections (legacy rule); None = none.
        interval_months: rolling policies: months between inspections.
        categories: category-code prefixes the policy applies to (empty = all).
    """

    code: str
    label: str
    source: str
    anchored: bool = True
    inspection_years: frozenset[int] = frozenset({1, 4, 7, 9, 11, 13, 15})
    annual_after_years: int = 15
    band_rules: tuple[tuple[int, int], ...] = ()
    self_testing: bool = True
    early_inspection_months: int = 2
    early_self_test_months: int = 1
    transition: dt.date | None = T7001_2023_TRANSITION
    interval_months: int = 12
    categories: tuple[str, ...] = field(default_factory=tuple)

    def kind_for(self, k: int, due: dt.date) -> str | None:
        """What occurrence ``k`` (years after the base, ≥ 1) due on ``due`` is: inspection, self-test or None."""
        if k < 1:
            raise ValueError("occurrences start at year 1 after the base")
        if self.transition is not None and due < self.transition:
            return INSPECTION  # legacy annual rule (docs/domain §6 legacy; §15.2 transition)
        if k > self.annual_after_years:
            return INSPECTION  # over 15 years: every year (docs/domain §6, §15.2)
        if self.band_rules:
            for max_age, every in self.band_rules:
                if k <= max_age:
                    return INSPECTION if k % every == 0 else (SELF_TEST if self.self_testing else None)
            return INSPECTION
        if k in self.inspection_years:
            return INSPECTION
        return SELF_TEST if self.self_testing else None

    def early_months(self, kind: str) -> int:
        return self.early_inspection_months if kind == INSPECTION else self.early_self_test_months


T7001_2023 = Policy(
    code="t7001_2023", label="TSG T7001-2023 (national)",
    source="docs/domain §6, §15.2: TSG T7001-2023 / T7008-2023, years 1,4,7,9,11,13,15 then annual; self-test otherwise")
LEGACY_ANNUAL = Policy(
    code="legacy_annual", label="TSG T7001-2009 (annual, before 2023)", inspection_years=frozenset(), annual_after_years=0,
    self_testing=False, transition=None, early_self_test_months=0,
    source="docs/domain §6 legacy rule: TSG T7001-T7006 (2009-2012), periodic inspection every year [V]")
SHANXI_2020 = Policy(
    code="shanxi_2020_pilot", label="Shanxi 2020 pilot", band_rules=((6, 3), (15, 2)), transition=None,
    source="docs/domain §6 pilot-era variant [V] (P33): ≤ 6 years every 3 years, 6-15 years every 2 years, "
           "self-testing in the other years, > 15 years annual; band edges read as years after the base [U]")
NYC_ANNUAL = Policy(
    code="nyc_annual", label="New York City (annual)", anchored=False, self_testing=False, transition=None,
    interval_months=12, early_inspection_months=0, early_self_test_months=0,
    source="docs/domain §12 (ASME A17.1 Category 1 every 12 months, as adopted in US codes) and §15.2 (NYC "
           "comparator); NYC's calendar-year rule itself is [U]: rolling 12 months from the last inspection")

POLICIES: dict[str, Policy] = {p.code: p for p in (T7001_2023, LEGACY_ANNUAL, SHANXI_2020, NYC_ANNUAL)}


def select_policy(area_code: str, category: str = "", table: dict[str, str] | None = None) -> Policy:
    """The policy for an elevator in area ``area_code`` (e.g. ``CN-14-01``, ``US-NY-NYC-MN``).

    ``table`` maps an area-code prefix to a policy code (the LONGEST matching prefix wins; ``"*"`` is
    the default), e.g. ``{"*": "t7001_2023", "US": "nyc_annual"}``; a policy whose ``categories`` do
    not match ``category`` is skipped (falls back to the next shorter prefix).

    Raises:
        KeyError: a table names an unknown policy code.
    """
    table = table or {"*": T7001_2023.code}
    candidates = sorted((p for p in table if p == "*" or area_code == p or area_code.startswith(p + "-")),
                        key=lambda p: -1 if p == "*" else len(p), reverse=True)
    for prefix in candidates:
        policy = POLICIES[table[prefix]]
        if not policy.categories or any(category.startswith(c) for c in policy.categories):
            return policy
    return T7001_2023


def base_date(*passes: dt.date | None) -> dt.date | None:
    """The schedule's base: the LATEST of the supervision-inspection passes (installation, modification,
    major repair; docs/domain §15.2) and inspections before reuse after a stop ≥ 1 year (docs/domain §6)."""
    dates = [d for d in passes if d is not None]
    return max(dates) if dates else None


def needs_inspection_before_reuse(stopped_on: dt.date, resume_on: dt.date) -> bool:
    """True when a lift stopped on ``stopped_on`` and resumed on ``resume_on`` was stopped ≥ 1 year
    (docs/domain §6: it is inspected before reuse and its schedule counts from that pass)."""
    return resume_on >= add_months(stopped_on, 12)


@dataclass(frozen=True)
class Occurrence:
    """Occurrence ``k`` of a schedule: ``kind`` due by ``due`` (inclusive), doable from ``window_start``."""

    k: int
    kind: str
    due: dt.date
    window_start: dt.date


def occurrence(policy: Policy, base: dt.date, k: int) -> Occurrence:
    """Occurrence ``k`` (≥ 1) of an anchored policy with base ``base``. Years without any occurrence
    (a policy with no self-testing) return kind None."""
    due = month_end(add_months(month_start(base), 12 * k))
    kind = policy.kind_for(k, due)
    early = policy.early_months(kind or INSPECTION)
    return Occurrence(k, kind, due, add_months(month_start(due), -early))


def plan(policy: Policy, base: dt.date, years: int) -> list[Occurrence]:
    """The first ``years`` occurrences after ``base`` (anchored policies; a rolling one gives
    ``interval_months`` steps from ``base``)."""
    if not policy.anchored:
        out = []
        for k in range(1, years + 1):
            due = add_months(base, policy.interval_months * k)
            out.append(Occurrence(k, INSPECTION, due, due))
        return out
    return [o for o in (occurrence(policy, base, k) for k in range(1, years + 1)) if o.kind]


@dataclass(frozen=True)
class Done:
    """A passed inspection or self-test on ``on`` (failed ones satisfy nothing)."""

    on: dt.date
    kind: str  # INSPECTION or SELF_TEST


@dataclass(frozen=True)
class ScheduleState:
    """Where a lift stands: the next occurrence, the last satisfied one, events that satisfied nothing."""

    next: Occurrence
    satisfied: int
    ignored: tuple[Done, ...] = ()


def state(policy: Policy, base: dt.date, done: Iterable[Done]) -> ScheduleState:
    """Walk the passed events ``done`` through the schedule from ``base``.

    Anchored policies: an event satisfies the next occurrence when it falls on/after that occurrence's
    ``window_start`` (brought forward within the allowed months, docs/domain §6) and its kind is strong
    enough (an inspection satisfies a self-test year, a self-test never an inspection year). A late
    event satisfies the LATEST occurrence whose window it is in (missed years are not owed twice). The
    next due date never moves because of an early event. Events before the base, or earlier than the
    window, satisfy nothing (``ignored``).

    Rolling policies (NYC): the next inspection is ``interval_months`` after the last passed inspection
    (or after ``base`` when there is none).
    """
    events = sorted(done, key=lambda e: e.on)
    if not policy.anchored:
        last = None
        for e in events:
            if e.kind == INSPECTION and e.on >= base:
                last = e.on
        start = last or base
        due = add_months(start, policy.interval_months)
        return ScheduleState(Occurrence(1, INSPECTION, due, due), 1 if last else 0)
    satisfied, ignored = 0, []
    for e in events:
        best = None
        k = satisfied + 1
        while e.on >= base and k <= satisfied + 200:
            occ = occurrence(policy, base, k)
            k += 1
            if occ.kind is None:
                continue
            if occ.window_start > e.on:
                break
            if e.kind == SELF_TEST and occ.kind == INSPECTION:
                break  # a self-test never stands in for an owed inspection
            best = occ
        if best is None:
            ignored.append(e)
        else:
            satisfied = best.k
    k = satisfied + 1
    while occurrence(policy, base, k).kind is None:
        k += 1
    return ScheduleState(occurrence(policy, base, k), satisfied, tuple(ignored))


def early_refusal(policy: Policy, base: dt.date, done: Iterable[Done], kind: str, on: dt.date) -> str | None:
    """Why an event of ``kind`` on ``on`` may not be recorded as the next occurrence, or None.

    A self-test more than ``early_self_test_months`` before its due month (docs/domain §6: ≤ 1 month
    early) is refused; an inspection more than 2 months early is allowed but counts as an extra
    inspection (returns None; it satisfies nothing).
    """
    if not policy.anchored or kind != SELF_TEST:
        return None
    nxt = state(policy, base, done).next
    if on < nxt.window_start:
        return "self_test_too_early"
    return None
