"""Elevator identification for the 96333 call-taker (docs/domain §3.3 step 1).

:func:`identify` turns what the caller reads out or describes into a ranked
list of candidate elevators, always inside the operator's scope
(:func:`liftsafe.registry.selectors.elevators_for`):

1. **Exact code hits first.** Rescue code (救援识别码), 注册代码, 设备代码,
   使用登记证编号 (full-width and half-width brackets alike) and the source
   registry's device number. A hit is returned alone.
2. **Near codes.** A code-like query with no exact hit is tried with one digit
   changed or two neighbouring digits swapped (the usual misreadings of a
   rescue code or 注册代码); such candidates are flagged ``exact=False`` and
   must be confirmed with the caller. Still nothing → ``not_found`` with a
   message naming the code and the fields searched.
3. **Address.** Otherwise the query is an address. Candidates are narrowed
   with indexed prefix ranges on ``Elevator.search_address`` (the query
   itself, and the house number with one edit: "512" also reaches "521"),
   then, when that finds too little, a substring match on the most
   distinctive street token. At most a few thousand ``(pk, address)`` pairs
   are scored with rapidfuzz on a canonical form (EAST→E, STREET→ST,
   68TH→68, full-width→half-width), so a query stays fast on a registry of
   76,000+ elevators on SQLite and PostgreSQL. Several addresses scoring
   alike make the result ``ambiguous``: the operator chooses. Within an
   address, in-use passenger lifts (3110 / 3210) come before freight lifts,
   dumbwaiters (3430) and escalators: 96333 calls are about passengers.

Scores are 0–100 (100 = identical after canonicalisation).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from liftsafe.registry.codes import PASSENGER_LIFT_CATEGORIES
from liftsafe.registry.models import Elevator, normalize_address
from liftsafe.registry.selectors import elevators_for

#: how many elevators a result lists at most
MAX_RESULTS = 60
#: how many address groups (buildings) a result lists at most
MAX_ADDRESSES = 8
#: (pk, address) pairs scored per narrowing step at most
CANDIDATE_CAP = 4000
#: address candidates scoring below this are dropped
MIN_SCORE = 60.0
#: address candidates within this many points of the best are "alike" (→ ambiguous)
AMBIGUITY_BAND = 12.0

CODE_FIELDS = ("rescue_code", "registration_code", "equipment_code", "use_certificate_no", "source_id")

# US-style street vocabulary → USPS abbreviations (the NYC registry mixes both).
_ABBREV = {
    "EAST": "E", "WEST": "W", "NORTH": "N", "SOUTH": "S",
    "STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVE.": "AVE", "BOULEVARD": "BLVD",
    "ROAD": "RD", "PLACE": "PL", "DRIVE": "DR", "PARKWAY": "PKWY", "LANE": "LN", "COURT": "CT",
    "SQUARE": "SQ", "TERRACE": "TER", "HIGHWAY": "HWY", "EXPRESSWAY": "EXPY", "TURNPIKE": "TPKE",
    "PLAZA": "PLZ", "CONCOURSE": "CONC", "SAINT": "ST", "FORT": "FT", "MOUNT": "MT",
}
_STREET_TYPES = {"ST", "AVE", "BLVD", "RD", "PL", "DR", "PKWY", "LN", "CT", "SQ", "TER", "HWY", "EXPY",
                 "TPKE", "PLZ", "CONC", "WAY"}
_DIRECTIONS = {"E", "W", "N", "S"}
_ORDINAL = re.compile(r"^(\d+)(ST|ND|RD|TH)$")
_HOUSE = re.compile(r"^\d+[A-Z]?(?:-\d+[A-Z]?)?$")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_CERT = re.compile(r"^梯\d{2}")
_PUNCT = re.compile(r"[.,;#'\"()（）\[\]]")


@dataclass(frozen=True)
class Match:
    """One candidate elevator.

    Attributes:
        elevator: the candidate (with ``area`` and ``use_unit`` loaded).
        score: 0–100; 100 for an exact code.
        field: which identity matched (one of :data:`CODE_FIELDS` or ``"address"``).
        exact: True for an exact code hit; False for a near code or an address.
    """

    elevator: Elevator
    score: float
    field: str
    exact: bool


@dataclass
class LookupResult:
    """The outcome of :func:`identify`.

    ``status`` is ``"found"`` (exactly one exact code hit, or one address
    clearly ahead), ``"ambiguous"`` (several candidates: the operator
    chooses), ``"not_found"`` or ``"empty"`` (no query). ``message`` explains
    it in the operator's language.
    """

    query: str
    kind: str  # "code" | "address" | "empty"
    status: str
    matches: list[Match] = field(default_factory=list)
    message: str = ""
    truncated: bool = False

    @property
    def unique(self) -> Elevator | None:
        """The elevator when identification is unambiguous, else None."""
        return self.matches[0].elevator if self.status == "found" and len(self.matches) == 1 else None

    @property
    def groups(self) -> list[tuple[str, list[Match]]]:
        """Matches grouped by address (in rank order): one building may hold many elevators."""
        out: dict[str, list[Match]] = {}
        for m in self.matches:
            out.setdefault(m.elevator.address or "—", []).append(m)
        return list(out.items())


# --------------------------------------------------------------------------- canonical forms

def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


@lru_cache(maxsize=65536)
def _canonical(address: str) -> tuple[str, ...]:
    return tuple(canonical_tokens(address))


def canonical_tokens(address: str) -> list[str]:
    """Canonical address tokens: NFKC, upper case, punctuation dropped, US abbreviations, ordinals stripped.

    >>> canonical_tokens("521 EAST   68TH Street")
    ['521', 'E', '68', 'ST']
    """
    text = _PUNCT.sub(" ", _nfkc(address).upper())
    out: list[str] = []
    for tok in text.split():
        tok = _ABBREV.get(tok, tok)
        if m := _ORDINAL.match(tok):
            tok = m.group(1)
        out.append(tok)
    return out


def _split_house(tokens: list[str]) -> tuple[str, list[str]]:
    if tokens and _HOUSE.match(tokens[0]):
        return tokens[0], tokens[1:]
    return "", tokens


def address_score(query: str, candidate: str) -> float:
    """Similarity 0–100 of a typed address and a registry address.

    House number (Damerau–Levenshtein, so "512" vs "521" is one edit, with a
    bonus when the digits are the same, only swapped) weighs 35 %, the street (rapidfuzz token-sort ratio) 65 %. When the query names
    no street type (ST, AVE …) the candidate's is ignored, so "521 E 68"
    scores 100 against "521 EAST 68 STREET". A query without a house number
    is compared with the street alone. CJK addresses are compared as strings.
    """
    q_tokens, c_tokens = list(_canonical(query)), list(_canonical(candidate))
    if _CJK.search(query):
        return float(fuzz.partial_ratio("".join(q_tokens), "".join(c_tokens)) * 0.5
                     + fuzz.ratio("".join(q_tokens), "".join(c_tokens)) * 0.5)
    q_house, q_street = _split_house(q_tokens)
    c_house, c_street = _split_house(c_tokens)
    if not any(t in _STREET_TYPES for t in q_street):
        c_street = [t for t in c_street if t not in _STREET_TYPES] or c_street
    street = fuzz.token_sort_ratio(" ".join(q_street), " ".join(c_street)) if q_street else 0.0
    if not q_house:
        return float(street)
    house = DamerauLevenshtein.normalized_similarity(q_house, c_house) * 100 if c_house else 0.0
    if c_house and q_house != c_house and sorted(q_house) == sorted(c_house):
        house = min(house + 15.0, 95.0)  # same digits swapped: the commonest misreading of a house number
    if not q_street:
        return float(house)
    return float(0.35 * house + 0.65 * street)


# --------------------------------------------------------------------------- narrowing

def _prefix(key: str) -> Q:
    """Index-friendly prefix match on ``search_address`` (see registry.selectors._address_prefix)."""
    if connection.vendor == "sqlite":
        return Q(search_address__gte=key, search_address__lt=key + "\U0010ffff")
    return Q(search_address__startswith=key)


def _one_edit(code: str, alphabet: str = "0123456789") -> set[str]:
    """Strings one substitution or one adjacent transposition away from ``code`` (digits only)."""
    out: set[str] = set()
    for i, ch in enumerate(code):
        for d in alphabet:
            if d != ch:
                out.add(code[:i] + d + code[i + 1:])
        if i + 1 < len(code) and code[i] != code[i + 1]:
            out.add(code[:i] + code[i + 1] + code[i] + code[i + 2:])
    out.discard(code)
    return out


def _house_variants(house: str) -> set[str]:
    """House numbers one edit from ``house`` (substitution, transposition, deletion, insertion of a digit)."""
    digits = "0123456789"
    out = {house} | _one_edit(house)
    for i in range(len(house)):
        out.add(house[:i] + house[i + 1:])
    for i in range(len(house) + 1):
        for d in digits:
            out.add(house[:i] + d + house[i:])
    return {v for v in out if v and not v.startswith("0")} | {house}


def _distinctive_tokens(tokens: list[str]) -> list[str]:
    """Street tokens worth a substring search, most distinctive first (long words, then numbers)."""
    words = [t for t in tokens if t not in _STREET_TYPES and t not in _DIRECTIONS and not _HOUSE.match(t) and len(t) >= 3]
    numbers = [t for t in tokens if t.isdigit()]
    return sorted(words, key=len, reverse=True) + numbers


def _raw_spellings(token: str) -> set[str]:
    """Ways ``token`` may be written in a raw registry address (the reverse of the abbreviations)."""
    spellings = {token} | {full for full, abbr in _ABBREV.items() if abbr == token}
    return {s for s in spellings if len(s) >= 2}


def _address_candidates(qs: QuerySet, query: str) -> dict[int, str]:
    """(pk → address) pairs worth scoring for ``query``; index ranges first, a substring scan only if needed."""
    pairs: dict[int, str] = {}

    qs = qs.order_by()  # no ORDER BY: lets SQLite/PostgreSQL use the search_address index (or a plain scan)

    def take(cond: Q) -> None:
        if len(pairs) >= CANDIDATE_CAP:
            return
        for pk, addr in qs.filter(cond).values_list("pk", "address")[:CANDIDATE_CAP]:
            pairs.setdefault(pk, addr)

    key = normalize_address(_nfkc(query))
    take(_prefix(key))
    tokens = canonical_tokens(query)
    house, street = _split_house(tokens)
    if house and connection.vendor != "sqlite":
        # PostgreSQL: one query, a BitmapOr of index range scans (LIKE 'x %' on the pattern-ops index)
        variants = [house] + sorted(_house_variants(house) - {house})
        cond = Q()
        for v in variants:
            cond |= _prefix(v + " ")
        take(cond)
    elif house:
        # SQLite: an OR of ranges makes its planner scan the table, so one indexed range query per
        # house-number variant; the SQL is compiled once with a placeholder key and run per variant
        sentinel = "HOUSEVARIANTKEY"
        sql, params = qs.filter(_prefix(sentinel + " ")).values_list("pk", "address")[:CANDIDATE_CAP].query.sql_with_params()
        with connection.cursor() as cur:
            for v in [house] + sorted(_house_variants(house) - {house}):
                if len(pairs) >= CANDIDATE_CAP:
                    break
                cur.execute(sql, [p.replace(sentinel, v) if isinstance(p, str) else p for p in params])
                for pk, addr in cur.fetchall():
                    pairs.setdefault(pk, addr)
    distinct_addresses = len(set(pairs.values()))
    if distinct_addresses < MAX_ADDRESSES:
        cjk = _CJK.findall(_nfkc(query))
        if cjk:
            run = max(cjk, key=len)
            grams = [run[i:i + 2] for i in range(0, max(1, len(run) - 1), 2)][:4] or [run]
            cond = Q()
            for g in grams:
                cond |= Q(search_address__contains=g)
            take(cond)
        else:
            for tok in _distinctive_tokens(street)[:2]:
                cond = Q()
                for s in _raw_spellings(tok):
                    cond |= Q(search_address__contains=s)
                before = len(pairs)
                take(cond)
                if len(pairs) > before:
                    break
    return pairs


# --------------------------------------------------------------------------- identify

def looks_like_code(q: str) -> bool:
    """A single token with a digit and at least 4 characters, or a 使用登记证编号 (梯…)."""
    q = _nfkc(q).strip()
    if _CERT.match(q):
        return True
    return " " not in q and len(q) >= 4 and any(c.isdigit() for c in q) and not _CJK.search(q)


def _with_related(qs: QuerySet) -> QuerySet:
    return qs.select_related("area", "use_unit", "building")


def identify(user, query: str, *, limit: int = MAX_RESULTS) -> LookupResult:
    """Identify the elevator a caller means, within ``user``'s scope.

    Args:
        user: the operator (any user; the scope decides what can be found).
        query: rescue code, 注册代码, 设备代码, 使用登记证编号, source device
            number or an address, as typed (spaces, case, full-width
            characters and common typos tolerated).
        limit: most elevators returned.

    Returns:
        :class:`LookupResult`, matches ranked best first. Never raises for bad
        input; an empty or unknown query gives ``empty`` / ``not_found`` with
        a message.
    """
    raw = " ".join(_nfkc(query).split())
    if not raw:
        return LookupResult(query="", kind="empty", status="empty",
                            message=_("Enter a rescue code, registration code, equipment code, certificate number or address."))
    qs = elevators_for(user)
    code = raw.upper()
    cert_variants = sorted({raw, raw.replace("(", "（").replace(")", "）")})
    # one indexed query per identity field (an OR across fields makes SQLite scan the table); the
    # "<> ''" lets the planners use the partial unique indexes of 注册代码 / 设备代码
    lookups = [Q(**{f: v}) & ~Q(**{f.split("__")[0]: ""}) for f, v in (
        ("rescue_code", raw), ("registration_code", code), ("equipment_code", code),
        ("use_certificate_no__in", cert_variants), ("source_id", code))]
    if connection.vendor == "sqlite":  # its planner scans on an OR across columns: one query per field
        hit_ids = [pk for cond in lookups for pk in qs.order_by().filter(cond).values_list("pk", flat=True)[:limit]]
    else:  # PostgreSQL: one query, a BitmapOr of the five indexes
        any_code = Q()
        for cond in lookups:
            any_code |= cond
        hit_ids = list(qs.order_by().filter(any_code).values_list("pk", flat=True)[:limit])
    hits = list(_with_related(Elevator.objects.filter(pk__in=hit_ids)).order_by("source", "source_id")[:limit]) if hit_ids else []
    if hits:
        matches = [Match(e, 100.0, _matched_field(e, raw, code), True) for e in hits]
        status = "found" if len(matches) == 1 else "ambiguous"
        msg = (_("Identified by %(field)s.") % {"field": _field_label(matches[0].field)} if status == "found"
               else _("Several elevators carry this code; confirm the address with the caller."))
        return LookupResult(raw, "code", status, matches, msg)

    if looks_like_code(raw):
        near = _near_codes(qs, code, limit)
        if near:
            return LookupResult(raw, "code", "ambiguous", near, _(
                "No elevator has code %(code)s. Similar codes are listed: read the code back to the caller before choosing."
            ) % {"code": raw})
        if raw.isdigit() or _CERT.match(raw) or not re.search(r"[A-Z]{3,}", code):
            return LookupResult(raw, "code", "not_found", [], _(
                "No elevator in your area has the code %(code)s (searched rescue code, registration code, "
                "equipment code, use certificate number and device number). Ask the caller for the address."
            ) % {"code": raw})

    return _identify_address(qs, raw, limit)


def _matched_field(e: Elevator, raw: str, code: str) -> str:
    if e.rescue_code == raw:
        return "rescue_code"
    if e.registration_code == code:
        return "registration_code"
    if e.equipment_code == code:
        return "equipment_code"
    if e.source_id == code:
        return "source_id"
    return "use_certificate_no"


def _field_label(name: str) -> str:
    return {
        "rescue_code": _("rescue code"), "registration_code": _("registration code (注册代码)"),
        "equipment_code": _("equipment code (设备代码)"), "use_certificate_no": _("use certificate number"),
        "source_id": _("device number"), "address": _("address"),
    }.get(name, name)


def _near_codes(qs: QuerySet, code: str, limit: int) -> list[Match]:
    """Elevators whose rescue code or 注册代码 is one digit-edit from ``code``."""
    if not code.isdigit() or len(code) > 20:
        return []
    variants = _one_edit(code)
    cond = Q()
    if len(code) <= 8:
        cond |= Q(rescue_code__in=variants)
    if len(code) == 20:
        cond |= Q(registration_code__in=variants)
    if not cond:
        return []
    out = []
    ids = list(qs.order_by().filter(cond).values_list("pk", flat=True)[:limit])
    for e in _with_related(Elevator.objects.filter(pk__in=ids)).order_by("source", "source_id"):
        field_name = "rescue_code" if e.rescue_code in variants else "registration_code"
        other = getattr(e, field_name)
        out.append(Match(e, round(DamerauLevenshtein.normalized_similarity(code, other) * 100, 1), field_name, False))
    out.sort(key=lambda m: -m.score)
    return out


def _identify_address(qs: QuerySet, raw: str, limit: int) -> LookupResult:
    pairs = _address_candidates(qs, raw)
    by_address: dict[str, list[int]] = {}
    for pk, addr in pairs.items():
        by_address.setdefault(addr, []).append(pk)
    scored = sorted(((address_score(raw, addr), addr) for addr in by_address), key=lambda t: (-t[0], t[1]))
    scored = [(s, a) for s, a in scored if s >= MIN_SCORE]
    if not scored:
        return LookupResult(raw, "address", "not_found", [], _(
            "No elevator in your area matches the address “%(q)s”. Ask for the rescue code on the sign in the car, "
            "or the building name and nearest cross street."
        ) % {"q": raw})
    best = scored[0][0]
    alike = [(s, a) for s, a in scored if s >= best - AMBIGUITY_BAND][:MAX_ADDRESSES]
    truncated = len(scored) > len(alike)
    pk_score: dict[int, float] = {}
    for s, a in alike:
        for pk in by_address[a]:
            pk_score[pk] = s
    elevators = list(_with_related(Elevator.objects.filter(pk__in=list(pk_score))))
    # within an address: in-use first, then passenger lifts (3110/3210: 96333 calls are about passengers)
    # before freight lifts, dumbwaiters and escalators, then by device number
    elevators.sort(key=lambda e: (-pk_score[e.pk], e.address, e.status != Elevator.Status.IN_USE,
                                  e.category not in PASSENGER_LIFT_CATEGORIES, e.source_id))
    if len(elevators) > limit:
        truncated = True
        elevators = elevators[:limit]
    matches = [Match(e, round(pk_score[e.pk], 1), "address", False) for e in elevators]
    if len(matches) == 1:
        return LookupResult(raw, "address", "found", matches, _("One elevator at this address; confirm it with the caller."), truncated)
    n_addr = len({m.elevator.address for m in matches})
    if n_addr == 1:
        msg = _("%(n)d elevators at this address: ask the caller which car (rescue code on the sign, or position).") % {"n": len(matches)}
    else:
        msg = _("%(n)d possible addresses: confirm the address with the caller, then choose the elevator.") % {"n": n_addr}
    return LookupResult(raw, "address", "ambiguous", matches, msg, truncated)
