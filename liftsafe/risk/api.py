"""Risk API: scores with their reasons, counts by area, key periods, red-list tasks, the model.

Reads via :mod:`.selectors` (scoped), writes via :mod:`.services`; errors in the one shape of
:mod:`liftsafe.core.errors` (403 role, 404 outside the scope, 409 stale version, 422 naming the field).
"""

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from liftsafe.core import permissions
from liftsafe.core.api import Status
from liftsafe.core.errors import ErrorOut
from liftsafe.core.pagination import BoundedPage
from liftsafe.registry.selectors import elevator_get

from . import filters, selectors, services
from .config import model
from .explain import explain

router = Router(tags=["risk"])
ERR = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
ColourLit = Literal["blue", "yellow", "orange", "red"]


class ScoreFields(Schema):
    elevator_id: int
    display_code: str
    address: str
    area: str
    score: float
    base_score: float
    colour: str
    base_colour: str
    colour_since: dt.datetime
    unknown_share: float = Field(..., description="share of the model's weight whose factor has no data (0-1)")
    key_period_id: int | None
    replacement: bool = Field(..., description="over the replacement age (docs/domain §15.5), whatever the score")
    model_version: str
    computed_at: dt.datetime


class ScoreOut(ScoreFields):
    @staticmethod
    def resolve_display_code(obj):
        return obj.elevator.display_code

    @staticmethod
    def resolve_address(obj):
        return obj.elevator.address

    @staticmethod
    def resolve_area(obj):
        return obj.elevator.area.name


class LinkOut(Schema):
    text: str
    url: str


class FactorOut(Schema):
    key: str
    label: str
    fact: str
    known: bool
    weight: float
    points: float
    links: list[LinkOut]


class ChangeOut(Schema):
    at: dt.datetime
    trigger: str
    triggered_by: str | None
    key_period_id: int | None
    old_colour: str
    new_colour: str
    old_score: float | None
    new_score: float


class DetailOut(ScoreFields):
    factors: list[FactorOut]
    history: list[ChangeOut]


class AreaCountOut(Schema):
    area_id: int
    area: str
    total: int
    blue: int
    yellow: int
    orange: int
    red: int


class ScoreFilters(Schema):
    colour: ColourLit | None = None
    area: str | None = Field(None, max_length=32, description="area code (everything below it)")
    raised: Literal["1", "0"] | None = Field(None, description="1: raised by a key period; 0: not raised")
    replacement: Literal["1", "0"] | None = None


def _values(f: ScoreFilters) -> dict:
    return filters.parse({k: v or "" for k, v in f.dict().items()})


def _detail(request, s) -> dict:
    rows = explain(s)
    hist = selectors.changes_for(request.user, s.elevator_id)[:100]
    fields = {k: getattr(s, k) for k in ScoreFields.model_fields if k not in ("display_code", "address", "area")}
    return {**fields, "display_code": s.elevator.display_code, "address": s.elevator.address, "area": s.elevator.area.name,
            "factors": [{**r, "links": [{"text": t, "url": u} for t, u in r["links"]]} for r in rows],
            "history": [{"at": c.at, "trigger": c.trigger, "triggered_by": c.triggered_by.get_username() if c.triggered_by else None,
                         "key_period_id": c.key_period_id, "old_colour": c.old_colour, "new_colour": c.new_colour,
                         "old_score": c.old_score, "new_score": c.new_score} for c in hist]}


@router.get("/scores", response={200: list[ScoreOut], **ERR}, summary="Risk scores of the lifts in your scope (highest first)",
            operation_id="risk_score_list")
@paginate(BoundedPage)
def score_list(request, f: Query[ScoreFilters]):
    permissions.require(request.user, "risk.view")
    return filters.apply(request.user, _values(f))


@router.get("/counts", response={200: list[AreaCountOut], **ERR}, summary="Lifts per colour and area (same filters as the list)",
            operation_id="risk_counts")
def score_counts(request, f: Query[ScoreFilters]):
    permissions.require(request.user, "risk.view")
    return selectors.counts_by_area(filters.apply(request.user, _values(f)))


@router.get("/elevators/{elevator_id}", response={200: DetailOut, **ERR}, summary="One lift's risk: each factor's contribution, evidence and colour history",
            operation_id="risk_elevator_get")
def score_get(request, elevator_id: int):
    permissions.require(request.user, "risk.view")
    return _detail(request, selectors.score_get(request.user, elevator_id))


@router.post("/elevators/{elevator_id}/recompute", response={200: DetailOut, **ERR}, summary="Recompute one lift now",
             operation_id="risk_elevator_recompute")
def score_recompute(request, elevator_id: int):
    permissions.require(request.user, "risk.recompute")
    e = elevator_get(request.user, elevator_id)
    s = services.recompute_elevator(request.user, e)
    return _detail(request, selectors.score_get(request.user, s.elevator_id))


class RecomputeOut(Schema):
    lifts: int
    changed: int


@router.post("/recompute", response={200: RecomputeOut, **ERR}, summary="Recompute every lift in your scope",
             operation_id="risk_recompute")
def recompute_scope(request):
    c = services.recompute_scope(request.user)
    return {"lifts": c["lifts"], "changed": c["changed"]}


# --------------------------------------------------------------------------- key periods
class KeyPeriodIn(Schema):
    name: str = Field(..., max_length=120)
    starts_at: dt.datetime
    ends_at: dt.datetime
    areas: list[int] = Field(..., min_length=1, max_length=200, description="area ids (sub-areas included)")
    place_types: list[int] = Field(default_factory=list, max_length=20, description="place type codes; empty = every place type")
    uplift_kind: Literal["band", "points"] = "band"
    uplift_points: float = Field(0, ge=0, le=100)
    note: str = Field("", max_length=255)


class KeyPeriodUpdateIn(KeyPeriodIn):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="the version you read (stale = 409)")


class KeyPeriodOut(Schema):
    id: int
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    areas: list[int]
    place_types: list[int]
    uplift_kind: str
    uplift_points: float
    note: str
    applied_at: dt.datetime | None
    expired_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_areas(obj):
        return sorted(a.pk for a in obj.areas.all())


@router.get("/key-periods", response={200: list[KeyPeriodOut], **ERR}, summary="Key periods of your area", operation_id="risk_key_period_list")
@paginate(BoundedPage)
def key_period_list(request):
    permissions.require(request.user, "risk.view")
    return selectors.key_periods_for(request.user).prefetch_related("areas")


@router.post("/key-periods", response={201: KeyPeriodOut, **ERR}, summary="Declare a key period (uplift starts and ends by itself)",
             operation_id="risk_key_period_create")
def key_period_create(request, payload: KeyPeriodIn):
    p = services.key_period_create(request.user, **payload.dict())
    return Status(201, p)


@router.get("/key-periods/{period_id}", response={200: KeyPeriodOut, **ERR}, summary="One key period", operation_id="risk_key_period_get")
def key_period_get(request, period_id: int):
    permissions.require(request.user, "risk.view")
    return selectors.key_period_get(request.user, period_id)


@router.put("/key-periods/{period_id}", response={200: KeyPeriodOut, **ERR}, summary="Change a key period", operation_id="risk_key_period_update")
def key_period_update(request, period_id: int, payload: KeyPeriodUpdateIn):
    permissions.require(request.user, "risk.manage_key_periods")
    p = selectors.key_period_get(request.user, period_id)
    data = payload.dict()
    version = data.pop("version")
    return services.key_period_update(request.user, p, version=version, **data)


# --------------------------------------------------------------------------- red-list tasks
class TaskOut(Schema):
    id: int
    elevator_id: int
    kind: str
    red_since: dt.datetime
    score: float
    hazard_id: int | None
    created_at: dt.datetime


class TaskCreateIn(Schema):
    elevator_ids: list[int] | None = Field(None, max_length=10000, description="only these red lifts (default: every red lift in scope)")


@router.get("/tasks", response={200: list[TaskOut], **ERR}, summary="Red-list supervision tasks", operation_id="risk_task_list")
@paginate(BoundedPage)
def task_list(request):
    permissions.require(request.user, "risk.view")
    return selectors.tasks_for(request.user)


@router.post("/tasks", response={200: list[TaskOut], **ERR}, summary="Create the red list's tasks (once per red lift; idempotent)",
             operation_id="risk_task_create")
def task_create(request, payload: TaskCreateIn):
    return services.red_tasks_create(request.user, elevator_ids=payload.elevator_ids)


# --------------------------------------------------------------------------- the model
class BandOut(Schema):
    colour: str
    lower: float
    upper: float | None


class ModelFactorOut(Schema):
    key: str
    weight: float
    transform: str
    source: str


class ModelOut(Schema):
    version: str
    window_days: int
    replacement_age_years: float
    factors: list[ModelFactorOut]
    bands: list[BandOut]


@router.get("/model", response={200: ModelOut, **ERR}, summary="The score model in force (factors, weights, bands)", operation_id="risk_model")
def model_get(request):
    permissions.require(request.user, "risk.view")
    m = model()
    return {"version": m.version, "window_days": m.window_days, "replacement_age_years": m.replacement_age_years,
            "factors": [{"key": f.key, "weight": f.weight, "transform": f.transform, "source": f.source} for f in m.factors],
            "bands": [{"colour": b.colour, "lower": b.lower, "upper": b.upper} for b in m.bands]}


class MatrixOut(Schema):
    severity: str
    probability: str
    group: str
    colour: str


@router.get("/matrix", response={200: MatrixOut, **ERR}, summary="Severity × probability risk group (GB/T 20900 / ISO 14798 table)",
            operation_id="risk_matrix")
def matrix_get(request, severity: str = Query(..., max_length=8), probability: str = Query(..., max_length=8)):
    permissions.require(request.user, "risk.view")
    group, colour = model().matrix_colour(severity, probability)
    return {"severity": severity, "probability": probability, "group": group, "colour": colour}
