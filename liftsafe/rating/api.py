"""Rating API: reads via :mod:`.selectors` (scoped; the public projection whitelisted), writes via :mod:`.services`.

Errors follow :mod:`liftsafe.core.errors`: 403 the role or condition refuses (a reviewer who scored the rating),
404 outside the scope, 422 bad input naming the field (``filed_at`` after the window, ``bands[1].min`` …).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.core.pagination import BoundedPage
from liftsafe.core.permissions import require

from . import selectors, services
from .workflow import RATING_FLOW

router = Router(tags=["rating"])
ERR = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class EvidenceOut(Schema):
    kind: str
    id: int
    label: str
    url: str


class ItemOut(Schema):
    code: str
    label: str
    metric: str
    value: float | None
    points: float
    veto_hit: bool
    evidence: list[EvidenceOut]


class RatingOut(Schema):
    id: int
    unit_id: int
    unit_name: str
    sheet: str
    period_start: dt.date
    period_end: dt.date
    state: str
    rated: bool
    score: float | None
    grade: str
    veto: bool
    sample: float | None
    unknown_items: int
    unknown_points: float | None
    items: list[ItemOut]
    hard_hits: list[dict]
    published_on: dt.date | None
    objection_until: dt.date | None
    reply: str
    version: int
    actions: list[str]

    @staticmethod
    def resolve_unit_name(obj) -> str:
        return obj["unit_name"] if isinstance(obj, dict) else obj.unit.name

    @staticmethod
    def resolve_sheet(obj) -> str:
        return obj["sheet"] if isinstance(obj, dict) else obj.sheet.code

    @staticmethod
    def resolve_actions(obj, context) -> list[str]:
        if isinstance(obj, dict):
            return obj["actions"]
        return RATING_FLOW.available_names(context["request"].user, obj)


class PublicRatingOut(Schema):
    unit_name: str
    grade: str
    rated: bool
    period_start: dt.date
    period_end: dt.date
    published_on: dt.date
    reply: str
    sheet_name: str
    under_review: bool


class RunIn(Schema):
    sheet: str = Field(..., max_length=40)
    on: dt.date
    units: list[int] | None = Field(None, max_length=1000)


class TextIn(Schema):
    text: str = Field(..., max_length=4000)


class DecideIn(Schema):
    decision: Literal["upheld", "revised"]
    reasons: str = Field(..., max_length=4000)
    revised_grade: str = Field("", max_length=8)


class LiftDecideIn(Schema):
    approve: bool
    reasons: str = Field(..., max_length=4000)


class CreditOut(Schema):
    id: int
    unit_id: int
    unit_name: str
    kind: str
    rule_code: str
    state: str
    listed_on: dt.date
    lifted_on: dt.date | None
    rating_id: int | None


class SheetOut(Schema):
    code: str
    name: str
    active: bool
    shipped: bool
    config: dict


class SheetIn(Schema):
    config: dict


def _out(user, r) -> dict:
    return {"id": r.pk, "unit_id": r.unit_id, "unit_name": r.unit.name, "sheet": r.sheet.code, "period_start": r.period_start,
            "period_end": r.period_end, "state": r.state, "rated": r.rated, "score": r.score, "grade": r.grade, "veto": r.veto,
            "sample": r.sample, "unknown_items": r.unknown_items, "unknown_points": r.unknown_points, "items": r.items,
            "hard_hits": r.hard_hits, "published_on": r.published_on, "objection_until": r.objection_until, "reply": r.reply,
            "version": r.version, "actions": RATING_FLOW.available_names(user, r)}


def _credit(e) -> dict:
    return {"id": e.pk, "unit_id": e.unit_id, "unit_name": e.unit.name, "kind": e.kind, "rule_code": e.rule_code, "state": e.state,
            "listed_on": e.listed_on, "lifted_on": e.lifted_on, "rating_id": e.rating_id}


@router.get("/public", response={200: list[PublicRatingOut]}, auth=None, operation_id="rating_public",
            summary="Published ratings (public projection)")
def public(request, sheet: str | None = None):
    """Anyone: each unit's latest published grade ("" when not rated), period, publication date and reply."""
    return selectors.public_ratings(sheet=(sheet or "")[:40] or None)


@router.get("/ratings", response={200: list[RatingOut], **ERR}, operation_id="rating_list")
@paginate(BoundedPage)
def rating_list(request, state: str | None = None):
    require(request.user, "rating.view")
    qs = selectors.ratings_for(request.user)
    if state:
        qs = qs.filter(state=state[:16])
    return qs  # paged in the database; the schema resolves names and the caller's actions per row


@router.get("/ratings/{rating_id}", response={200: RatingOut, **ERR}, operation_id="rating_get")
def rating_get(request, rating_id: int):
    require(request.user, "rating.view")
    return _out(request.user, selectors.rating_get(request.user, rating_id))


@router.post("/run", response={201: list[RatingOut], **ERR}, operation_id="rating_run")
def run(request, payload: RunIn):
    rs = services.rating_run(request.user, sheet_code=payload.sheet, on=payload.on, unit_ids=payload.units)
    return Status(201, [_out(request.user, r) for r in rs])


@router.post("/ratings/{rating_id}/publish", response={200: RatingOut, **ERR}, operation_id="rating_publish")
def publish(request, rating_id: int):
    return _out(request.user, services.rating_publish(request.user, rating_id))


@router.post("/ratings/{rating_id}/object", response={201: RatingOut, **ERR}, operation_id="rating_object")
def object_(request, rating_id: int, payload: TextIn):
    o = services.objection_file(request.user, rating_id, text=payload.text)
    return Status(201, _out(request.user, selectors.rating_get(request.user, o.rating_id)))


@router.post("/ratings/{rating_id}/decide", response={200: RatingOut, **ERR}, operation_id="rating_decide")
def decide(request, rating_id: int, payload: DecideIn):
    o = services.objection_decide(request.user, rating_id, decision=payload.decision, reasons=payload.reasons,
                                  revised_grade=payload.revised_grade)
    return _out(request.user, selectors.rating_get(request.user, o.rating_id))


@router.post("/ratings/{rating_id}/reply", response={200: RatingOut, **ERR}, operation_id="rating_reply")
def reply(request, rating_id: int, payload: TextIn):
    return _out(request.user, services.rating_reply(request.user, rating_id, text=payload.text))


@router.get("/credit", response={200: list[CreditOut], **ERR}, operation_id="rating_credit_list")
@paginate(BoundedPage)
def credit_list(request):
    require(request.user, "credit.view")
    return [_credit(e) for e in selectors.credit_entries_for(request.user)]


@router.post("/credit/{entry_id}/apply", response={200: CreditOut, **ERR}, operation_id="rating_credit_apply")
def credit_apply(request, entry_id: int, payload: TextIn):
    return _credit(services.credit_apply_lift(request.user, entry_id, text=payload.text))


@router.post("/credit/{entry_id}/decide", response={200: CreditOut, **ERR}, operation_id="rating_credit_decide")
def credit_decide(request, entry_id: int, payload: LiftDecideIn):
    return _credit(services.credit_decide_lift(request.user, entry_id, approve=payload.approve, reasons=payload.reasons))


@router.get("/sheets", response={200: list[SheetOut], **ERR}, operation_id="rating_sheets")
def sheet_list(request):
    require(request.user, "rating.view")
    return [{"code": s.code, "name": s.name, "active": s.active, "shipped": s.shipped, "config": s.config} for s in selectors.sheets(False)]


@router.post("/sheets", response={200: SheetOut, **ERR}, operation_id="rating_sheet_save")
def sheet_save(request, payload: SheetIn):
    s = services.sheet_save(request.user, payload.config)
    return {"code": s.code, "name": s.name, "active": s.active, "shipped": s.shipped, "config": s.config}
