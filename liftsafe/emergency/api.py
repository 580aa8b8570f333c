"""Emergency API (mounted at /api/emergency/): thin endpoints over services and selectors.

- ``POST /cases`` intake (operators/admins; IoT integrations and the QR page
  use an operator's API token or call the service directly); ``dispatch: true``
  also dispatches level 1 in the same request (the storm benchmark path).
- ``POST /cases/{id}/dispatch``, ``/milestones``, ``/cause``.
- ``GET /cases`` (scoped search: ``q``, ``number``, ``elevator``, ``address``, ``date_from``/``date_to``,
  ``case_type``, ``state``, ``channel``, ``open``, ``elevator_id``, ``since``), ``/cases/{id}``, ``/cases/{id}/timeline``, ``/board``
  (delta since a cursor), ``/upload`` (regulator-upload records with the
  derived ``deal_status``), ``/causes`` (the cause code tree).

Errors: 422 ``{"detail", "errors": {field: [...]}}``, 403, 404 (see liftsafe.core.api).
Personal data in every response is masked by the selectors unless the caller may see it.
"""
import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from liftsafe.core.pagination import BoundedPage

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5
    def Status(code, value):  # noqa: N802
        return code, value

from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator
from liftsafe.registry.selectors import elevators_for

from . import causes, selectors, services
from .models import OPEN_STATES

router = Router(tags=["emergency"])


class IntakeIn(Schema):
    elevator_id: int | None = Field(None, description="the elevator's id; or give rescue_code / registration_code / equipment_code")
    rescue_code: str | None = None
    registration_code: str | None = None
    equipment_code: str | None = None
    channel: str = Field(..., description="phone_96333 | car_alarm | iot | qr_report | transfer_12345 | transfer_119")
    case_type: str = Field(..., description="entrapment | fault_report | enquiry")
    received_at: dt.datetime | None = Field(None, description="default: now (server time)")
    trapped_count: int | None = None
    injured_count: int | None = None
    car_position: str = ""
    caller_phone: str = ""
    special_circumstances: str = ""
    details: dict | None = None
    source_ref: str = ""
    idempotency_key: str | None = Field(None, max_length=128)
    dispatch: bool = Field(False, description="also dispatch level 1 now (idempotent)")


class CaseOut(Schema):
    id: int
    order_number: str
    elevator_id: int
    elevator_code: str
    address: str
    channel: str
    case_type: str
    state: str
    level: int
    responder_id: int | None
    responder_name: str | None
    received_at: dt.datetime
    level_dispatched_at: dt.datetime | None
    trapped_count: int | None
    injured_count: int | None
    released_count: int | None
    car_position: str
    caller_phone: str = Field(..., description="masked (138****5678) unless the caller may see personal data")
    special_circumstances: str
    source_ref: str
    cause_class: str
    cause_item: str
    updated_at: dt.datetime

    @staticmethod
    def resolve_elevator_code(obj) -> str:
        return obj.elevator.display_code

    @staticmethod
    def resolve_address(obj) -> str:
        return obj.elevator.address

    @staticmethod
    def resolve_responder_name(obj) -> str | None:
        return obj.responder.name if obj.responder_id else None


class CaseDetailOut(CaseOut):
    details: dict
    durations: dict[str, float | None]
    status_code: str

    @staticmethod
    def resolve_durations(obj) -> dict:
        return selectors.durations(obj, _milestones(obj))

    @staticmethod
    def resolve_status_code(obj) -> str:
        return selectors.upload_status_code(obj, _milestones(obj))


def _milestones(case) -> list:
    """The case's milestones, read once per response."""
    if getattr(case, "_ms_cache", None) is None:
        case._ms_cache = list(case.milestones.all())
    return case._ms_cache


class IntakeOut(Schema):
    """Intake answer (kept small: it is the alarm-storm hot path; GET /cases/{id} has the detail)."""

    created: bool
    duplicate: bool
    case: CaseOut


class DispatchIn(Schema):
    level: int = Field(..., ge=1, le=3)
    responder_id: int | None = None
    at: dt.datetime | None = None


class MilestoneIn(Schema):
    kind: str = Field(..., description="responded | arrived | released | completed | false_alarm | cancelled")
    at: dt.datetime | None = None
    released_count: int | None = None
    note: str | None = None
    idempotency_key: str | None = Field(None, max_length=128)
    latitude: float | None = Field(None, description="arrived/released: the phone's latitude (WGS-84 degrees); omitted = no location (recorded as missing)")
    longitude: float | None = Field(None, description="arrived/released: the phone's longitude (WGS-84 degrees)")
    accuracy_m: float | None = Field(None, description="arrived/released: the phone's stated accuracy in metres; missing, ≤ 0 or above "
                                     "rule arrival_accuracy_max_m = unreliable (recorded and flagged)")
    confirmed_by: str = Field("", max_length=64, description="released: name of the use unit's person who confirmed the release on site")


class FieldRecordOut(Schema):
    """On-site proof of an arrival/release (personal data of the worker: regulator and the worker's own unit only)."""

    id: int
    milestone_id: int
    kind: str
    at: dt.datetime
    organisation_id: int | None
    recorded_by: str | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    location_check: str = Field(..., description="near | far | missing | unreliable | lift_unlocated")
    location_reason: str = Field(..., description="why missing/unreliable: not_given | partial | out_of_range | no_accuracy | "
                                 "accuracy_not_positive | accuracy_too_coarse, else empty")
    distance_m: float | None = Field(..., description="metres from the lift's coordinates, when both are known")
    flagged: bool
    has_photo: bool
    photo_sha256: str
    confirmed_by: str
    created_at: dt.datetime

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.milestone.kind

    @staticmethod
    def resolve_at(obj) -> dt.datetime:
        return obj.milestone.at

    @staticmethod
    def resolve_recorded_by(obj) -> str | None:
        return obj.recorded_by.get_username() if obj.recorded_by_id else None

    @staticmethod
    def resolve_has_photo(obj) -> bool:
        return bool(obj.photo)


class CallBackIn(Schema):
    party: str = Field(..., description="caller | use_unit | responder | other")
    outcome: str = Field(..., description="reached | no_answer | busy | wrong_number | voicemail")
    called_at: dt.datetime | None = Field(None, description="default: now")
    name: str = Field("", max_length=64)
    phone: str = Field("", max_length=32)
    note: str = Field("", max_length=500)


class CallBackOut(Schema):
    id: int
    party: str
    name: str
    phone: str = Field(..., description="masked unless the caller may see personal data")
    called_at: dt.datetime
    outcome: str
    note: str
    recorded_by: str | None

    @staticmethod
    def resolve_recorded_by(obj) -> str | None:
        return obj.recorded_by.get_username() if obj.recorded_by_id else None


class CallerLookupIn(Schema):
    phone: str = Field(..., max_length=32, description="the incoming number as the telephony system gives it (any format)")


class LookupElevatorOut(Schema):
    id: int
    code: str
    address: str
    rescue_code: str
    status: str

    @staticmethod
    def resolve_code(obj) -> str:
        return obj.display_code


class CallerLookupOut(Schema):
    phone: str = Field(..., description="the number, masked unless the caller may see personal data")
    masked: bool
    total: int = Field(..., description="earlier cases of this number in the caller's scope")
    cases: list[CaseOut] = Field(..., description="the newest of them (rule telephony_lookup_max_cases)")
    elevators: list[LookupElevatorOut] = Field(..., description="lifts at the addresses of those cases' lifts")


class MilestoneOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    recorded_at: dt.datetime
    actor: str | None
    level: int | None
    responder_id: int | None
    responder: str | None
    data: dict
    note: str = Field("", description="data.note in the caller's language (a platform note translated, a person's as typed)")

    @staticmethod
    def resolve_note(obj) -> str:
        from liftsafe.core.messages import render

        data = obj.get("data") if isinstance(obj, dict) else getattr(obj, "data", None)
        return render((data or {}).get("note") or "")


class CauseIn(Schema):
    cause_class: str
    cause_item: str


class CaseFilter(Schema):
    open: bool | None = None
    elevator_id: int | None = None
    since: dt.datetime | None = Field(None, description="only cases changed since")
    q: str = Field("", max_length=200, description="order number (or its beginning), else an elevator code (exact), "
                   "the sender's reference (exact) or part of the address")
    number: str = Field("", max_length=32, description="order number, exact or its beginning")
    elevator: str = Field("", max_length=64, description="any elevator identity code, exact")
    address: str = Field("", max_length=200, description="part of the elevator's address")
    date_from: dt.date | None = Field(None, description="received on or after this local date")
    date_to: dt.date | None = Field(None, description="received on or before this local date")
    case_type: str = Field("", description="entrapment | fault_report | enquiry")
    state: str = Field("", description="a state (received … cancelled), or open / closed")
    channel: str = Field("", description="phone_96333 | car_alarm | iot | qr_report | transfer_12345 | transfer_119")


class UploadOut(Schema):
    """Regulator-upload record (docs/domain §3.5, t_elevator_data style); status derived from milestones."""

    order_number: str
    equipment_code: str
    registration_code: str
    fault_timestamp: dt.datetime
    deal_status: str
    deal_respond_time: dt.datetime | None
    deal_arrive_time: dt.datetime | None
    deal_end_time: dt.datetime | None
    car_position: str


def _elevator(user, data: IntakeIn) -> Elevator:
    qs = elevators_for(user).select_related("area")
    for field in ("elevator_id", "rescue_code", "registration_code", "equipment_code"):
        val = getattr(data, field)
        if val in (None, ""):
            continue
        key = "pk" if field == "elevator_id" else field
        hits = list(qs.filter(**{key: val})[:2])
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise ValidationError({field: [f"No elevator with {field} {val!r} in your area."]})
        raise ValidationError({field: [f"{field} {val!r} matches several elevators; give elevator_id."]})
    raise ValidationError({"elevator_id": ["Identify the elevator: elevator_id, rescue_code, registration_code or equipment_code."]})


def _case(request, pk: int):
    return selectors.case_get(request.user, pk)


@router.post("/cases", response={200: IntakeOut, 201: IntakeOut}, summary="Take an alarm: open a case or attach to the open one")
def intake(request, data: IntakeIn):
    elevator = _elevator(request.user, data)
    res = services.intake_alarm(
        elevator, channel=data.channel, case_type=data.case_type, received_at=data.received_at or timezone.now(),
        actor=request.user, details=data.details, source_ref=data.source_ref, caller_phone=data.caller_phone,
        trapped_count=data.trapped_count, injured_count=data.injured_count, idempotency_key=data.idempotency_key,
        car_position=data.car_position, special_circumstances=data.special_circumstances, dispatch=data.dispatch)
    case = res.case  # loaded with its elevator and responder by the service; masked like every selector would
    if not selectors.sees_personal_data(scope_of(request.user)):
        case = selectors.mask_case(case)
    return Status(201 if res.created else 200, {"created": res.created, "duplicate": res.duplicate, "case": case})


@router.get("/cases", response=list[CaseOut], summary="Cases the caller may see, newest first")
@paginate(BoundedPage)
def case_list(request, filters: Query[CaseFilter]):
    """Scoped case search (``selectors.search_cases``): every given filter applies, newest first."""
    qs = selectors.search_cases(request.user, q=filters.q, number=filters.number, elevator=filters.elevator,
                                address=filters.address, date_from=filters.date_from, date_to=filters.date_to,
                                case_type=filters.case_type, state=filters.state, channel=filters.channel)
    if filters.open is True:
        qs = qs.filter(state__in=[s.value for s in OPEN_STATES])
    elif filters.open is False:
        qs = qs.exclude(state__in=[s.value for s in OPEN_STATES])
    if filters.elevator_id:
        qs = qs.filter(elevator_id=filters.elevator_id)
    if filters.since:
        qs = qs.filter(updated_at__gte=filters.since)
    return qs


@router.get("/cases/{pk}", response=CaseDetailOut, summary="One case with durations and status code")
def case_detail(request, pk: int):
    return _case(request, pk)


@router.get("/cases/{pk}/timeline", response=list[MilestoneOut], summary="The case's milestones, oldest first")
def case_timeline(request, pk: int):
    return selectors.case_timeline(request.user, _case(request, pk))


@router.post("/cases/{pk}/dispatch", response=CaseDetailOut, summary="Dispatch at level 1-3 (idempotent)")
def case_dispatch(request, pk: int, data: DispatchIn):
    case = _case(request, pk)
    responder = None
    if data.responder_id is not None:  # a referenced id: resolved through the caller's scope, else 404
        responder = services.responder_get(request.user, case, data.level, data.responder_id)
    services.dispatch_case(request.user, case, data.level, responder, at=data.at)
    return _case(request, pk)


@router.post("/cases/{pk}/milestones", response={201: MilestoneOut}, summary="Record responded/arrived/released/completed/false_alarm/cancelled")
def case_milestone(request, pk: int, data: MilestoneIn):
    case = _case(request, pk)
    extra = {"note": data.note}
    if data.kind == "released":
        extra["released_count"] = data.released_count
    # arrived/released carry the proof on site (location, use unit's confirmation); other kinds pass through
    m = services.record_on_site(request.user, case, data.kind, data.at, latitude=data.latitude, longitude=data.longitude,
                                accuracy_m=data.accuracy_m, confirmed_by=data.confirmed_by,
                                idempotency_key=data.idempotency_key, **extra)
    row = next(r for r in selectors.case_timeline(request.user, case) if r["id"] == m.pk)
    return Status(201, row)


@router.get("/cases/{pk}/on-site", response=list[FieldRecordOut],
            summary="On-site records (location, distance, flag, photo) of the case's arrivals and releases")
def case_on_site(request, pk: int):
    """The regulator of the area sees all; a responder unit its own workers' records; other roles an empty list."""
    return list(selectors.field_records_for(request.user, _case(request, pk)))


@router.post("/cases/{pk}/milestones/{milestone_id}/photo", response={201: FieldRecordOut},
             summary="Attach a photo (JPEG/PNG/WebP; metadata stripped) to an arrival/release's on-site record")
def case_on_site_photo(request, pk: int, milestone_id: int, file: File[UploadedFile]):
    rec = services.field_photo_add(request.user, _case(request, pk), milestone_id, file)
    return Status(201, selectors.field_record_get(request.user, _case(request, pk), rec.pk))


@router.get("/cases/{pk}/callbacks", response=list[CallBackOut], summary="Call-backs recorded on the case, oldest first")
def case_callbacks(request, pk: int):
    return selectors.callbacks_for(request.user, _case(request, pk))


@router.post("/cases/{pk}/callbacks", response={201: CallBackOut}, summary="Record a call-back (operator)")
def case_callback_add(request, pk: int, data: CallBackIn):
    case = _case(request, pk)
    cb = services.callback_record(request.user, case, party=data.party, outcome=data.outcome, called_at=data.called_at,
                                  name=data.name, phone=data.phone, note=data.note)
    return Status(201, next(r for r in selectors.callbacks_for(request.user, case) if r.pk == cb.pk))


@router.post("/callers/lookup", response=CallerLookupOut,
             summary="Caller lookup: an incoming number's earlier cases and the lifts at their address (telephony pop-up)")
def caller_lookup(request, data: CallerLookupIn):
    """For a telephony system calling with an operator's API token; phones masked for roles that may not see them."""
    r = selectors.caller_lookup(request.user, data.phone)
    return {"phone": r.phone, "masked": r.masked, "total": r.total, "cases": r.cases, "elevators": r.elevators}


@router.post("/cases/{pk}/cause", response=CaseDetailOut, summary="Report the cause (class → item)")
def case_cause(request, pk: int, data: CauseIn):
    services.report_cause(request.user, _case(request, pk), data.cause_class, data.cause_item)
    return _case(request, pk)


@router.get("/board", summary="Live board: open cases changed since the cursor (compact rows)")
def board(request, since: dt.datetime | None = None):
    return selectors.board_delta(request.user, since)


@router.get("/upload", response=list[UploadOut], summary="Regulator-upload records (docs/domain §3.5) of cases changed since")
@paginate(BoundedPage)
def upload(request, since: dt.datetime | None = None):
    qs = selectors.cases_for(request.user).prefetch_related("milestones")
    if since:
        qs = qs.filter(updated_at__gte=since)
    out = []
    for c in qs[:5000]:
        ms = list(c.milestones.all())
        d = selectors.derive(ms)
        out.append({"order_number": c.order_number, "equipment_code": c.elevator.equipment_code,
                    "registration_code": c.elevator.registration_code, "fault_timestamp": c.received_at,
                    "deal_status": selectors.upload_status_code(c, ms), "deal_respond_time": d.responded_at,
                    "deal_arrive_time": d.arrived_at, "deal_end_time": d.closed_at, "car_position": c.car_position})
    return out


@router.get("/causes", summary="Cause code tree (docs/domain §4.3): {class: {label, items: {item: label}}}")
def cause_tree(request):
    return {k: {"label": str(label), "items": {i: str(v) for i, v in items.items()}} for k, (label, items) in causes.CAUSES.items()}
