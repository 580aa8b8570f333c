"""Insurance API: policies, claims (suggested → filed → paid / refused), coverage gaps, the band table.

Reads via :mod:`.selectors` (scoped; roles that may not read insurance get empty lists and 404s), writes via
:mod:`.services`. Errors use the one contract of :mod:`liftsafe.core.errors`: 404 outside the scope, 403 the
role/organisation may not, 422 bad input naming the field (``insurer``, ``policy_no``, ``elevators``, ``end_date``,
``limit_per_person``, ``persons``, ``amount``, ``reason``, ``state``).
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from liftsafe.core import permissions
from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.core.pagination import BoundedPage

from . import domain, selectors, services
from .workflow import CLAIM_FLOW

router = Router(tags=["insurance"])
ERR = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PolicyOut(Schema):
    id: int
    insurer_id: int
    insurer: str = Field(..., alias="insurer.name")
    policy_no: str
    insured_party_id: int
    insured_party: str = Field(..., alias="insured_party.name")
    start_date: dt.date
    end_date: dt.date
    limit_per_person: Decimal
    limit_per_accident: Decimal
    premium: Decimal | None
    generated: bool


class PolicyDetailOut(PolicyOut):
    elevator_ids: list[int]


class PolicyIn(Schema):
    insurer: int
    policy_no: str = Field(..., max_length=64)
    insured_party: int
    start_date: dt.date
    end_date: dt.date
    limit_per_person: Decimal = Field(..., ge=0, le=1_000_000_000, decimal_places=2)
    limit_per_accident: Decimal = Field(..., ge=0, le=1_000_000_000, decimal_places=2)
    premium: Decimal | None = Field(None, ge=0, le=1_000_000_000, decimal_places=2)
    elevators: list[int] = Field(..., max_length=10000, description="lift ids, resolved through your scope")


class ClaimOut(Schema):
    id: int
    policy_id: int
    elevator_id: int
    case_id: int
    order_number: str = Field(..., alias="case.order_number")
    state: str
    trapped_s: int
    band: str
    yuan_per_person: Decimal
    persons: int | None
    suggested_total: Decimal | None
    claimed_amount: Decimal | None
    paid_amount: Decimal | None
    refusal_reason: str
    suggested_at: dt.datetime
    filed_at: dt.datetime | None
    decided_at: dt.datetime | None
    actions: list[str] = []


class ClaimActionIn(Schema):
    persons: int | None = Field(None, ge=1, le=200, description="file: people trapped (default: the suggestion's)")
    amount: Decimal | None = Field(None, ge=0, le=1_000_000_000, decimal_places=2, description="file: claimed; pay: paid (yuan)")
    reason: str = Field("", max_length=1000, description="refuse: why")


class GapAreaOut(Schema):
    area_id: int
    area: str
    in_use: int
    uninsured: int
    share: float


class GapLiftOut(Schema):
    id: int
    address: str
    area_id: int
    registration_code: str


class BandOut(Schema):
    key: str
    from_s: int
    from_inclusive: bool
    to_s: int | None
    yuan_per_person: Decimal


def _claim_out(user, c):
    c.actions = CLAIM_FLOW.available_names(user, c)
    return c


@router.get("/policies", response=list[PolicyOut], summary="Policies in your scope", operation_id="insurance_policy_list")
@paginate(BoundedPage)
def policy_list(request, state: Literal["", "in_force", "expired", "future"] = ""):
    return selectors.policy_list(request.user, state=state)


@router.get("/policies/{policy_id}", response={200: PolicyDetailOut, **ERR}, summary="One policy with the lifts you may see",
            operation_id="insurance_policy_get")
def policy_get(request, policy_id: int):
    p = selectors.policy_get(request.user, policy_id)
    p.elevator_ids = list(selectors.policy_lifts(request.user, p).values_list("id", flat=True)[:10000])
    return p


@router.post("/policies", response={201: PolicyDetailOut, **ERR}, summary="Record a policy (regulator)", operation_id="insurance_policy_create")
def policy_create(request, payload: PolicyIn):
    p = services.policy_record(request.user, insurer_id=payload.insurer, policy_no=payload.policy_no,
                               insured_party_id=payload.insured_party, start_date=payload.start_date, end_date=payload.end_date,
                               limit_per_person=payload.limit_per_person, limit_per_accident=payload.limit_per_accident,
                               premium=payload.premium, elevator_ids=payload.elevators)
    p = selectors.policy_get(request.user, p.pk)
    p.elevator_ids = list(selectors.policy_lifts(request.user, p).values_list("id", flat=True))
    return Status(201, p)


@router.get("/claims", response=list[ClaimOut], summary="Claims in your scope", operation_id="insurance_claim_list")
@paginate(BoundedPage)
def claim_list(request, state: Literal["", "suggested", "filed", "paid", "refused"] = ""):
    return selectors.claim_list(request.user, state=state)


@router.get("/claims/{claim_id}", response={200: ClaimOut, **ERR}, summary="One claim", operation_id="insurance_claim_get")
def claim_get(request, claim_id: int):
    return _claim_out(request.user, selectors.claim_get(request.user, claim_id))


@router.post("/claims/{claim_id}/{action}", response={200: ClaimOut, **ERR}, summary="File, pay or refuse a claim (insurer)",
             operation_id="insurance_claim_action")
def claim_action(request, claim_id: int, action: Literal["file", "pay", "refuse"], payload: ClaimActionIn):
    services.claim_transition(request.user, claim_id, action, persons=payload.persons, amount=payload.amount, reason=payload.reason)
    return _claim_out(request.user, selectors.claim_get(request.user, claim_id))


@router.get("/gaps", response={200: list[GapAreaOut], **ERR}, summary="Lifts in use with no policy in force, by area (regulator)",
            operation_id="insurance_gaps")
def gaps(request):
    permissions.require(request.user, "insurance.gaps")
    return selectors.coverage_by_area(request.user)


@router.get("/gaps/lifts", response=list[GapLiftOut], summary="The uninsured lifts (regulator)",
            operation_id="insurance_gap_lifts")
@paginate(BoundedPage)
def gap_lifts(request, area: int | None = None):
    permissions.require(request.user, "insurance.gaps")
    qs = selectors.coverage_gaps(request.user).order_by("id")
    return qs.filter(area_id=area) if area else qs


@router.get("/bands", response=list[BandOut], summary="Trapped-passenger compensation bands (docs/domain §15.7)",
            operation_id="insurance_bands")
def bands(request):
    return [{"key": b.key, "from_s": b.from_s, "from_inclusive": b.first, "to_s": b.to_s, "yuan_per_person": b.yuan_per_person}
            for b in domain.bands()]
