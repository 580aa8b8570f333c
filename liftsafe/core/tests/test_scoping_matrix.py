"""The scoping matrix: every role × every page and API operation × own / other's object.

Pages are found by walking Django's URL resolver, API operations by reading
the NinjaAPI's OpenAPI schema, so an endpoint that is not declared in
:data:`PAGES` or :data:`API` below makes ``test_every_endpoint_is_declared``
FAIL with its name. Declaring one is one dict entry::

    "app:url_name" / "api:<operationId>": Entry(
        kwargs=lambda ctx: {...},        # URL kwargs for ctx.side ("own" | "other"); None = no object
        expect={role: (own, other)},     # HTTP status per role (or role: status when kwargs is None)
        markers=lambda ctx, side: [...], # strings that identify side's data in a response body
        data=lambda ctx: {...},          # request body for writes (JSON for the API, form for pages)
        method="POST",                   # pages only; API methods come from the schema
        setup=lambda ctx: ...,           # build objects first (lists: both sides, e.g. both(make_case))
        verify=lambda ctx, status, text: [...],  # problems after the request, e.g. a refused write that happened
        secret=lambda ctx: [...],        # strings ctx.role must never receive (raw caller phone numbers)
    )

Objects of the emergency, hazards and monitoring apps are built per cell through
their services (make_case, make_hazard, make_campaign, make_alarm); ``sided`` is
the kwargs of an endpoint without URL kwargs whose body names an own/other object.

``ctx`` carries ``world`` (liftsafe.testing.make_world), ``role``,
``user`` (None for anonymous) and ``side``. "own" objects are in district A
(where every scoped role lives), "other" ones in district B. Only admin and the
city regulator may see B; everything else must answer 404 (API and pages alike:
out of scope is indistinguishable from missing) and no response body may
contain another side's markers, including nested objects (contracts,
lifecycle, history) and exports (CSV/XLSX content is checked). Each request
runs in a rolled-back savepoint, so writes do not leak between cells.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from liftsafe.core.models import ApiToken
from liftsafe.registry.models import Elevator, LifecycleEvent, MaintenanceContract

ROLES = ("admin", "regulator", "city_regulator", "operator", "maintenance_unit", "use_unit", "inspection_agency",
         "insurer", "rescue_station", "nobody", "anonymous")
LOGGED_IN = ROLES[:-1]
SEES_OTHER = {"admin", "city_regulator"}          # may see district B
EDITORS = {"admin", "regulator", "city_regulator"}  # may change the registry (in their scope)

# URL prefixes that are not part of the matrix (Django's own admin, language switch, files).
EXCLUDED_PREFIXES = ("admin/", "i18n/", "static/", "media/", "__debug__/")


@dataclass
class Ctx:
    world: Any
    role: str
    user: Any
    side: str | None
    store: dict = field(default_factory=dict)


@dataclass
class Entry:
    kwargs: Callable[[Ctx], dict] | None
    expect: dict
    markers: Callable[[Ctx, str], list[str]] | None = None
    data: Callable[[Ctx], dict] | None = None
    method: str = "GET"
    own_markers_shown: bool = True  # lists: whoever sees anything must see the own markers
    sees_other: frozenset = frozenset(SEES_OTHER)  # roles allowed to see the "other" markers
    personal: bool = False  # the user's own things (tokens): every logged-in user, even without a role, sees own
    setup: Callable[[Ctx], Any] | None = None  # builds objects (both sides for lists) inside the cell's savepoint
    query: Callable[[Ctx], dict] | None = None  # query string (pages/API), e.g. ?elevator=<pk>
    multipart: bool = False  # send ``data`` as multipart/form-data (file uploads) instead of JSON
    verify: Callable[[Ctx, int, str], list[str]] | None = None  # DB checks after the request (e.g. "no write happened")
    secret: Callable[[Ctx], list[str]] | None = None  # strings ctx.role must never get in any response (personal data)


# --- expectation profiles -------------------------------------------------------------------

def read(anon: int) -> dict:
    """Object anyone with it in scope may read: A-scoped roles own only, nobody nothing."""
    d = {r: (404 if r == "nobody" else 200, 200 if r in SEES_OTHER else 404) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def write(ok: int, anon: int = 401) -> dict:
    """Registry write: editors in scope succeed, others who can see it get 403, out of scope 404."""
    d = {}
    for r in LOGGED_IN:
        own = ok if r in EDITORS else (404 if r == "nobody" else 403)
        d[r] = (own, ok if r in SEES_OTHER else 404)
    d["anonymous"] = (anon, anon)
    return d


def listing(anon: int, ok: int = 200) -> dict:
    """No object: every logged-in user gets ``ok`` (content is scoped), anonymous ``anon``."""
    return {**{r: ok for r in LOGGED_IN}, "anonymous": anon}


def public(status: int = 200) -> dict:
    return {r: status for r in ROLES}


# --- kwargs builders and markers ---------------------------------------------------------------

def elevator_of(ctx: Ctx, side: str | None = None) -> Elevator:
    return ctx.world.elevators["a1" if (side or ctx.side) == "own" else "b1"]


def elevator_kw(name: str):
    return lambda ctx: {name: elevator_of(ctx).pk}


def codes(ctx: Ctx, side: str) -> list[str]:
    keys = ("a1", "a2") if side == "own" else ("b1", "b2")
    return [ctx.world.elevators[k].registration_code for k in keys]


def one_code(ctx: Ctx, side: str) -> list[str]:
    return [elevator_of(ctx, side).registration_code]


def nested(prefix: str):
    """Markers planted on a1 ("own") and b1 ("other") by the fixture: CT-…, LC-…, HIST-…."""
    return lambda ctx, side: [f"{prefix}-{'a1' if side == 'own' else 'b1'}"]


def org_names(ctx: Ctx, side: str) -> list[str]:
    return [] if side == "own" else [o.name for (kind, s), o in ctx.world.orgs.items() if s == "b"]


def own_org(ctx: Ctx):
    org = ctx.user and getattr(getattr(ctx.user, "profile", None), "organisation", None)
    return org or ctx.world.orgs[("use_unit", "a")]


def org_kw(ctx: Ctx) -> dict:
    return {"organisation_id": (own_org(ctx) if ctx.side == "own" else ctx.world.orgs[("use_unit", "b")]).pk}


def token_kw(ctx: Ctx) -> dict:
    if ctx.side == "own" and ctx.user is not None:
        owner = ctx.user
    else:  # someone else's token
        owner = ctx.world.users["nobody" if ctx.role != "nobody" else "admin"]
    rec, _plain = ApiToken.issue(owner, f"TOK-{ctx.side}")
    return {"token_id": rec.pk}


def tokens_setup(ctx: Ctx) -> dict:
    if ctx.user is not None:
        ApiToken.issue(ctx.user, "TOK-own")
    ApiToken.issue(ctx.world.users["nobody" if ctx.role != "nobody" else "admin"], "TOK-other")
    return {}


def no_kwargs(ctx: Ctx) -> dict:
    return {}


def areas(ctx: Ctx, side: str) -> list[str]:
    return ['"320102"'] if side == "own" else ['"320104"']


# --- the table: pages (URL name) ------------------------------------------------------------------

PAGES: dict[str, Entry] = {
    "home": Entry(None, listing(302, 200)),
    "login": Entry(None, public(200)),
    "logout": Entry(None, public(302), method="POST"),
    "healthz": Entry(None, public(200)),
    "account_tokens": Entry(tokens_setup, listing(302), markers=lambda ctx, side: [f"TOK-{side}"],
                            sees_other=frozenset(), personal=True),
    "account_token_revoke": Entry(token_kw, {**{r: (302, 404) for r in LOGGED_IN}, "anonymous": (302, 302)}, method="POST"),
    "registry:elevator_list": Entry(None, listing(302), markers=codes),
    "registry:elevator_detail": Entry(elevator_kw("pk"), read(302), markers=one_code),
    # the generic history page (core/history.py), scoped through the scope the registry registered for Elevator
    "history": Entry(lambda ctx: {"app_label": "registry", "model": "elevator", "pk": elevator_of(ctx).pk}, read(302),
                     markers=nested("HIST")),
    "registry:elevator_export_csv": Entry(None, listing(302), markers=codes),
    "registry:elevator_export_xlsx": Entry(None, listing(302), markers=codes),
    "api:openapi-json": Entry(None, public(200)),
    "api:openapi-view": Entry(None, public(200)),
}

# --- the table: API operations (operationId) ---------------------------------------------------------

API: dict[str, Entry] = {
    "core_me": Entry(None, listing(401)),
    "core_area_list": Entry(None, listing(401), markers=areas),
    "core_token_list": Entry(tokens_setup, listing(401), markers=lambda ctx, side: [f"TOK-{side}"],
                             sees_other=frozenset(), personal=True),
    "core_token_issue": Entry(None, listing(401, 201), data=lambda ctx: {"name": "matrix"}),
    "core_token_revoke": Entry(token_kw, {**{r: (204, 404) for r in LOGGED_IN}, "anonymous": (401, 401)}),
    "registry_elevator_list": Entry(None, listing(401), markers=codes),
    "registry_elevator_export_csv": Entry(None, listing(401), markers=codes),
    "registry_elevator_export_xlsx": Entry(None, listing(401), markers=codes),
    "registry_elevator_detail": Entry(elevator_kw("elevator_id"), read(401), markers=one_code),
    "registry_elevator_contracts": Entry(elevator_kw("elevator_id"), read(401), markers=nested("CT")),
    "registry_elevator_lifecycle": Entry(elevator_kw("elevator_id"), read(401), markers=nested("LC")),
    "registry_elevator_history": Entry(elevator_kw("elevator_id"), read(401), markers=nested("HIST")),
    "history_list": Entry(lambda ctx: {"app_label": "registry", "model": "elevator", "pk": elevator_of(ctx).pk}, read(401),
                          markers=nested("HIST")),
    "registry_elevator_update": Entry(elevator_kw("elevator_id"), write(200), data=lambda ctx: {"floors": 9, "reason": "matrix"}),
    "registry_elevator_set_status": Entry(elevator_kw("elevator_id"), write(200), data=lambda ctx: {"status": "stopped", "reason": "matrix"}),
    "registry_elevator_contract_create": Entry(
        elevator_kw("elevator_id"), write(201),
        data=lambda ctx: {"maintenance_unit": ctx.world.orgs[("maintenance_unit", "a" if ctx.side == "own" else "b")].pk,
                          "start_date": "2026-06-01"}),
    "registry_elevator_lifecycle_add": Entry(elevator_kw("elevator_id"), write(201),
                                             data=lambda ctx: {"kind": "modified", "occurred_on": "2025-01-01"}),
    "registry_organisation_list": Entry(None, listing(401), markers=org_names, own_markers_shown=False),
    "registry_organisation_detail": Entry(org_kw, read(401)),
}


# --- emergency, hazards, monitoring: builders (through the apps' services) -------------------------------

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.utils import timezone  # noqa: E402

SIDE = {"own": "a", "other": "b"}
#: recognisable caller phone numbers (personal data): raw only for operators, admins and the dispatched responder
PHONE = {"own": "13900001111", "other": "13900002222"}
PHONE2 = {"own": "13900003333", "other": "13900004444"}  # a second caller, attached to the open case (milestone data)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def sided(ctx: Ctx) -> dict:
    """No URL kwargs, but the request body depends on the side (run once per side)."""
    return {}


def _side(ctx: Ctx, side: str | None) -> str:
    return side or ctx.side


def make_case(ctx: Ctx, side: str | None = None):
    """An open entrapment on a1 (own) / b1 (other), taken by intake and dispatched at level 1 to the
    contracted maintenance unit of that side (A's / B's). Stored as ``ctx.store[side]``."""
    from liftsafe.emergency import services as em

    side = _side(ctx, side)
    res = em.intake_alarm(elevator_of(ctx, side), channel="phone_96333", case_type="entrapment",
                          received_at=timezone.now() - dt.timedelta(minutes=5), caller_phone=PHONE[side], trapped_count=2)
    em.intake_alarm(elevator_of(ctx, side), channel="phone_96333", case_type="entrapment",
                    received_at=timezone.now() - dt.timedelta(minutes=4), caller_phone=PHONE2[side])
    em.dispatch_case(ctx.world.users["admin"], res.case, 1)
    ctx.store[side] = res.case
    return res.case


def both(maker):
    def setup(ctx: Ctx) -> None:
        maker(ctx, "own")
        maker(ctx, "other")
    return setup


def case_kw(name: str = "pk"):
    return lambda ctx: {name: make_case(ctx).pk}


# who sees a case (emergency.selectors.scope_cases): area roles by area, responders only when dispatched to
# them (the own case went to A's maintenance unit, not to A's rescue station), others by their elevators
CASE_SEES_OWN = set(LOGGED_IN) - {"rescue_station", "nobody"}
PERSONAL_OWN = {"admin", "operator", "maintenance_unit"}  # see the own case's caller phone unmasked
PERSONAL_OTHER = {"admin"}


def case_read(anon: int, ok: int = 200) -> dict:
    d = {r: (ok if r in CASE_SEES_OWN else 404, ok if r in SEES_OTHER else 404) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def roles_only(allowed: set, anon: int = 302, ok: int = 200, denied: int = 403) -> dict:
    return {**{r: ok if r in allowed else denied for r in LOGGED_IN}, "anonymous": anon}


def case_markers(ctx: Ctx, side: str) -> list[str]:
    c = ctx.store.get(side)
    if c is None or (side == "own" and ctx.role not in CASE_SEES_OWN):
        return []
    return [c.order_number]


def case_phone_markers(ctx: Ctx, side: str) -> list[str]:
    """Order number plus the caller phone: raw for who may see it, masked (138****5678) for everyone else."""
    from liftsafe.emergency.selectors import mask_phone

    out = case_markers(ctx, side)
    if out:
        allowed = PERSONAL_OWN if side == "own" else PERSONAL_OTHER
        out.append(PHONE[side] if ctx.role in allowed else mask_phone(PHONE[side]))
    return out


def case_secret(ctx: Ctx) -> list[str]:
    """Raw phones this role must never get, and the own case's number for roles that may not see it."""
    out = [] if ctx.role in PERSONAL_OWN else [PHONE["own"], PHONE2["own"]]
    if ctx.role not in PERSONAL_OTHER:
        out += [PHONE["other"], PHONE2["other"]]
    if ctx.role not in CASE_SEES_OWN and "own" in ctx.store:
        out.append(ctx.store["own"].order_number)
    return out


def case_changed(test: Callable[[Any], bool], allowed: Callable[[Ctx], bool], what: str):
    """verify: the cell's case shows ``test`` true iff ``allowed(ctx)`` (a refused write changes nothing)."""
    def verify(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.emergency.models import EmergencyCase

        case = EmergencyCase.objects.get(pk=ctx.store[ctx.side].pk)
        done, want = test(case), allowed(ctx)
        if done != want:
            return [f"{what} {'happened' if done else 'did not happen'} (HTTP {status})"]
        return []
    return verify


def has_milestone(kind: str):
    return lambda case: case.milestones.filter(kind=kind).exists()


def operator_allowed(ctx: Ctx) -> bool:
    return ctx.role == "admin" or (ctx.role == "operator" and ctx.side == "own")


def op_or_responder(ctx: Ctx) -> bool:
    return operator_allowed(ctx) or (ctx.role == "maintenance_unit" and ctx.side == "own")


def intake_data(ctx: Ctx) -> dict:
    return {"elevator_id": elevator_of(ctx).pk, "channel": "phone_96333", "case_type": "entrapment",
            "caller_phone": PHONE[ctx.side], "trapped_count": 1}


def intake_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.emergency.models import EmergencyCase

    n = EmergencyCase.objects.filter(elevator=elevator_of(ctx)).count()
    return [] if n == (1 if status == 201 else 0) else [f"{n} case(s) on the elevator after HTTP {status}"]


def intake_expect() -> dict:
    """Out of scope → 422 "no elevator … in your area" (like a missing one); in scope, not an operator → 403."""
    d = {}
    for r in LOGGED_IN:
        if r == "admin":
            d[r] = (201, 201)
        elif r == "operator":
            d[r] = (201, 422)
        elif r == "city_regulator":
            d[r] = (403, 403)
        elif r == "nobody":
            d[r] = (422, 422)
        else:
            d[r] = (403, 422)
    d["anonymous"] = (401, 401)
    return d


def case_write_api(ok: int, actors: set) -> dict:
    """A case write: ``actors`` (may act on their own case; admin on both) → ok; sees the case but may not → 403;
    does not see it → 404."""
    d = {}
    for r in LOGGED_IN:
        own = ok if r in actors or r == "admin" else (403 if r in CASE_SEES_OWN else 404)
        other = ok if r == "admin" else (403 if r in SEES_OTHER else 404)
        d[r] = (own, other)
    d["anonymous"] = (401, 401)
    return d


def page_case_write(actors: set, visible_required: bool = False) -> dict:
    """Pages: the role check comes first (403), then the case lookup (404); success redirects (302)."""
    d = {}
    for r in LOGGED_IN:
        if r not in actors:
            d[r] = (403, 403)
        elif r == "admin":
            d[r] = (302, 302)
        else:
            d[r] = (302 if r in CASE_SEES_OWN else 404, 404)
    d["anonymous"] = (302, 302)
    return d


CAUSE = {"cause_class": "human", "cause_item": "rubbish_blocking_doors"}


def make_hazard(ctx: Ctx, side: str | None = None, title: str | None = None):
    """An open hazard on a1 / b1 filed by the admin; responsible unit: that side's use unit."""
    from liftsafe.hazards import services as hz

    side = _side(ctx, side)
    h = hz.hazard_file(ctx.world.users["admin"], elevator=elevator_of(ctx, side), source="inspection",
                       title=title or f"HZ-{side}", level="general",
                       responsible_unit=ctx.world.orgs[("use_unit", SIDE[side])])
    ctx.store[side] = h
    return h


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def make_evidence(ctx: Ctx, side: str | None = None):
    from liftsafe.hazards import services as hz

    side = _side(ctx, side)
    h = make_hazard(ctx, side)
    ev = hz.evidence_add(ctx.world.users["use_unit"] if side == "own" else ctx.world.users["admin"], h, png())
    ctx.store[f"ev-{side}"] = ev
    return ev


def make_campaign(ctx: Ctx, side: str | None = None):
    """A look-back campaign (name CAMP-<side>) over the side's district with one re-check: a hazard taken
    through rectification (evidence, submit) and verified close-out, all through hazards.services."""
    from liftsafe.hazards import services as hz

    side = _side(ctx, side)
    h = make_hazard(ctx, side)
    unit = ctx.world.users["use_unit"] if side == "own" else ctx.world.users["admin"]
    hz.evidence_add(unit, h, png())
    h = hz.rectification_submit(unit, h, version=None, note="fixed")
    hz.hazard_close(ctx.world.users["admin"], h, version=None)
    today = timezone.localdate()
    c = hz.campaign_create(ctx.world.users["admin"], name=f"CAMP-{side}", area=ctx.world.district_a if side == "own" else ctx.world.district_b,
                           period_start=today - dt.timedelta(days=30), period_end=today, rate=1.0, seed=1)
    ctx.store[f"camp-{side}"] = c
    return c


def hazard_titles(ctx: Ctx, side: str) -> list[str]:
    return [f"HZ-{side}"]


def hazard_changed(test: Callable[[Any], bool], allowed: Callable[[Ctx], bool], what: str):
    def verify(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.hazards.models import Hazard

        done, want = test(Hazard.objects.get(pk=ctx.store[ctx.side].pk)), allowed(ctx)
        return [f"{what} {'happened' if done else 'did not happen'} (HTTP {status})"] if done != want else []
    return verify


def responsible_or_admin(ctx: Ctx) -> bool:
    return ctx.role == "admin" or (ctx.role == "use_unit" and ctx.side == "own")


def evidence_allowed(ctx: Ctx) -> bool:
    """Responsible unit (rectification) or a regulator in scope (verification record)."""
    return ctx.role in ("admin", "city_regulator") or (ctx.role in ("use_unit", "regulator") and ctx.side == "own")


def rechecker(ctx: Ctx) -> bool:
    return ctx.role in ("admin", "city_regulator") or (ctx.role in ("regulator", "inspection_agency") and ctx.side == "own")


def recheck_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Recheck

    done = Recheck.objects.filter(campaign=ctx.store[f"camp-{ctx.side}"], result="pass").exists()
    want = rechecker(ctx)
    return [f"re-check {'recorded' if done else 'not recorded'} (HTTP {status})"] if done != want else []


def filer_page(anon: int) -> dict:
    """A form of a regulator's action (permission table): the regulators and admin read it in scope (else 404);
    every other role is refused before the object is looked at (403)."""
    d = {r: ((200, 200 if r in SEES_OTHER else 404) if r in EDITORS else (403, 403)) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def in_scope_write(ok: int, anon: int) -> dict:
    """Anyone who sees the object gets ``ok`` (a page answers refusals with a message and a redirect), else 404."""
    d = {r: (404 if r == "nobody" else ok, ok if r in SEES_OTHER else 404) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def role_write_api(ok: int, actors_own: set, actors_both: set = frozenset({"admin"})) -> dict:
    """API write on an object everyone in scope sees: actors → ok, others who see it → 403, out of scope → 404."""
    d = {}
    for r in LOGGED_IN:
        own = ok if r in actors_own | actors_both else (404 if r == "nobody" else 403)
        other = ok if r in actors_both else (403 if r in SEES_OTHER else 404)
        d[r] = (own, other)
    d["anonymous"] = (401, 401)
    return d


def hazard_create_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Hazard

    n = Hazard.objects.filter(title="HZ-new").count()
    return [] if n == (1 if status == 200 else 0) else [f"{n} hazard(s) filed after HTTP {status}"]


def evidence_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Evidence

    done, want = Evidence.objects.filter(hazard=ctx.store[ctx.side]).exists(), evidence_allowed(ctx)
    return [f"evidence {'stored' if done else 'not stored'} (HTTP {status})"] if done != want else []


def make_alarm(ctx: Ctx, side: str | None = None):
    """A device DEV-A1 / DEV-B1 bound to a1 / b1 with an active door-fault alarm ALM-<side> (monitoring.services)."""
    from liftsafe.monitoring import services as mon

    side = _side(ctx, side)
    e = elevator_of(ctx, side)
    dev = mon.bind_device(e, f"DEV-{e.source_id}", vendor="matrix")
    alarm, _created = mon.raise_alarm(e, "door_fault", device=dev, code="MX", detail=f"ALM-{side}")
    ctx.store[side] = alarm
    return alarm


def alarm_markers(ctx: Ctx, side: str) -> list[str]:
    return [f"ALM-{side}"]


def device_markers(ctx: Ctx, side: str) -> list[str]:
    return [f"DEV-{elevator_of(ctx, side).source_id}"]


# monitoring roles (docs/monitoring.md "Roles"): the elevator's maintenance unit (the integrator) binds/unbinds
# devices and submits their messages; 96333 operators and the maintenance unit acknowledge/clear alarms; admin all
def alarm_handler(ctx: Ctx) -> bool:
    return ctx.role == "admin" or (ctx.role in ("operator", "maintenance_unit") and ctx.side == "own")


def integrator(ctx: Ctx) -> bool:
    return ctx.role == "admin" or (ctx.role == "maintenance_unit" and ctx.side == "own")


def ack_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.monitoring.models import Alarm

    done = Alarm.objects.get(pk=ctx.store[ctx.side].pk).acknowledged_at is not None
    want = alarm_handler(ctx)
    return [f"alarm {'acknowledged' if done else 'not acknowledged'} (HTTP {status})"] if done != want else []


def clear_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.monitoring.models import Alarm

    done = Alarm.objects.get(pk=ctx.store[ctx.side].pk).cleared_at is not None
    want = alarm_handler(ctx)
    return [f"alarm {'cleared' if done else 'not cleared'} (HTTP {status})"] if done != want else []


def bind_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.monitoring.models import MonitoringDevice

    done = MonitoringDevice.objects.filter(device_id="DEV-NEW").exists()
    want = integrator(ctx)
    return [] if done == want else [f"device {'bound' if done else 'not bound'} after HTTP {status}"]


def unbind_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.monitoring.models import MonitoringDevice

    done = not MonitoringDevice.objects.get(pk=ctx.store[ctx.side].device_id).active
    want = integrator(ctx)
    return [] if done == want else [f"device {'unbound' if done else 'not unbound'} after HTTP {status}"]


def messages_data(ctx: Ctx) -> dict:
    make_alarm(ctx)
    return {"messages": [{"v": 1, "type": "heartbeat", "device": f"DEV-{elevator_of(ctx).source_id}", "id": f"mx-{ctx.role}",
                          "ts": timezone.now().isoformat()}]}


def messages_expect() -> dict:
    """Integrators (maintenance units) and admins submit (content decided per message); everyone else 403."""
    return {**{r: (200, 200) if r in ("admin", "maintenance_unit") else (403, 403) for r in LOGGED_IN}, "anonymous": (401, 401)}


def messages_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    """A device's message is accepted only from its integrator (or an admin); another integrator's is dead-lettered
    without a ledger row; a refused caller (403) leaves no ledger row and no dead letter at all."""
    import json

    from liftsafe.monitoring.models import DeadLetter, ProcessedMessage

    if status != 200:
        left = ProcessedMessage.objects.filter(message_id=f"mx-{ctx.role}").count() + DeadLetter.objects.count()
        return [f"refused submission left {left} ledger row(s)/dead letter(s) (HTTP {status})"] if left else []
    outcome = json.loads(text)["outcomes"][0]
    want = integrator(ctx)
    if not want and ProcessedMessage.objects.filter(message_id=f"mx-{ctx.role}").exists():
        return ["another integrator's message claimed the device's message id in the ledger"]
    if (outcome == "accepted") != want:
        return [f"message outcome {outcome!r}, expected {'accepted' if want else 'dead-lettered'}"]
    return []


PAGES.update({
    # emergency: console/dispatch operators (+admin), board operators/regulators, responder page MU/rescue station
    "emergency:console": Entry(None, roles_only({"admin", "operator"})),
    "emergency:intake": Entry(elevator_kw("elevator_pk"),
                              {**{r: (403, 403) for r in LOGGED_IN}, "admin": (200, 200), "operator": (200, 404),
                               "anonymous": (302, 302)}, markers=one_code),
    "emergency:board": Entry(None, roles_only({"admin", "operator", "regulator", "city_regulator"}), setup=both(make_case),
                             markers=case_markers, secret=case_secret),
    "emergency:board_delta": Entry(None, roles_only({"admin", "operator", "regulator", "city_regulator"}), setup=both(make_case),
                                   markers=case_markers, secret=case_secret),
    "emergency:case_detail": Entry(case_kw(), case_read(302), markers=case_phone_markers, secret=case_secret),
    "emergency:case_dispatch": Entry(case_kw(), page_case_write({"admin", "operator"}), method="POST", data=lambda ctx: {"level": 2},
                                     verify=case_changed(lambda c: c.level == 2, operator_allowed, "level-2 dispatch"),
                                     secret=case_secret),
    "emergency:case_close": Entry(case_kw(), page_case_write({"admin", "operator"}), method="POST",
                                  data=lambda ctx: {"kind": "false_alarm"},
                                  verify=case_changed(lambda c: c.state == "false_alarm", operator_allowed, "close"),
                                  secret=case_secret),
    "emergency:responder": Entry(None, roles_only({"maintenance_unit", "rescue_station"}), setup=both(make_case),
                                 markers=case_phone_markers, secret=case_secret),
    "emergency:responder_milestone": Entry(
        case_kw(), page_case_write({"maintenance_unit", "rescue_station"}), method="POST", data=lambda ctx: {"kind": "responded"},
        verify=case_changed(has_milestone("responded"), lambda ctx: ctx.role == "maintenance_unit" and ctx.side == "own", "responded"),
        secret=case_secret),
    "emergency:responder_cause": Entry(
        case_kw(), page_case_write({"maintenance_unit", "rescue_station"}), method="POST",
        data=lambda ctx: {"cause_class": CAUSE["cause_class"], "cause_item": f"{CAUSE['cause_class']}:{CAUSE['cause_item']}"},
        verify=case_changed(lambda c: c.cause_class == "human", lambda ctx: ctx.role == "maintenance_unit" and ctx.side == "own", "cause"),
        secret=case_secret),
    "emergency:regulator": Entry(None, roles_only({"admin", "regulator", "city_regulator"}), setup=both(make_case),
                                 markers=case_markers, secret=case_secret),
    # hazards: everyone in scope reads; responsible unit rectifies; regulators file/verify; pages refuse with a message
    "hazards:list": Entry(None, listing(302), setup=both(make_hazard), markers=hazard_titles),
    "hazards:mine": Entry(None, {**{r: 302 for r in LOGGED_IN}, "admin": 200, "use_unit": 200, "maintenance_unit": 200,
                                 "anonymous": 302}, setup=both(make_hazard),
                          markers=lambda ctx, side: [f"HZ-{side}"] if ctx.role == "use_unit" or side == "other" else [],
                          sees_other=frozenset()),
    # issue 16: the filing form only for roles that may file a hazard (permission "hazard.file"); others 403
    "hazards:new": Entry(sided, filer_page(302), query=lambda ctx: {"elevator": elevator_of(ctx).pk}, markers=one_code),
    "hazards:detail": Entry(lambda ctx: {"pk": make_hazard(ctx).pk}, read(302), markers=hazard_titles),
    "hazards:action": Entry(lambda ctx: {"pk": make_hazard(ctx).pk, "action": "start"}, in_scope_write(302, 302), method="POST",
                            verify=hazard_changed(lambda h: h.state == "rectifying", responsible_or_admin, "rectification start")),
    "hazards:evidence_upload": Entry(lambda ctx: {"pk": make_hazard(ctx).pk}, in_scope_write(302, 302), method="POST",
                                     data=lambda ctx: {"file": png()}, verify=evidence_verify),
    "hazards:evidence": Entry(lambda ctx: {"pk": make_evidence(ctx).pk}, read(302)),
    "hazards:elevators": Entry(None, listing(302), setup=both(make_hazard),
                               markers=lambda ctx, side: [f"{elevator_of(ctx, side).source_id} Test Road"]),
    "hazards:elevator_file": Entry(lambda ctx: {"elevator_id": make_hazard(ctx).elevator_id}, read(302), markers=hazard_titles),
    "hazards:campaigns": Entry(None, listing(302), setup=both(make_campaign), markers=lambda ctx, side: [f"CAMP-{side}"]),
    "hazards:campaign_detail": Entry(lambda ctx: {"pk": make_campaign(ctx).pk}, read(302), markers=lambda ctx, side: [f"CAMP-{side}"]),
    "hazards:recheck": Entry(lambda ctx: {"pk": make_campaign(ctx).pk}, in_scope_write(302, 302), method="POST",
                             data=lambda ctx: {"hazard": str(ctx.store[ctx.side].pk), "result": "pass"}, verify=recheck_verify),
    "hazards:unit_search": Entry(None, listing(302), query=lambda ctx: {"q": "unit"}, own_markers_shown=False,
                                 markers=lambda ctx, side: [] if side == "own" else ["use_unit B", "maintenance_unit B"]),
    "hazards:stats": Entry(None, listing(302), setup=both(make_hazard),
                           markers=lambda ctx, side: [ctx.world.district_a.name if side == "own" else ctx.world.district_b.name]),
    # monitoring: scoped through the elevator
    "monitoring:overview": Entry(None, listing(302), setup=both(make_alarm), markers=alarm_markers),
    "monitoring:devices": Entry(None, listing(302), setup=both(make_alarm), markers=device_markers),
    "monitoring:elevator": Entry(lambda ctx: {"pk": make_alarm(ctx).elevator_id}, read(302),
                                 markers=lambda ctx, side: alarm_markers(ctx, side) + device_markers(ctx, side)),
    "monitoring:alarm_acknowledge": Entry(lambda ctx: {"pk": make_alarm(ctx).pk}, in_scope_write(302, 302), method="POST",
                                          verify=ack_verify),
    "monitoring:alarm_clear": Entry(lambda ctx: {"pk": make_alarm(ctx).pk}, in_scope_write(302, 302), method="POST",
                                    data=lambda ctx: {"reason": "matrix"}, verify=clear_verify),
    "monitoring:device_bind": Entry(lambda ctx: {"pk": elevator_of(ctx).pk}, in_scope_write(302, 302), method="POST",
                                    data=lambda ctx: {"device_id": "DEV-NEW"}, verify=bind_verify),
    "monitoring:device_unbind": Entry(lambda ctx: {"pk": make_alarm(ctx).device_id}, in_scope_write(302, 302), method="POST",
                                      verify=unbind_verify),
})

_E, _H, _M = "liftsafe_emergency_api_", "liftsafe_hazards_api_", "liftsafe_monitoring_api_"
API.update({
    _E + "intake": Entry(sided, intake_expect(), data=intake_data, verify=intake_verify, secret=case_secret),
    _E + "case_list": Entry(None, listing(401), setup=both(make_case), markers=case_phone_markers, secret=case_secret),
    _E + "case_detail": Entry(case_kw(), case_read(401), markers=case_phone_markers, secret=case_secret),
    _E + "case_timeline": Entry(case_kw(), case_read(401), secret=case_secret,
                                markers=lambda ctx, side: [f"maintenance_unit {SIDE[side].upper()}"]),
    _E + "case_dispatch": Entry(case_kw(), case_write_api(200, {"operator"}), data=lambda ctx: {"level": 2},
                                verify=case_changed(lambda c: c.level == 2, operator_allowed, "level-2 dispatch"),
                                secret=case_secret),
    _E + "case_milestone": Entry(case_kw(), case_write_api(201, {"operator", "maintenance_unit"}), data=lambda ctx: {"kind": "responded"},
                                 verify=case_changed(has_milestone("responded"), op_or_responder, "responded"), secret=case_secret),
    _E + "case_cause": Entry(case_kw(), case_write_api(200, {"operator", "maintenance_unit"}), data=lambda ctx: dict(CAUSE),
                             verify=case_changed(lambda c: c.cause_class == "human", op_or_responder, "cause"), secret=case_secret),
    _E + "board": Entry(None, listing(401), setup=both(make_case), markers=case_markers, secret=case_secret),
    _E + "upload": Entry(None, listing(401), setup=both(make_case), markers=case_markers, secret=case_secret),
    _E + "cause_tree": Entry(None, listing(401)),
    _H + "hazard_list": Entry(None, listing(401), setup=both(make_hazard), markers=hazard_titles),
    _H + "hazard_detail": Entry(lambda ctx: {"hazard_id": make_hazard(ctx).pk}, read(401), markers=hazard_titles),
    _H + "hazard_create": Entry(sided, role_write_api(200, {"regulator"}, {"admin", "city_regulator"}), verify=hazard_create_verify,
                                data=lambda ctx: {"elevator_id": elevator_of(ctx).pk, "source": "inspection", "title": "HZ-new",
                                                  "level": "general",
                                                  "responsible_unit_id": ctx.world.orgs[("use_unit", SIDE[ctx.side])].pk}),
    _H + "hazard_action": Entry(lambda ctx: {"hazard_id": make_hazard(ctx).pk, "action": "start"}, role_write_api(200, {"use_unit"}),
                                data=lambda ctx: {"version": ctx.store[ctx.side].version},
                                verify=hazard_changed(lambda h: h.state == "rectifying", responsible_or_admin, "rectification start")),
    _H + "evidence_upload": Entry(lambda ctx: {"hazard_id": make_hazard(ctx).pk},
                                  role_write_api(200, {"use_unit", "regulator"}, {"admin", "city_regulator"}),
                                  data=lambda ctx: {"file": png()}, multipart=True, verify=evidence_verify),
    _H + "recheck": Entry(lambda ctx: {"campaign_id": make_campaign(ctx).pk},
                          role_write_api(200, {"regulator", "inspection_agency"}, {"admin", "city_regulator"}),
                          data=lambda ctx: {"hazard_id": ctx.store[ctx.side].pk, "result": "pass"}, verify=recheck_verify),
    _H + "statistics": Entry(None, listing(401), setup=both(make_hazard), markers=areas),
    _M + "alarm_list": Entry(None, listing(401), setup=both(make_alarm), markers=alarm_markers),
    _M + "alarm_ack": Entry(lambda ctx: {"alarm_id": make_alarm(ctx).pk}, role_write_api(200, {"operator", "maintenance_unit"}),
                            markers=alarm_markers, verify=ack_verify),
    _M + "alarm_clear": Entry(lambda ctx: {"alarm_id": make_alarm(ctx).pk}, role_write_api(200, {"operator", "maintenance_unit"}),
                              data=lambda ctx: {"reason": "matrix"}, markers=alarm_markers, verify=clear_verify),
    _M + "device_list": Entry(None, listing(401), setup=both(make_alarm), markers=device_markers),
    _M + "device_bind": Entry(sided, role_write_api(201, {"maintenance_unit"}), verify=bind_verify,
                              data=lambda ctx: {"elevator_id": elevator_of(ctx).pk, "device_id": "DEV-NEW"}),
    _M + "device_unbind": Entry(lambda ctx: {"device_pk": make_alarm(ctx).device_id}, role_write_api(200, {"maintenance_unit"}),
                                markers=device_markers, verify=unbind_verify),
    _M + "submit_messages": Entry(sided, messages_expect(), data=messages_data, verify=messages_verify),
})


# --- exchange: data officers (admin, or permission exchange.manage_exchange) manage; regulators READ the
# destinations overlapping their area (records of their own elevators only); everyone else 403 ---------------
EX_VIEW = {"admin", "regulator", "city_regulator"}
EX_TOKENS = lambda ctx: ["TOKEN-own", "TOKEN-other"]  # noqa: E731 - write-only: no response may echo a token


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_destination(ctx: Ctx, side: str | None = None):
    """DEST-<side>: a national destination scoped to the side's district with the side's case in its
    outbox, sent once to a closed port (one logged failed attempt; the batch waits for its retry)."""
    from liftsafe.exchange import services as ex

    from django.test import override_settings

    side = _side(ctx, side)
    case = make_case(ctx, side)
    with override_settings(LIFTSAFE_EXCHANGE_ALLOWED_HOSTS=["127.0.0.1"]):  # loopback endpoints need the allow-list
        d = ex.destination_create(ctx.world.users["admin"], name=f"DEST-{side}", kind="national", adapter="national",
                                  endpoint_url=f"http://127.0.0.1:{_closed_port()}/upload", auth_token=f"TOKEN-{side}",
                                  timeout_s=1, area=ctx.world.district_a if side == "own" else ctx.world.district_b)
    ex.enqueue_changed(d)
    ex.send_due(d)
    ctx.store[f"dest-{side}"] = d
    ctx.store[f"rec-{side}"] = f"case:{case.pk}:1"  # the record's idempotency key (the pages show it as a tooltip)
    return d


def dest_batch(ctx: Ctx):
    from liftsafe.exchange.models import Batch

    return Batch.objects.get(destination=make_destination(ctx))


_SCHED_DIR: list[str] = []


def make_schedule(ctx: Ctx, side: str | None = None):
    import tempfile

    from liftsafe.exchange import services as ex

    if not _SCHED_DIR:
        _SCHED_DIR.append(tempfile.mkdtemp(prefix="liftsafe-matrix-drop-", dir=ex.drop_root()))  # inside LIFTSAFE_IMPORT_DIR
    return ex.schedule_create(ctx.world.users["admin"], name=f"SCHED-{_side(ctx, side) or 'x'}", mapping="cn-template",
                              drop_dir=_SCHED_DIR[0])


def ex_list(anon: int, ok: int = 200) -> dict:
    return {**{r: ok if r in EX_VIEW else 403 for r in LOGGED_IN}, "anonymous": anon}


def ex_read(anon: int, ok: int = 200) -> dict:
    d = {r: (403, 403) for r in LOGGED_IN}
    d.update({"admin": (ok, ok), "regulator": (ok, 404), "city_regulator": (ok, ok), "anonymous": (anon, anon)})
    return d


def ex_write(ok: int, anon: int) -> dict:
    d = {r: (403, 403) for r in LOGGED_IN}
    d.update({"admin": (ok, ok), "regulator": (403, 404), "anonymous": (anon, anon)})
    return d


def ex_officer(ok: int, anon: int, sided_kw: bool = False) -> dict:
    d = {**{r: 403 for r in LOGGED_IN}, "admin": ok, "anonymous": anon}
    return {r: (v, v) for r, v in d.items()} if sided_kw else d


def dest_names(ctx: Ctx, side: str) -> list[str]:
    return [f"DEST-{side}"]


def dest_records(ctx: Ctx, side: str) -> list[str]:
    return [ctx.store[f"rec-{side}"]] if f"rec-{side}" in ctx.store else []


def resend_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.exchange.models import Batch

    b = Batch.objects.get(destination=ctx.store[f"dest-{ctx.side}"])
    due_now = b.next_attempt_at <= timezone.now()
    want = ctx.role == "admin"
    return [f"re-send {'happened' if due_now else 'did not happen'} (HTTP {status})"] if due_now != want else []


def dest_update_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.exchange.models import Destination

    done, want = Destination.objects.get(pk=ctx.store[f"dest-{ctx.side}"].pk).batch_size == 7, ctx.role == "admin"
    return [f"destination update {'happened' if done else 'did not happen'} (HTTP {status})"] if done != want else []


_X = "liftsafe_exchange_api_"
PAGES.update({
    "exchange:destinations": Entry(None, ex_list(302), setup=both(make_destination), markers=dest_names, secret=EX_TOKENS),
    "exchange:destination_new": Entry(None, ex_officer(200, 302)),
    "exchange:destination_detail": Entry(lambda ctx: {"pk": make_destination(ctx).pk}, ex_read(302), markers=dest_names, secret=EX_TOKENS),
    "exchange:destination_edit": Entry(lambda ctx: {"pk": make_destination(ctx).pk}, ex_write(200, 302), markers=dest_names,
                                       secret=EX_TOKENS),
    "exchange:outbox": Entry(None, ex_list(302), setup=both(make_destination), markers=dest_records),
    "exchange:log": Entry(None, ex_list(302), setup=both(make_destination), markers=dest_names, secret=EX_TOKENS),
    "exchange:batch_detail": Entry(lambda ctx: {"pk": dest_batch(ctx).pk}, ex_read(302), markers=dest_records, secret=EX_TOKENS),
    "exchange:batch_resend": Entry(lambda ctx: {"pk": dest_batch(ctx).pk}, ex_write(302, 302), method="POST", verify=resend_verify),
    "exchange:resend_failed": Entry(None, ex_officer(302, 302), method="POST"),
    "exchange:schedules": Entry(None, ex_officer(200, 302), setup=make_schedule, markers=lambda ctx, side: ["SCHED-"],
                                own_markers_shown=False, sees_other=frozenset({"admin"})),
    "exchange:schedule_new": Entry(None, ex_officer(200, 302)),
    "exchange:schedule_detail": Entry(lambda ctx: {"pk": make_schedule(ctx).pk}, ex_officer(200, 302, True)),
    "exchange:schedule_run": Entry(lambda ctx: {"pk": make_schedule(ctx).pk}, ex_officer(302, 302, True), method="POST"),
    # the demo's stand-in receiver: off unless DEBUG or LIFTSAFE_DEMO=1 (tests run with neither)
    "exchange:loopback": Entry(lambda ctx: {"kind": "national"}, {r: (404, 404) for r in ROLES}, method="POST"),
})
API.update({
    _X + "destination_list": Entry(None, ex_list(401), setup=both(make_destination), markers=dest_names, secret=EX_TOKENS),
    _X + "destination_create": Entry(None, ex_officer(201, 401), secret=EX_TOKENS,
                                     data=lambda ctx: {"name": "DEST-new", "kind": "national", "adapter": "national",
                                                       "endpoint_url": "https://example.invalid/upload", "auth_token": "TOKEN-own"}),
    _X + "destination_detail": Entry(lambda ctx: {"destination_id": make_destination(ctx).pk}, ex_read(401), markers=dest_names,
                                     secret=EX_TOKENS),
    _X + "destination_update": Entry(lambda ctx: {"destination_id": make_destination(ctx).pk}, ex_write(200, 401),
                                     data=lambda ctx: {"batch_size": 7}, verify=dest_update_verify, secret=EX_TOKENS),
    _X + "record_list": Entry(None, ex_list(401), setup=both(make_destination), markers=dest_records),
    _X + "batch_list": Entry(None, ex_list(401), setup=both(make_destination), markers=dest_names),
    _X + "batch_detail": Entry(lambda ctx: {"batch_id": dest_batch(ctx).pk}, ex_read(401), markers=dest_records),
    _X + "batch_resend": Entry(lambda ctx: {"batch_id": dest_batch(ctx).pk}, ex_write(201, 401), verify=resend_verify),
    _X + "log_list": Entry(None, ex_list(401), setup=both(make_destination), markers=dest_names),
    _X + "resend_failed": Entry(None, ex_officer(201, 401)),
    _X + "schedule_list": Entry(None, ex_officer(200, 401), setup=make_schedule),
    _X + "schedule_create": Entry(None, ex_officer(201, 401),
                                  data=lambda ctx: {"name": "SCHED-new", "mapping": "cn-template",
                                                    "drop_dir": make_schedule(ctx).drop_dir}),
    _X + "schedule_detail": Entry(lambda ctx: {"schedule_id": make_schedule(ctx).pk}, ex_officer(200, 401, True)),
    _X + "schedule_run": Entry(lambda ctx: {"schedule_id": make_schedule(ctx).pk}, ex_officer(200, 401, True)),
})

# --- reports (API): stored reports are a regulator's product (admin, regulators of the area); others 404/403 -------
def make_report(ctx: Ctx, side: str | None = None):
    """A draft report of district A (own) / B (other) for 2023-05, generated once per world by the admin through
    reports.services and copied into the cell's savepoint."""
    from liftsafe.reports import services as rs
    from liftsafe.reports.models import Report

    side = _side(ctx, side)
    area = ctx.world.district_a if side == "own" else ctx.world.district_b
    cache = ctx.world.__dict__.setdefault("_report_data", {})
    if side not in cache:
        cache[side] = rs.generate_report(ctx.world.users["admin"], area_code=area.code, period="2023-05").data
    Report.objects.filter(area=area).delete()
    r = Report.objects.create(area=area, period_kind="month", period_start=dt.date(2023, 5, 1), period_end=dt.date(2023, 6, 1),
                              period_label="2023-05", data=cache[side], generated_at=timezone.now())
    ctx.store[f"report-{side}"] = r
    return r


def report_expect(ok: int, anon: int = 401) -> dict:
    d = {r: (404, 404) for r in LOGGED_IN}
    d.update({"admin": (ok, ok), "regulator": (ok, 404), "city_regulator": (ok, ok), "anonymous": (anon, anon)})
    return d


def report_generate_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.reports.models import Report

    made = Report.objects.filter(area__code="320102" if ctx.side == "own" else "320104").exists()
    return [f"report {'generated' if made else 'not generated'} (HTTP {status})"] if made != (status == 201) else []


_R = "liftsafe_reports_api_"
_report_kw = lambda ctx: {"report_id": make_report(ctx).pk}  # noqa: E731
API.update({
    _R + "indicators": Entry(None, listing(401), markers=areas, own_markers_shown=False, sees_other=frozenset({"city_regulator"})),
    _R + "report_list": Entry(None, listing(401), setup=both(make_report), markers=areas, own_markers_shown=False),
    _R + "report_generate": Entry(sided, {**{r: (403, 403) for r in LOGGED_IN}, "admin": (201, 201), "regulator": (201, 422),
                                          "city_regulator": (201, 201), "anonymous": (401, 401)},
                                  data=lambda ctx: {"area": "320102" if ctx.side == "own" else "320104", "period": "2023-05"},
                                  verify=report_generate_verify),
    _R + "report_detail": Entry(_report_kw, report_expect(200), markers=areas),
    _R + "report_publish": Entry(_report_kw, report_expect(200), markers=areas),
    _R + "report_pdf": Entry(_report_kw, report_expect(200)),
    _R + "report_xlsx": Entry(_report_kw, report_expect(200)),
    _R + "report_html": Entry(_report_kw, report_expect(200)),
})


# --- reports (pages): the dashboard for everyone (numbers and area choices scoped); stored reports as the API ---
def report_page_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.reports.models import Report

    made = Report.objects.filter(area__code="320102" if ctx.side == "own" else "320104").exists()
    want = status == 302 and ctx.role != "anonymous"  # the generated report opens (302); anonymous goes to log in
    return [f"report {'generated' if made else 'not generated'} (HTTP {status})"] if made != want else []


def report_published_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.reports.models import Report

    done = Report.objects.get(pk=ctx.store[f"report-{ctx.side}"].pk).status == "published"
    want = ctx.role in ("admin", "city_regulator") or (ctx.role == "regulator" and ctx.side == "own")
    return [f"report {'published' if done else 'not published'} (HTTP {status})"] if done != want else []


def district_names(ctx: Ctx, side: str) -> list[str]:
    return [(ctx.world.district_a if side == "own" else ctx.world.district_b).name]


PAGES.update({
    "reports:dashboard": Entry(None, listing(302), markers=areas, own_markers_shown=False),
    "reports:report_list": Entry(None, listing(302), setup=both(make_report), markers=areas, own_markers_shown=False),
    "reports:report_generate": Entry(sided, {**{r: (403, 403) for r in LOGGED_IN}, "admin": (302, 302), "regulator": (302, 200),
                                             "city_regulator": (302, 302), "anonymous": (302, 302)}, method="POST",
                                     data=lambda ctx: {"area": "320102" if ctx.side == "own" else "320104", "period": "2023-05",
                                                       "language": "zh-hans"}, verify=report_page_verify),
    "reports:report_detail": Entry(lambda ctx: {"pk": make_report(ctx).pk}, report_expect(200, 302), markers=district_names),
    "reports:report_publish": Entry(lambda ctx: {"pk": make_report(ctx).pk}, report_expect(302, 302), method="POST",
                                    verify=report_published_verify),
    "reports:report_download": Entry(lambda ctx: {"pk": make_report(ctx).pk, "format": "html"}, report_expect(200, 302),
                                     markers=district_names),
})


# --- referenced ids: the URL names an own object, the request BODY names an object of ctx.side ---------------
# An id sent in a body (a responder, a responsible unit, a maintenance unit, a hazard) is resolved through the
# caller's scope: naming another district's object is refused like a missing one (404, or the field's 422 where
# the operation answers a bad reference with a field error) and records nothing. Rows: (kind, page URL name or
# operationId, Entry); expectations are (body names own object, body names other object).

def referencing(profile: dict, other: dict) -> dict:
    """Expectations of a row whose URL object is own: the own column of ``profile`` for both sides, except the
    roles in ``other`` (status when the body names the other side's object)."""
    d = {}
    for r, v in profile.items():
        own = v[0] if isinstance(v, tuple) else v
        d[r] = (own, other.get(r, own))
    return d


def own_case_kw(name: str = "pk"):
    return lambda ctx: {name: make_case(ctx, "own").pk}


def dispatched_to(level: int):
    """verify: the own case went to the referenced responder iff the role may dispatch and may name it."""
    def verify(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.emergency.models import EmergencyCase

        case = EmergencyCase.objects.get(pk=ctx.store["own"].pk)
        target = ctx.world.orgs[("rescue_station", SIDE[ctx.side])]
        done = case.level == level and case.responder_id == target.pk
        want = ctx.role == "admin" or (ctx.role == "operator" and ctx.side == "own")
        return [f"dispatch to the referenced responder {'happened' if done else 'did not happen'} (HTTP {status})"] if done != want else []
    return verify


def own_hazard_recheck_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Recheck

    done = Recheck.objects.filter(result="pass").exists()
    want = ctx.side == "own" and rechecker(ctx)
    return [f"re-check {'recorded' if done else 'not recorded'} (HTTP {status})"] if done != want else []


def own_campaign_kw(ctx: Ctx) -> dict:
    c = make_campaign(ctx, "own")
    if ctx.side == "other":
        make_campaign(ctx, "other")  # the body then names the other campaign's hazard
    return {"campaign_id": c.pk}


def contract_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    unit = ctx.world.orgs[("maintenance_unit", SIDE[ctx.side])]
    done = MaintenanceContract.objects.filter(elevator=ctx.world.elevators["a1"], maintenance_unit=unit,
                                              start_date=dt.date(2026, 6, 1)).exists()
    return [f"contract {'recorded' if done else 'not recorded'} (HTTP {status})"] if done != (status == 201) else []


def use_unit_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    done = Elevator.objects.get(pk=ctx.world.elevators["a1"].pk).use_unit_id == ctx.world.orgs[("use_unit", "b")].pk
    return [f"use unit {'changed' if done else 'not changed'} (HTTP {status})"] if done != (status == 200 and ctx.side == "other") else []


def hazard_unit_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Hazard

    n = Hazard.objects.filter(title="HZ-ref", responsible_unit=ctx.world.orgs[("use_unit", SIDE[ctx.side])]).count()
    return [] if n == (1 if status == 200 else 0) else [f"{n} hazard(s) filed after HTTP {status}"]


REFERENCED: dict[str, tuple[str, str, Entry]] = {
    "emergency dispatch API: responder_id": ("api", _E + "case_dispatch", Entry(
        own_case_kw(), referencing(case_write_api(200, {"operator"}), {"operator": 404}),
        data=lambda ctx: {"level": 2, "responder_id": ctx.world.orgs[("rescue_station", SIDE[ctx.side])].pk},
        verify=dispatched_to(2), secret=case_secret)),
    "emergency dispatch page: responder": ("page", "emergency:case_dispatch", Entry(
        own_case_kw(), referencing(page_case_write({"admin", "operator"}), {"operator": 404}), method="POST",
        data=lambda ctx: {"level": 2, "responder": ctx.world.orgs[("rescue_station", SIDE[ctx.side])].pk},
        verify=dispatched_to(2), secret=case_secret)),
    "hazard filing API: responsible_unit_id": ("api", _H + "hazard_create", Entry(
        lambda ctx: {}, referencing(role_write_api(200, {"regulator"}, {"admin", "city_regulator"}), {"regulator": 422}),
        data=lambda ctx: {"elevator_id": ctx.world.elevators["a1"].pk, "source": "inspection", "title": "HZ-ref",
                          "level": "general", "responsible_unit_id": ctx.world.orgs[("use_unit", SIDE[ctx.side])].pk},
        verify=hazard_unit_verify)),
    "re-check API: hazard_id": ("api", _H + "recheck", Entry(
        own_campaign_kw, referencing(role_write_api(200, {"regulator", "inspection_agency"}, {"admin", "city_regulator"}),
                                     {**{r: 404 for r in LOGGED_IN if r not in SEES_OTHER}, "admin": 422, "city_regulator": 422}),
        data=lambda ctx: {"hazard_id": ctx.store[ctx.side].pk, "result": "pass"}, verify=own_hazard_recheck_verify)),
    "registry contract API: maintenance_unit": ("api", "registry_elevator_contract_create", Entry(
        lambda ctx: {"elevator_id": ctx.world.elevators["a1"].pk}, referencing(write(201), {"regulator": 422}),
        data=lambda ctx: {"maintenance_unit": ctx.world.orgs[("maintenance_unit", SIDE[ctx.side])].pk, "start_date": "2026-06-01"},
        verify=contract_verify)),
    "registry elevator API: use_unit": ("api", "registry_elevator_update", Entry(
        lambda ctx: {"elevator_id": ctx.world.elevators["a1"].pk}, referencing(write(200), {"regulator": 422}),
        data=lambda ctx: {"use_unit": ctx.world.orgs[("use_unit", SIDE[ctx.side])].pk, "reason": "matrix"},
        verify=use_unit_verify)),
}


#: Declared with the right expectations but known broken for a reason other than scoping (strict xfail: when the
#: bug is fixed the test XPASSes and fails, so remove the line then).
KNOWN_BUGS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Evidence uploads land in a throw-away MEDIA_ROOT (the savepoint rolls back rows, not files)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


# --- discovery ------------------------------------------------------------------------------------------

def discovered_pages() -> dict[str, str]:
    """``{url name: route}`` of every page URL (ninja's operation URLs are covered by the API table)."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, ns: str | None):
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                child_ns = p.namespace if p.namespace else ns
                if p.namespace and ns:
                    child_ns = f"{ns}:{p.namespace}"
                walk(p.url_patterns, route, child_ns)
            elif isinstance(p, URLPattern):
                if ns == "api" and p.name not in ("openapi-json", "openapi-view"):
                    continue  # an API operation: enumerated from the OpenAPI schema
                name = f"{ns}:{p.name}" if ns and p.name else (p.name or f"<unnamed {route}>")
                found[name] = route

    walk(get_resolver().url_patterns, "", None)
    return found


def discovered_operations() -> dict[str, tuple[str, str]]:
    """``{operationId: (METHOD, URL template)}`` of every API operation, read from the NinjaAPI's routers
    (the same source the OpenAPI schema is built from; ids as the schema shows them)."""
    from liftsafe.api import api

    root = reverse("api:api-root").rstrip("/")
    ops: dict[str, tuple[str, str]] = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            url = root + "/" + "/".join(p for p in (prefix.strip("/"), path.strip("/")) if p)
            for op in path_view.operations:
                oid = op.operation_id or api.get_openapi_operation_id(op)
                for method in op.methods:
                    ops[oid if len(op.methods) == 1 else f"{oid}:{method}"] = (method.upper(), url)
    return ops


def test_every_endpoint_is_declared():
    pages, ops = discovered_pages(), discovered_operations()
    problems = [f"page URL {name!r} ({route}) is not declared in PAGES" for name, route in sorted(pages.items()) if name not in PAGES]
    problems += [f"API operation {oid!r} ({m} {p}) is not declared in API" for oid, (m, p) in sorted(ops.items()) if oid not in API]
    problems += [f"PAGES declares {name!r}, which no longer exists" for name in sorted(set(PAGES) - set(pages))]
    problems += [f"API declares {oid!r}, which no longer exists" for oid in sorted(set(API) - set(ops))]
    assert not problems, ("Scoping matrix out of date (liftsafe/core/tests/test_scoping_matrix.py); declare each endpoint "
                          "with its own/other kwargs and per-role expectations:\n  " + "\n  ".join(problems))


def test_matrix_rows_cover_every_role():
    for name, entry in {**PAGES, **API}.items():
        assert set(entry.expect) == set(ROLES), f"{name}: expectations for {sorted(set(ROLES) ^ set(entry.expect))}"


def test_discovery_sees_known_endpoints():
    """Guards the discovery itself: if it found nothing, the declared-check above could not fail."""
    assert {"registry:elevator_list", "registry:elevator_detail", "login"} <= set(discovered_pages())
    assert {"core_me", "registry_elevator_list", "registry_elevator_update"} <= set(discovered_operations())


# --- running one cell ---------------------------------------------------------------------------------------

def body_text(resp) -> str:
    raw = b"".join(resp.streaming_content) if resp.streaming else resp.content
    if "spreadsheetml" in resp.get("Content-Type", "") and resp.status_code == 200:
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(raw), read_only=True).active
        return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in ws.iter_rows(values_only=True))
    return raw.decode("utf-8", errors="replace")


def client_for(ctx: Ctx) -> Client:
    c = Client()
    if ctx.user is not None:
        c.force_login(ctx.user)
    return c


def request(kind: str, name: str, entry: Entry, ctx: Ctx):
    """Issue one request inside a savepoint that is rolled back; returns (status, body text, verify problems)."""
    import json
    from urllib.parse import urlencode

    with transaction.atomic():
        if entry.setup:
            entry.setup(ctx)
        kwargs = entry.kwargs(ctx) if entry.kwargs else {}
        data = entry.data(ctx) if entry.data else None
        qs = ("?" + urlencode(entry.query(ctx))) if entry.query else ""
        c = client_for(ctx)
        if kind == "page":
            url = reverse(name, kwargs=kwargs or None) + qs
            resp = c.post(url, data or {}) if entry.method == "POST" else c.get(url)
        else:
            method, template = discovered_operations()[name]
            url = template.format(**kwargs) + qs
            if method == "GET":
                resp = c.get(url)
            elif entry.multipart:
                resp = c.post(url, data or {})
            else:
                resp = c.generic(method, url, data=None if data is None else json.dumps(data),
                                 content_type="application/json")
        text = body_text(resp)
        problems = entry.verify(ctx, resp.status_code, text) if entry.verify else []
        transaction.set_rollback(True)
    return resp.status_code, text, problems


def plant_markers(world) -> None:
    """Nested objects with recognisable text on a1 (own) and b1 (other); once per world."""
    if getattr(world, "_markers_planted", False):
        return
    world._markers_planted = True
    for key in ("a1", "b1"):
        e = world.elevators[key]
        MaintenanceContract.objects.filter(elevator=e).update(contract_no=f"CT-{key}")
        LifecycleEvent.objects.create(elevator=e, kind="installed", occurred_on=dt.date(2015, 3, 1), note=f"LC-{key}")
        e.floors = 6
        e._change_reason = f"HIST-{key}"
        e.save()


def run_entry(world, kind: str, name: str, entry: Entry) -> list[str]:
    plant_markers(world)
    failures: list[str] = []
    for role in ROLES:
        user = None if role == "anonymous" else world.users[role]
        sides = ("own", "other") if entry.kwargs is not None and entry.kwargs not in (tokens_setup, no_kwargs) else (None,)
        for side in sides:
            ctx = Ctx(world, role, user, side)
            want = entry.expect[role] if side is None else entry.expect[role][0 if side == "own" else 1]
            status, text, problems = request(kind, name, entry, ctx)
            where = f"{name} as {role}" + (f" on {side}" if side else "")
            failures += [f"{where}: {p}" for p in problems]
            if entry.secret is not None:
                leaked = [x for x in entry.secret(ctx) if x in text]
                if leaked:
                    failures.append(f"{where}: LEAK of data this role must not get {leaked} (HTTP {status})")
            if status != want:
                failures.append(f"{where}: HTTP {status}, expected {want}")
                continue
            if entry.markers is None:
                continue
            mk = lambda s: entry.markers(ctx, s)  # noqa: E731
            if role not in entry.sees_other:
                leaked = [m for m in mk("other") if m in text]
                if leaked:
                    failures.append(f"{where}: LEAK of another district's data {leaked}")
            if status < 300:
                if side is None:  # a list: own data shown to whoever sees anything; other only to SEES_OTHER
                    if entry.own_markers_shown and (role != "nobody" or entry.personal):
                        missing = [m for m in mk("own") if m not in text]
                        if missing:
                            failures.append(f"{where}: own data missing {missing}")
                    if role in entry.sees_other:
                        missing = [m for m in mk("other") if m not in text]
                        if missing:
                            failures.append(f"{where}: other district's data missing for {role} {missing}")
                    if role == "nobody" and not entry.personal:
                        shown = [m for m in mk("own") if m in text]
                        if shown:
                            failures.append(f"{where}: a user without a role sees {shown}")
                else:
                    missing = [m for m in mk(side) if m not in text]
                    if missing:
                        failures.append(f"{where}: expected its data {missing} in the response")
    return failures


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matrix(world, name):
    failures = run_entry(world, "page", name, PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_BUGS[n], strict=True))
                                  if n in KNOWN_BUGS else n for n in sorted(API)])
def test_api_matrix(world, name):
    if name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, "api", name, API[name])
    assert not failures, "\n".join(failures)


def test_token_auth_sees_the_same_as_session(world):
    """The matrix runs with sessions; a bearer token must give the same scope."""
    for role in ("regulator", "maintenance_unit", "nobody"):
        _rec, token = ApiToken.issue(world.users[role], "t")
        by_token = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/registry/elevators").json()
        c = Client()
        c.force_login(world.users[role])
        assert by_token == c.get("/api/registry/elevators").json(), role


def test_matrix_catches_a_leak(world, monkeypatch):
    """The matrix can fail: with scoping switched off in a selector, it reports the leak."""
    from liftsafe.registry import selectors

    monkeypatch.setattr(selectors, "elevators_for", lambda user: Elevator.objects.all())
    failures = run_entry(world, "api", "registry_elevator_export_csv", API["registry_elevator_export_csv"])
    assert any("regulator" in f and "LEAK" in f for f in failures), failures
    failures = run_entry(world, "api", "registry_elevator_history", API["registry_elevator_history"])
    assert any("as use_unit on other: HTTP 200, expected 404" in f for f in failures), failures


def test_matrix_catches_personal_data_and_refused_writes(world, monkeypatch):
    """The phone check and the "no write happened" checks can fail too."""
    from liftsafe.emergency import selectors as em_selectors
    from liftsafe.hazards import services as hz

    monkeypatch.setattr(em_selectors, "sees_personal_data", lambda scope: True)
    failures = run_entry(world, "api", _E + "case_detail", API[_E + "case_detail"])
    assert any("as use_unit on own: LEAK" in f and PHONE["own"] in f for f in failures), failures
    monkeypatch.setattr(hz, "_require_responsible", lambda user, h, action: None)
    failures = run_entry(world, "page", "hazards:action", PAGES["hazards:action"])
    assert any("as maintenance_unit on own: rectification start happened" in f for f in failures), failures


@pytest.mark.parametrize("row", sorted(REFERENCED))
def test_referenced_id_matrix(world, row):
    """Ids in request bodies are resolved through the caller's scope (issue 10, defect 3)."""
    kind, name, entry = REFERENCED[row]
    failures = run_entry(world, kind, name, entry)
    assert not failures, "\n".join(failures)


def test_referenced_id_matrix_catches_an_unscoped_reference(world, monkeypatch):
    """The referenced-id rows can fail: with the responder resolved unscoped, the operator's dispatch to
    another district's station is reported."""
    from liftsafe.emergency import services as em

    monkeypatch.setattr(em, "responder_in_scope", lambda user, case, level, responder: True)
    kind, name, entry = REFERENCED["emergency dispatch API: responder_id"]
    failures = run_entry(world, kind, name, entry)
    assert any("as operator on other: dispatch to the referenced responder happened" in f for f in failures), failures


# --- case search and an elevator's case history (issue 16) ------------------------------------------
SEARCH_ROLES = {"admin", "operator", "regulator", "city_regulator", "maintenance_unit", "rescue_station"}

PAGES.update({
    "emergency:case_search": Entry(None, roles_only(SEARCH_ROLES), setup=both(make_case), markers=case_markers, secret=case_secret),
    "emergency:elevator_cases": Entry(lambda ctx: {"elevator_pk": make_case(ctx).elevator_id}, read(302),
                                      markers=case_markers, secret=case_secret),
})


def _other_number(ctx: Ctx) -> str:
    return ctx.store["other"].order_number


def _only_other(ctx: Ctx, side: str) -> list[str]:
    """The search asks for the other side's case only: its number is the marker (never the own one's)."""
    return case_markers(ctx, "other") if side == "other" else []


def _only_other_link(ctx: Ctx, side: str) -> list[str]:
    """Pages echo the query (form value, language switch ``next``): the marker is the case's link, not its number."""
    c = ctx.store.get("other")
    return [f"/emergency/cases/{c.pk}/"] if side == "other" and c is not None and _only_other(ctx, side) else []


#: the search with queries that name the other district's case (its number, its elevator's code) or both
#: districts (an address part both share): a role outside district B must get nothing of B's
SEARCH_ROWS = {
    "page q=<other's order number>": ("page", "emergency:case_search", Entry(
        None, roles_only(SEARCH_ROLES), setup=both(make_case), markers=_only_other_link, secret=case_secret,
        query=lambda ctx: {"q": _other_number(ctx)})),
    "page number=<other's order number>": ("page", "emergency:case_search", Entry(
        None, roles_only(SEARCH_ROLES), setup=both(make_case), markers=_only_other_link, secret=case_secret,
        query=lambda ctx: {"number": _other_number(ctx)})),
    "page elevator=<other's rescue code>": ("page", "emergency:case_search", Entry(
        None, roles_only(SEARCH_ROLES), setup=both(make_case), markers=_only_other_link, secret=case_secret,
        query=lambda ctx: {"elevator": elevator_of(ctx, "other").rescue_code})),
    "page q=<address part of both>": ("page", "emergency:case_search", Entry(
        None, roles_only(SEARCH_ROLES), setup=both(make_case), markers=case_markers, secret=case_secret,
        query=lambda ctx: {"q": "Test Road", "state": "dispatched", "case_type": "entrapment", "channel": "phone_96333"})),
    "api q=<other's order number>": ("api", _E + "case_list", Entry(
        None, listing(401), setup=both(make_case), markers=_only_other, secret=case_secret,
        query=lambda ctx: {"q": _other_number(ctx)})),
    "api elevator=<other's registration code>": ("api", _E + "case_list", Entry(
        None, listing(401), setup=both(make_case), markers=_only_other, secret=case_secret,
        query=lambda ctx: {"elevator": elevator_of(ctx, "other").registration_code})),
    "api q=<address part of both>, date range": ("api", _E + "case_list", Entry(
        None, listing(401), setup=both(make_case), markers=case_phone_markers, secret=case_secret,
        query=lambda ctx: {"q": "Test Road", "date_from": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
                           "date_to": (timezone.localdate() + dt.timedelta(days=1)).isoformat()})),
}


@pytest.mark.parametrize("row", sorted(SEARCH_ROWS))
def test_case_search_matrix(world, row):
    kind, name, entry = SEARCH_ROWS[row]
    failures = run_entry(world, kind, name, entry)
    assert not failures, "\n".join(failures)


def test_case_search_matrix_catches_a_leak(world, monkeypatch):
    """With the search's scoping switched off, the matrix reports the other district's case."""
    from liftsafe.emergency import selectors as em_selectors
    from liftsafe.emergency.models import EmergencyCase

    monkeypatch.setattr(em_selectors, "cases_for", lambda user: EmergencyCase.objects.select_related("elevator", "responder"))
    kind, name, entry = SEARCH_ROWS["api q=<other's order number>"]
    failures = run_entry(world, kind, name, entry)
    assert any("as operator" in f and "LEAK" in f for f in failures), failures


# --- maintenance visits (issue 11) ----------------------------------------------------------------------
_M = "maintenance_"


def make_visit(ctx: Ctx, side: str | None = None, state: str = "checked_out"):
    """A visit of a1 (own, maintenance unit A) / b1 (other, unit B) in ``state``, with the marker ``MV-<side>``
    in an item note and a flag; ``ctx.store["visit-<side>"]``. Frozen states are countersigned by the use unit."""
    from django.utils import timezone

    from liftsafe.maintenance.models import Visit

    side = _side(ctx, side)
    e = elevator_of(ctx, side)
    s = "a" if side == "own" else "b"
    now = timezone.now()
    v = Visit.objects.create(
        elevator=e, maintenance_unit=ctx.world.orgs[("maintenance_unit", s)], tier="half_monthly", planned_date=timezone.localdate(),
        state="planned" if state == "planned" else "checked_in" if state == "checked_in" else "checked_out",
        worker1=ctx.world.users["maintenance_unit"] if s == "a" else None,
        checked_in_at=None if state == "planned" else now - dt.timedelta(minutes=40),
        checked_out_at=now if state in ("checked_out", "frozen") else None, flags=["short_dwell"],
        results={} if state == "planned" else {"A-1-01": {"r": "normal", "note": f"MV-{side}", "action": "", "value": None}})
    if state == "frozen":
        Visit.objects.filter(pk=v.pk).update(state="countersigned", frozen=True, chain_seq=1)
    ctx.store[f"visit-{side}"] = v
    return v


def visit_kw(state: str = "checked_out", name: str = "visit_id"):
    return lambda ctx: {name: make_visit(ctx, state=state).pk}


def visit_markers(ctx: Ctx, side: str) -> list[str]:
    return [f"MV-{side}"]


def lift_address(ctx: Ctx, side: str) -> list[str]:
    return [elevator_of(ctx, side).address]


def only_roles(allowed: set, ok: int, anon: int = 401) -> dict:
    """A write on an object: ``allowed`` roles succeed in scope; others that see it 403; out of scope 404."""
    d = {}
    for r in LOGGED_IN:
        own = ok if r in allowed else (404 if r == "nobody" else 403)
        other = (ok if r in allowed else 403) if r in SEES_OTHER else 404
        d[r] = (own, other)
    d["anonymous"] = (anon, anon)
    return d


def _frozen_only_by_use_unit(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.maintenance.models import Visit

    v = Visit.objects.get(pk=ctx.store[f"visit-{ctx.side}"].pk)
    want = ctx.role == "use_unit" and ctx.side == "own"
    return [] if v.frozen == want else [f"visit frozen={v.frozen}, expected {want} (HTTP {status})"]


_OVERSIGHT = {"admin", "regulator", "city_regulator"}
_PAGE_ANY = {**{r: (302 if r != "nobody" else 404, 302 if r in SEES_OTHER else 404) for r in LOGGED_IN}, "anonymous": (302, 302)}

MAINT_PAGES = {
    "maintenance:home": Entry(None, listing(302, 302)),
    "maintenance:today": Entry(None, listing(302), setup=lambda ctx: (make_visit(ctx, "own", "planned"), make_visit(ctx, "other", "planned")),
                               markers=lift_address, own_markers_shown=False, sees_other=frozenset()),
    "maintenance:scan": Entry(lambda ctx: {"code": elevator_of(ctx).rescue_code}, {**{r: (302, 302) for r in LOGGED_IN}, "anonymous": (302, 302)}),
    "maintenance:visit": Entry(lambda ctx: {"pk": make_visit(ctx).pk}, read(302), markers=visit_markers),
    "maintenance:action": Entry(lambda ctx: {"pk": make_visit(ctx).pk, "action": "countersign"}, _PAGE_ANY, method="POST",
                                verify=_frozen_only_by_use_unit),
    "maintenance:countersign_list": Entry(None, listing(302), setup=both(make_visit), markers=lift_address, own_markers_shown=False,
                                          sees_other=frozenset()),  # own work lists: nobody sees the other side there
    "maintenance:overdue": Entry(None, roles_only(_OVERSIGHT), markers=lift_address),
    "maintenance:flagged": Entry(None, listing(302), setup=both(make_visit), markers=lift_address),
}

MAINT_API = {
    _M + "visit_list": Entry(None, listing(401), setup=both(make_visit), markers=visit_markers),
    _M + "visit_get": Entry(visit_kw(), read(401), markers=visit_markers),
    _M + "visit_check_in": Entry(visit_kw("planned"), only_roles({"maintenance_unit"}, 200),
                                 data=lambda ctx: {"code": elevator_of(ctx).rescue_code}),
    _M + "visit_join": Entry(visit_kw("checked_in"), only_roles(set(), 200), data=lambda ctx: {"device_id": "x"}),
    _M + "visit_record_items": Entry(visit_kw("checked_in"), only_roles({"maintenance_unit"}, 200),
                                     data=lambda ctx: {"results": {"A-1-02": {"r": "normal"}}}),
    _M + "visit_add_photo": Entry(visit_kw("checked_in"), only_roles({"maintenance_unit"}, 201),
                                  data=lambda ctx: {"file": png()}, multipart=True),
    _M + "visit_check_out": Entry(visit_kw("checked_in"), only_roles({"maintenance_unit"}, 200)),
    _M + "visit_submit_offline": Entry(sided, only_roles({"maintenance_unit"}, 201), data=lambda ctx: {
        "client_id": f"mx-{ctx.role}-{ctx.side}", "elevator": elevator_of(ctx).pk, "tier": "half_monthly",
        "started_at": (timezone.now() - dt.timedelta(minutes=30)).isoformat(), "code": elevator_of(ctx).rescue_code}),
    _M + "visit_countersign": Entry(visit_kw(), only_roles({"use_unit"}, 200), verify=_frozen_only_by_use_unit),
    _M + "visit_correct": Entry(visit_kw("frozen"), only_roles({"maintenance_unit"}, 201)),
    _M + "visit_delete": Entry(visit_kw("planned"), only_roles({"maintenance_unit", "admin"}, 204)),
    _M + "chain_verify": Entry(elevator_kw("elevator_id"),
                               only_roles({"admin", "regulator", "city_regulator", "maintenance_unit", "use_unit"}, 200)),
    _M + "overdue_summary": Entry(None, roles_only(_OVERSIGHT, anon=401)),
    _M + "catalogue": Entry(None, listing(401), query=lambda ctx: {"annex": "A", "tier": "half_monthly"}),
}
PAGES.update(MAINT_PAGES)
API.update(MAINT_API)


@pytest.mark.parametrize("name", sorted(MAINT_PAGES))
def test_maintenance_page_matrix(world, name):
    failures = run_entry(world, "page", name, MAINT_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(MAINT_API))
def test_maintenance_api_matrix(world, name):
    failures = run_entry(world, "api", name, MAINT_API[name])
    assert not failures, "\n".join(failures)


# --- inspection (issue 12): validity panel, due list, record form, findings loop ------------------------------
def make_finding(ctx: Ctx, side: str | None = None, state: str = "open"):
    """A failed inspection with one minor finding (``FIND-<side>``) on the side's elevator, through the service."""
    from liftsafe.inspection import services as insp
    from liftsafe.inspection.models import Finding

    side = side or ctx.side
    rec = insp.inspection_record(None, elevator=elevator_of(ctx, side), kind="periodic", inspected_on=timezone.localdate(),
                                 conclusion="fail", findings=[{"clause": "M1", "text": f"FIND-{side}", "finding_class": "minor",
                                                               "deadline_days": 30}])
    f = rec.findings.get()
    if state != "open":
        Finding.objects.filter(pk=f.pk).update(state=state, evidence_note="matrix")
    ctx.store[side] = f
    return f


def finding_state_is(expected_ok: set, ok_state: str, action: str):
    """verify: the finding reached ``ok_state`` exactly when the role may do ``action`` on that side."""
    def check(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.inspection.models import Finding

        f = Finding.objects.get(pk=ctx.store[ctx.side].pk)
        should = ctx.role in expected_ok and (ctx.side == "own" or ctx.role in SEES_OTHER)
        if should and f.state != ok_state:
            return [f"{action} did not happen"]
        if not should and f.state == ok_state:
            return [f"{action} happened (refused role or scope)"]
        return []
    return check


INSP_VIEW = {"admin", "regulator", "city_regulator", "operator", "maintenance_unit", "use_unit", "inspection_agency"}
INSP_RECTIFY = {"admin", "use_unit", "maintenance_unit"}
INSP_CONFIRM = {"admin", "use_unit"}


def insp_write(allowed: set, ok: int, anon: int) -> dict:
    """Role check first (403 for any role not allowed, even out of scope), then scope (404)."""
    d = {r: (ok if r in allowed else 403, (ok if r in SEES_OTHER else 404) if r in allowed else 403) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def _finding_kw(state: str, action: str | None = None, name: str = "pk"):
    def kw(ctx: Ctx) -> dict:
        f = make_finding(ctx, state=state)
        return {name: f.pk, **({"action": action} if action else {})}
    return kw


def _record_expect() -> dict:
    d = {r: (403, 403 if r in SEES_OTHER else 404) for r in LOGGED_IN}
    d.update({"admin": (201, 201), "inspection_agency": (201, 404), "nobody": (404, 404), "anonymous": (401, 401)})
    return d


PAGES.update({
    "inspection:elevator_panel": Entry(elevator_kw("elevator_pk"), read(302)),
    "inspection:due": Entry(None, roles_only(INSP_VIEW), setup=lambda ctx: [make_finding(ctx, s) for s in ("own", "other")],
                            markers=lambda ctx, side: [f"FIND-{side}"] if ctx.role in INSP_VIEW else []),
    "inspection:record_new": Entry(None, roles_only({"admin", "inspection_agency"})),
    "inspection:finding_action": Entry(_finding_kw("open", "rectify"), {**insp_write(INSP_RECTIFY, 302, 302)}, method="POST",
                                       data=lambda ctx: {"evidence_note": "matrix"},
                                       verify=finding_state_is(INSP_RECTIFY, "rectified", "rectify")),
})
API.update({
    "inspection_validity": Entry(elevator_kw("elevator_id"), read(401)),
    "inspection_records": Entry(lambda ctx: {"elevator_id": make_finding(ctx).record.elevator_id}, read(401),
                                markers=lambda ctx, side: [f"FIND-{side}"]),
    "inspection_record": Entry(lambda ctx: {}, _record_expect(), method="POST",  # no path parameter; own/other by body
                               data=lambda ctx: {"elevator": elevator_of(ctx).pk, "kind": "periodic",
                                                 "inspected_on": timezone.localdate().isoformat(), "conclusion": "pass"}),
    "inspection_finding_rectify": Entry(_finding_kw("open", name="finding_id"), insp_write(INSP_RECTIFY, 200, 401), method="POST",
                                        data=lambda ctx: {"evidence_note": "matrix"},
                                        verify=finding_state_is(INSP_RECTIFY, "rectified", "rectify")),
    "inspection_finding_confirm": Entry(_finding_kw("rectified", name="finding_id"), insp_write(INSP_CONFIRM, 200, 401), method="POST",
                                        data=lambda ctx: {}, verify=finding_state_is(INSP_CONFIRM, "closed", "confirm")),
    "inspection_due": Entry(None, roles_only(INSP_VIEW, anon=401)),
    "inspection_findings": Entry(None, roles_only(INSP_VIEW, anon=401), setup=lambda ctx: [make_finding(ctx, s) for s in ("own", "other")],
                                 markers=lambda ctx, side: [f"FIND-{side}"] if ctx.role in INSP_VIEW else []),
})

INSP_ROWS = {**{n: ("page", n) for n in PAGES if n.startswith("inspection:")},
             **{n: ("api", n) for n in API if n.startswith("inspection_")}}


@pytest.mark.parametrize("row", sorted(INSP_ROWS))
def test_inspection_matrix(world, row):
    kind, name = INSP_ROWS[row]
    table = PAGES if kind == "page" else API
    if kind == "api" and name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, kind, name, table[name])
    assert not failures, "\n".join(failures)


def test_inspection_matrix_catches_a_leak(world, monkeypatch):
    """With the findings list unscoped, the matrix reports the other district's finding."""
    from liftsafe.inspection import selectors as insp_selectors
    from liftsafe.inspection.models import Finding

    monkeypatch.setattr(insp_selectors, "findings_for", lambda user, open_only=True: Finding.objects.select_related("record__elevator"))
    failures = run_entry(world, "api", "inspection_findings", API["inspection_findings"])
    assert any("as use_unit" in f and "LEAK" in f for f in failures), failures


def _whatif_setup(ctx: Ctx) -> None:
    for name in ("a1", "b1"):
        Elevator.objects.filter(pk=ctx.world.elevators[name].pk).update(supervision_pass_date=dt.date(2024, 1, 10))


API["inspection_whatif"] = Entry(None, roles_only({"admin", "regulator", "city_regulator"}, anon=401), setup=_whatif_setup,
                                 query=lambda ctx: {"candidate": "legacy_annual"},
                                 markers=lambda ctx, side: [ctx.world.elevators["a1" if side == "own" else "b1"].source_id]
                                 if ctx.role in {"admin", "regulator", "city_regulator"} else [])
INSP_ROWS["inspection_whatif"] = ("api", "inspection_whatif")


def test_inspection_whatif_matrix(world):
    failures = run_entry(world, "api", "inspection_whatif", API["inspection_whatif"])
    assert not failures, "\n".join(failures)


# ---- insurance ----
# Policies and claims (issue 11, docs/domain §11, §15.7): read by admin, regulators of the area, the insurer that
# issued the policy and the use / maintenance units of the covered lifts; 96333 operators, inspection agencies and
# rescue stations have no need (insurance.view); the insurer files / pays / refuses its claims; regulators record
# policies and see coverage gaps.
INS_VIEW = {"admin", "regulator", "city_regulator", "insurer", "use_unit", "maintenance_unit"}
_I = "insurance_"


def make_ins_policy(ctx: Ctx, side: str | None = None):
    """A policy of side's insurer covering side's two lifts (number ``POL-<side>``); ``ctx.store["policy-<side>"]``."""
    from decimal import Decimal

    from liftsafe.insurance.models import Policy

    side = _side(ctx, side)
    s = "a" if side == "own" else "b"
    today = timezone.localdate()
    p = Policy.objects.create(insurer=ctx.world.orgs[("insurer", s)], policy_no=f"POL-{side}", insured_party=ctx.world.orgs[("use_unit", s)],
                              start_date=today - dt.timedelta(days=10), end_date=today + dt.timedelta(days=300),
                              limit_per_person=Decimal(150000), limit_per_accident=Decimal(1000000))
    p.elevators.set([ctx.world.elevators[f"{s}1"], ctx.world.elevators[f"{s}2"]])
    ctx.store[f"policy-{side}"] = p
    return p


def make_ins_claim(ctx: Ctx, side: str | None = None):
    """A suggested claim under side's policy for a released 2-hour entrapment of a1 / b1 (marker: its order number)."""
    from liftsafe.emergency import services as em
    from liftsafe.insurance.models import Claim

    side = _side(ctx, side)
    p = ctx.store.get(f"policy-{side}") or make_ins_policy(ctx, side)
    e = elevator_of(ctx, side)
    now = timezone.now()
    res = em.intake_alarm(e, channel="phone_96333", case_type="entrapment", received_at=now - dt.timedelta(hours=3))
    admin = ctx.world.users["admin"]
    em.dispatch_case(admin, res.case, 1, at=now - dt.timedelta(hours=3) + dt.timedelta(seconds=20))
    em.record_milestone(admin, res.case, "arrived", at=now - dt.timedelta(hours=2, minutes=30))
    em.record_milestone(admin, res.case, "released", at=now - dt.timedelta(minutes=55), released_count=2)
    c = Claim.objects.create(policy=p, elevator=e, case=res.case, trapped_s=7500, band="over_2h", yuan_per_person=500, persons=2,
                             suggested_total=1000)
    ctx.store[f"claim-{side}"] = c
    return c


def ins_policy_markers(ctx: Ctx, side: str) -> list[str]:
    return [] if side == "own" and ctx.role not in INS_VIEW else [f"POL-{side}"]


def ins_claim_markers(ctx: Ctx, side: str) -> list[str]:
    c = ctx.store.get(f"claim-{side}")
    if c is None or (side == "own" and ctx.role not in INS_VIEW):
        return []
    return [c.case.order_number]


def ins_read(anon: int) -> dict:
    """An insurance object: readers in scope 200, everyone else 404 (out of scope = missing)."""
    d = {r: (200 if r in INS_VIEW else 404, 200 if r in SEES_OTHER else 404) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def ins_write_api(ok: int) -> dict:
    """The insurer's claim actions: the own insurer and admin succeed; other readers 403; non-readers 404."""
    d = {}
    for r in LOGGED_IN:
        own = ok if r in ("admin", "insurer") else (403 if r in INS_VIEW else 404)
        other = ok if r == "admin" else (403 if r in SEES_OTHER else 404)
        d[r] = (own, other)
    d["anonymous"] = (401, 401)
    return d


def _claim_filed_only_by_insurer(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.insurance.models import Claim

    c = Claim.objects.get(pk=ctx.store[f"claim-{ctx.side}"].pk)
    want = "filed" if (ctx.role == "admin" or (ctx.role == "insurer" and ctx.side == "own")) else "suggested"
    return [] if c.state == want else [f"claim state {c.state}, expected {want} (HTTP {status})"]


def _no_policy_unless_regulator(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.insurance.models import Policy

    made = Policy.objects.filter(policy_no="POL-new").exists()
    want = status == 201
    return [] if made == want else [f"policy written={made} with HTTP {status}"]


def _new_policy_body(ctx: Ctx) -> dict:
    today = timezone.localdate()
    return {"insurer": ctx.world.orgs[("insurer", "a")].pk, "policy_no": "POL-new", "insured_party": ctx.world.orgs[("use_unit", "a")].pk,
            "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=364)).isoformat(),
            "limit_per_person": "150000", "limit_per_accident": "1500000", "elevators": [elevator_of(ctx).pk]}


_INS_PAGE_ACTION = {**{r: (302 if r in INS_VIEW else 404, 302 if r in SEES_OTHER else 404) for r in LOGGED_IN}, "anonymous": (302, 302)}
_GAPS = {"admin", "regulator", "city_regulator"}

INS_PAGES = {
    "insurance:home": Entry(None, listing(302, 302)),
    "insurance:policies": Entry(None, roles_only(INS_VIEW), setup=both(make_ins_policy), markers=ins_policy_markers),
    "insurance:policy_new": Entry(None, roles_only(_GAPS)),
    "insurance:policy": Entry(lambda ctx: {"pk": make_ins_policy(ctx).pk}, ins_read(302), markers=ins_policy_markers),
    "insurance:claims": Entry(None, roles_only(INS_VIEW), setup=both(make_ins_claim), markers=ins_claim_markers),
    "insurance:claim": Entry(lambda ctx: {"pk": make_ins_claim(ctx).pk}, ins_read(302), markers=ins_claim_markers),
    "insurance:claim_action": Entry(lambda ctx: {"pk": make_ins_claim(ctx).pk, "action": "file"}, _INS_PAGE_ACTION, method="POST",
                                    data=lambda ctx: {"persons": "2"}, verify=_claim_filed_only_by_insurer),
    "insurance:gaps": Entry(None, roles_only(_GAPS), markers=lift_address),
}

INS_API = {
    _I + "policy_list": Entry(None, listing(401), setup=both(make_ins_policy), markers=ins_policy_markers),
    _I + "policy_get": Entry(lambda ctx: {"policy_id": make_ins_policy(ctx).pk}, ins_read(401), markers=ins_policy_markers),
    # the lifts in the body are resolved through the caller's scope: the district regulator naming B's lift gets 422 "elevators"
    _I + "policy_create": Entry(sided, {**{r: ((201, 201 if r in SEES_OTHER else 422) if r in _GAPS else (403, 403)) for r in LOGGED_IN},
                                       "anonymous": (401, 401)},
                                data=_new_policy_body, verify=_no_policy_unless_regulator),
    _I + "claim_list": Entry(None, listing(401), setup=both(make_ins_claim), markers=ins_claim_markers),
    _I + "claim_get": Entry(lambda ctx: {"claim_id": make_ins_claim(ctx).pk}, ins_read(401), markers=ins_claim_markers),
    _I + "claim_action": Entry(lambda ctx: {"claim_id": make_ins_claim(ctx).pk, "action": "file"}, ins_write_api(200),
                               data=lambda ctx: {"persons": 2}, verify=_claim_filed_only_by_insurer),
    _I + "gaps": Entry(None, roles_only(_GAPS, anon=401)),
    _I + "gap_lifts": Entry(None, roles_only(_GAPS, anon=401), markers=lambda ctx, side: [f'"id": {elevator_of(ctx, side).pk},']),
    _I + "bands": Entry(None, listing(401)),
}
PAGES.update(INS_PAGES)
API.update(INS_API)


@pytest.mark.parametrize("name", sorted(INS_PAGES))
def test_insurance_page_matrix(world, name):
    failures = run_entry(world, "page", name, INS_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(INS_API))
def test_insurance_api_matrix(world, name):
    failures = run_entry(world, "api", name, INS_API[name])
    assert not failures, "\n".join(failures)


# ---- field ----
# Issue 15, field work: a responder's proof on site (location, photo), call-backs, the caller lookup, and
# self-reported hazards. On-site locations are the worker's personal data: the regulator of the area and the
# worker's own unit only (never the operator, never another responder); call-back phones are masked like the
# caller's; a unit reports hazards only on the lifts it holds.
LAT = {"own": 32.041234, "other": 32.021234}  # recognisable arrival latitudes (personal data of the worker)
ON_SITE_READERS = {"own": {"admin", "regulator", "city_regulator", "maintenance_unit"}, "other": {"admin", "city_regulator"}}
CB_PHONE = {"own": "13700005555", "other": "13700006666"}  # a call-back's number (personal data)
LOOKUP_ROLES = {"admin", "operator", "regulator", "city_regulator"}
SELF_REPORTERS = {"use_unit", "maintenance_unit", "inspection_agency"}


def _jpeg() -> SimpleUploadedFile:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 10)).save(buf, format="JPEG")
    return SimpleUploadedFile("site.jpg", buf.getvalue(), content_type="image/jpeg")


def make_on_site(ctx: Ctx, side: str | None = None, photo: bool = True):
    """The side's case with its responder's arrival recorded at ``LAT[side]`` (with a photo unless ``photo`` is
    False), by A's maintenance-unit worker (own) / the platform for B's unit (other). ``ctx.store["arrival-<side>"]``."""
    from liftsafe.emergency import services as em
    from liftsafe.emergency.models import FieldRecord

    side = _side(ctx, side)
    case = make_case(ctx, side)
    user = ctx.world.users["maintenance_unit"] if side == "own" else None
    m = em.record_on_site(user, case, "arrived", latitude=LAT[side], longitude=118.79, accuracy_m=12,
                          photo=_jpeg() if photo else None)
    rec = FieldRecord.objects.get(milestone=m)
    ctx.store[f"arrival-{side}"] = rec
    return rec


def _on_site_markers(ctx: Ctx, side: str) -> list[str]:
    return [str(LAT[side])] if ctx.role in ON_SITE_READERS[side] and side in ctx.store else []


def _on_site_secret(ctx: Ctx) -> list[str]:
    return [str(LAT[s]) for s in ("own", "other") if ctx.role not in ON_SITE_READERS[s]]


def _photo_expect() -> dict:
    """The on-site photo page: who may read the record gets the image; everyone else 404 (like a missing one)."""
    d = {r: (200 if r in ON_SITE_READERS["own"] else 404, 200 if r in ON_SITE_READERS["other"] else 404) for r in LOGGED_IN}
    d["anonymous"] = (302, 302)
    return d


def _photo_add_expect() -> dict:
    """Attach a photo to an arrival: the worker's own unit (and admins); a role that sees the case but may not
    record progress 403; an operator (may record progress) or another unit 404 — the record is not theirs to see."""
    d = {}
    for r in LOGGED_IN:
        if r == "admin":
            d[r] = (201, 201)
        elif r == "maintenance_unit":
            d[r] = (201, 404)
        elif r == "operator":
            d[r] = (404, 404)
        else:
            d[r] = (403 if r in CASE_SEES_OWN else 404, 403 if r in SEES_OTHER else 404)
    d["anonymous"] = (401, 401)
    return d


def _photo_added(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.emergency.models import FieldRecord

    rec = FieldRecord.objects.get(pk=ctx.store[f"arrival-{ctx.side}"].pk)
    want = ctx.role == "admin" or (ctx.role == "maintenance_unit" and ctx.side == "own")
    return [] if bool(rec.photo) == want else [f"photo stored={bool(rec.photo)}, expected {want} (HTTP {status})"]


def make_callback(ctx: Ctx, side: str | None = None):
    from liftsafe.emergency import services as em

    side = _side(ctx, side)
    case = make_case(ctx, side)
    em.callback_record(ctx.world.users["admin"], case, party="caller", outcome="reached", phone=CB_PHONE[side], note=f"CB-{side}")
    return case


def _callback_markers(ctx: Ctx, side: str) -> list[str]:
    from liftsafe.emergency.selectors import mask_phone

    if not case_markers(ctx, side):
        return []
    allowed = PERSONAL_OWN if side == "own" else PERSONAL_OTHER
    return [f"CB-{side}", CB_PHONE[side] if ctx.role in allowed else mask_phone(CB_PHONE[side])]


def _callback_secret(ctx: Ctx) -> list[str]:
    out = case_secret(ctx)
    out += [] if ctx.role in PERSONAL_OWN else [CB_PHONE["own"]]
    out += [] if ctx.role in PERSONAL_OTHER else [CB_PHONE["other"]]
    return out


def _callback_recorded(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.emergency.models import CallBack

    n = CallBack.objects.filter(case_id=ctx.store[ctx.side].pk).count()
    want = 1 if operator_allowed(ctx) else 0
    return [] if n == want else [f"{n} call-back(s) recorded, expected {want} (HTTP {status})"]


def _lookup_markers(ctx: Ctx, side: str) -> list[str]:
    """The lookup asks for the OWN caller's number: the own case's link for lookup roles; never the other's."""
    c = ctx.store.get(side)
    return [f"/emergency/cases/{c.pk}/"] if side == "own" and c is not None and ctx.role in LOOKUP_ROLES else []


def _lookup_api_markers(ctx: Ctx, side: str) -> list[str]:
    c = ctx.store.get(side)
    return [c.order_number] if side == "own" and c is not None and ctx.role in LOOKUP_ROLES else []


def _self_report_expect(ok: int, anon: int, denied: int = 403) -> dict:
    """Self-report on the side's lift: reporters on their own lift (admin everywhere); a role that sees the lift
    but may not report 403; a lift the caller does not hold 404. Pages check the role first (403)."""
    d = {}
    for r in LOGGED_IN:
        if r == "admin":
            d[r] = (ok, ok)
        elif r in SELF_REPORTERS:
            d[r] = (ok, 404)
        elif anon == 302:  # page: the role check comes first
            d[r] = (denied, denied)
        else:
            d[r] = (404 if r == "nobody" else denied, denied if r in SEES_OTHER else 404)
    d["anonymous"] = (anon, anon)
    return d


def _self_reported(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.hazards.models import Hazard

    n = Hazard.objects.filter(source="self_report", elevator=elevator_of(ctx)).count()
    want = 1 if (ctx.role == "admin" or (ctx.role in SELF_REPORTERS and ctx.side == "own")) else 0
    return [] if n == want else [f"{n} self-report(s) on the lift, expected {want} (HTTP {status})"]


def _self_report_data(ctx: Ctx) -> dict:
    return {"elevator_id": elevator_of(ctx).pk, "elevator": elevator_of(ctx).pk, "title": f"SR-{ctx.side}", "level": "general"}


FIELD_PAGES = {
    "emergency:on_site_photo": Entry(lambda ctx: {"pk": make_on_site(ctx).case_id, "record_pk": ctx.store[f"arrival-{ctx.side}"].pk},
                                     _photo_expect()),
    "emergency:case_callback": Entry(case_kw(), page_case_write({"admin", "operator"}), method="POST",
                                     data=lambda ctx: {"party": "caller", "outcome": "reached"}, verify=_callback_recorded),
    "emergency:caller_lookup": Entry(None, roles_only(LOOKUP_ROLES)),
    "hazards:report": Entry(None, roles_only(SELF_REPORTERS | {"admin"})),
}
FIELD_API = {
    _E + "case_on_site": Entry(lambda ctx: {"pk": make_on_site(ctx, photo=False).case_id}, case_read(401),
                               markers=_on_site_markers, secret=_on_site_secret),
    _E + "case_on_site_photo": Entry(lambda ctx: {"pk": make_on_site(ctx, photo=False).case_id,
                                                  "milestone_id": ctx.store[f"arrival-{ctx.side}"].milestone_id},
                                     _photo_add_expect(), data=lambda ctx: {"file": _jpeg()}, multipart=True,
                                     verify=_photo_added, secret=_on_site_secret),
    _E + "case_callbacks": Entry(lambda ctx: {"pk": make_callback(ctx).pk}, case_read(401), markers=_callback_markers,
                                 secret=_callback_secret),
    _E + "case_callback_add": Entry(case_kw(), case_write_api(201, {"operator"}),
                                    data=lambda ctx: {"party": "caller", "outcome": "no_answer"}, verify=_callback_recorded),
    _E + "caller_lookup": Entry(None, roles_only(LOOKUP_ROLES, anon=401), setup=both(make_case),
                                data=lambda ctx: {"phone": PHONE["own"]}, markers=_lookup_api_markers, secret=case_secret),
    _H + "self_report": Entry(sided, _self_report_expect(200, 401), data=_self_report_data, multipart=True,
                              verify=_self_reported),
}
PAGES.update(FIELD_PAGES)
API.update(FIELD_API)
#: rows with a body or query: the caller lookup page (POST, so a number never lands in a URL) and the
#: self-report page naming the own / the other district's lift
FIELD_ROWS = {
    "page caller lookup of the own caller": ("page", "emergency:caller_lookup", Entry(
        None, roles_only(LOOKUP_ROLES), method="POST", setup=both(make_case), data=lambda ctx: {"phone": PHONE["own"]},
        markers=_lookup_markers, secret=case_secret)),
    "page self-report on the side's lift": ("page", "hazards:report", Entry(
        sided, _self_report_expect(302, 302), method="POST", data=_self_report_data, verify=_self_reported)),
}


@pytest.mark.parametrize("name", sorted(FIELD_PAGES))
def test_field_page_matrix(world, name, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    failures = run_entry(world, "page", name, FIELD_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(FIELD_API))
def test_field_api_matrix(world, name, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    failures = run_entry(world, "api", name, FIELD_API[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("row", sorted(FIELD_ROWS))
def test_field_rows_matrix(world, row, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    kind, name, entry = FIELD_ROWS[row]
    failures = run_entry(world, kind, name, entry)
    assert not failures, "\n".join(failures)


def test_field_matrix_catches_a_location_leak(world, monkeypatch, settings, tmp_path):
    """With the on-site reader filter switched off, the operator's and the rescue station's reads are reported."""
    from liftsafe.emergency import selectors as em_selectors
    from liftsafe.emergency.models import FieldRecord

    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(em_selectors, "field_records_for",
                        lambda user, case: FieldRecord.objects.filter(case_id=case.pk).select_related("milestone", "recorded_by"))
    failures = run_entry(world, "api", _E + "case_on_site", FIELD_API[_E + "case_on_site"])
    assert any("as operator on own: LEAK" in f for f in failures), failures


# ---- efile + notices ----
# The elevator file (one page per lift, its section exports and PDF dossier) reads like the elevator page: every
# role in scope, 404 outside it. Official documents: regulators in scope and the addressee use unit read them,
# only regulators (and admins) issue them; a role that may not read documents is refused (403) before any lookup.

def make_document(ctx: Ctx, side: str | None = None):
    """A rectification notice (facts ``DOC-<side>``) on the side's elevator, issued by the admin through the service."""
    from liftsafe.notices import services as notices

    side = side or ctx.side
    d = notices.document_issue(ctx.world.users["admin"], elevator=elevator_of(ctx, side), kind="rectification",
                               facts=f"DOC-{side}", deadline=timezone.localdate() + dt.timedelta(days=10))
    ctx.store[side] = d
    return d


def file_markers(ctx: Ctx, side: str) -> list[str]:
    key = "a1" if side == "own" else "b1"
    return one_code(ctx, side) + [f"CT-{key}", f"LC-{key}"]


NOTICE_VIEW = {"admin", "regulator", "city_regulator", "use_unit"}
NOTICE_ISSUE = {"admin", "regulator", "city_regulator"}


def notice_read(anon: int, ok: int = 200) -> dict:
    """Readers: own side for every reader, the other side for admin and the city regulator; others 403 (role first)."""
    d = {r: ((ok, ok if r in SEES_OTHER else 404) if r in NOTICE_VIEW else (403, 403)) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def notice_issue_expect() -> dict:
    d = {r: ((201, 201 if r in SEES_OTHER else 404) if r in NOTICE_ISSUE else (403, 403)) for r in LOGGED_IN}
    d["anonymous"] = (401, 401)
    return d


def notice_markers(ctx: Ctx, side: str) -> list[str]:
    d = ctx.store.get(side)
    return [d.number] if d is not None and ctx.role in NOTICE_VIEW else []


def notice_facts(ctx: Ctx, side: str) -> list[str]:
    """The facts text (ASCII: JSON bodies escape the Chinese document number)."""
    return [f"DOC-{side}"] if side in ctx.store and ctx.role in NOTICE_VIEW else []


def document_issued(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.notices.models import Document

    made = Document.objects.filter(elevator=elevator_of(ctx), facts="DOC-api").exists()
    should = ctx.role in NOTICE_ISSUE and (ctx.side == "own" or ctx.role in SEES_OTHER)
    return ["document issued by a refused role or out of scope"] if made and not should else (
        ["document not issued"] if should and not made else [])


PAGES.update({
    "efile:file": Entry(elevator_kw("pk"), read(302), markers=file_markers),
    "efile:dossier": Entry(elevator_kw("pk"), read(302)),
    "efile:section_csv": Entry(lambda ctx: {"pk": elevator_of(ctx).pk, "key": "identity"}, read(302), markers=one_code),
    "efile:section_xlsx": Entry(lambda ctx: {"pk": elevator_of(ctx).pk, "key": "organisations"}, read(302),
                                markers=lambda ctx, side: [f"CT-{'a1' if side == 'own' else 'b1'}"]),
    "notices:list": Entry(None, roles_only(NOTICE_VIEW), setup=both(make_document), markers=notice_markers),
    "notices:new": Entry(None, roles_only(NOTICE_ISSUE), query=lambda ctx: {"elevator": ctx.world.elevators["a1"].pk}),
    "notices:detail": Entry(lambda ctx: {"pk": make_document(ctx).pk}, notice_read(302), markers=notice_facts),
    "notices:pdf": Entry(lambda ctx: {"pk": make_document(ctx).pk}, notice_read(302)),
})
API.update({
    "notices_document_list": Entry(None, roles_only(NOTICE_VIEW, anon=401), setup=both(make_document), markers=notice_facts),
    "notices_document_get": Entry(lambda ctx: {"document_id": make_document(ctx).pk}, notice_read(401), markers=notice_facts),
    "notices_document_issue": Entry(lambda ctx: {}, notice_issue_expect(), method="POST",  # own/other by the body
                                    data=lambda ctx: {"elevator": elevator_of(ctx).pk, "kind": "stop_use", "facts": "DOC-api"},
                                    verify=document_issued),
})

EFILE_ROWS = {**{n: ("page", n) for n in PAGES if n.startswith(("efile:", "notices:"))},
              **{n: ("api", n) for n in API if n.startswith("notices_")}}


@pytest.mark.parametrize("row", sorted(EFILE_ROWS))
def test_efile_notices_matrix(world, row):
    kind, name = EFILE_ROWS[row]
    table = PAGES if kind == "page" else API
    if kind == "api" and name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, kind, name, table[name])
    assert not failures, "\n".join(failures)


# ---- risk ----
# Risk grades are the regulator's (risk.view, risk.manage_key_periods, risk.recompute, risk.create_tasks: admin and
# regulators). The role is checked first (403 for every other role, in scope or not), then the scope (404).
_RISK = {"admin", "regulator", "city_regulator"}
_R = "risk_"


def _risk_scores(ctx: Ctx) -> None:
    from liftsafe.risk.compute import recompute

    recompute(trigger="matrix")


def _risk_period(ctx: Ctx, side: str | None = None):
    from liftsafe.risk.models import KeyPeriod

    side = side or ctx.side
    now = timezone.now()
    p = KeyPeriod.objects.create(name=f"KP-{side}", starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=2))
    p.areas.set([ctx.world.district_a if side == "own" else ctx.world.district_b])
    return p


def _risk_lift_markers(ctx: Ctx, side: str) -> list[str]:
    return [elevator_of(ctx, side).registration_code] if ctx.role in _RISK else []


def _risk_scored_kw(name: str):
    def kw(ctx: Ctx) -> dict:
        _risk_scores(ctx)
        return {name: elevator_of(ctx).pk}
    return kw


def _risk_period_body(ctx: Ctx) -> dict:
    now = timezone.now()
    return {"name": "matrix", "starts_at": (now + dt.timedelta(days=1)).isoformat(), "ends_at": (now + dt.timedelta(days=2)).isoformat(),
            "areas": [(ctx.world.district_a if ctx.side == "own" else ctx.world.district_b).pk], "uplift_kind": "band"}


def _risk_period_create_expect() -> dict:
    d = {r: (403, 403) for r in LOGGED_IN}
    d.update({"admin": (201, 201), "city_regulator": (201, 201), "regulator": (201, 422), "anonymous": (401, 401)})
    return d


RISK_PAGES = {
    "risk:list": Entry(None, roles_only(_RISK), setup=_risk_scores, markers=_risk_lift_markers),
    "risk:detail": Entry(_risk_scored_kw("elevator_id"), insp_write(_RISK, 200, 302), markers=lambda ctx, side: [elevator_of(ctx, side).registration_code]),
    "risk:recompute": Entry(elevator_kw("elevator_id"), insp_write(_RISK, 302, 302), method="POST"),
    "risk:key_periods": Entry(None, roles_only(_RISK), setup=both(_risk_period),
                              markers=lambda ctx, side: [f"KP-{side}"] if ctx.role in _RISK else []),
    "risk:key_period": Entry(lambda ctx: {"pk": _risk_period(ctx).pk}, insp_write(_RISK, 200, 302),
                             markers=lambda ctx, side: [f"KP-{side}"]),
    "risk:red_list": Entry(None, roles_only(_RISK), setup=_risk_scores),
    "risk:red_tasks_create": Entry(None, roles_only(_RISK, ok=302), method="POST"),
}

RISK_API = {
    _R + "score_list": Entry(None, roles_only(_RISK, anon=401), setup=_risk_scores, markers=_risk_lift_markers),
    _R + "counts": Entry(None, roles_only(_RISK, anon=401), setup=_risk_scores),
    _R + "elevator_get": Entry(_risk_scored_kw("elevator_id"), insp_write(_RISK, 200, 401)),
    _R + "elevator_recompute": Entry(elevator_kw("elevator_id"), insp_write(_RISK, 200, 401)),
    _R + "recompute": Entry(None, roles_only(_RISK, anon=401)),
    _R + "key_period_list": Entry(None, roles_only(_RISK, anon=401), setup=both(_risk_period),
                                  markers=lambda ctx, side: [f"KP-{side}"] if ctx.role in _RISK else []),
    _R + "key_period_get": Entry(lambda ctx: {"period_id": _risk_period(ctx).pk}, insp_write(_RISK, 200, 401),
                                 markers=lambda ctx, side: [f"KP-{side}"]),
    _R + "key_period_create": Entry(sided, _risk_period_create_expect(), data=_risk_period_body),
    _R + "key_period_update": Entry(lambda ctx: {"period_id": _risk_period(ctx).pk}, insp_write(_RISK, 200, 401),
                                    data=_risk_period_body),
    _R + "task_list": Entry(None, roles_only(_RISK, anon=401)),
    _R + "task_create": Entry(None, roles_only(_RISK, anon=401), data=lambda ctx: {}),
    _R + "model": Entry(None, roles_only(_RISK, anon=401)),
    _R + "matrix": Entry(None, roles_only(_RISK, anon=401), query=lambda ctx: {"severity": "1", "probability": "A"}),
}
PAGES.update(RISK_PAGES)
API.update(RISK_API)


@pytest.mark.parametrize("name", sorted(RISK_PAGES))
def test_risk_page_matrix(world, name):
    failures = run_entry(world, "page", name, RISK_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(RISK_API))
def test_risk_api_matrix(world, name):
    failures = run_entry(world, "api", name, RISK_API[name])
    assert not failures, "\n".join(failures)


# ---- rating ----
# Maintenance-unit ratings (issue 13): regulators read the ratings run in their area, a maintenance unit its own
# published ones; the objection and reply are the rated unit's, the decision a regulator's who did not score it
# (the district regulator scored the fixtures: it is refused, the city regulator decides). The public projection
# is anonymous and must never carry objection text or evidence (``secret``).
_R = "rating_"
RATING_VIEW = {"admin", "regulator", "city_regulator", "maintenance_unit"}
RATING_REG = {"admin", "regulator", "city_regulator"}


def make_rating(ctx: Ctx, side: str | None = None, state: str = "published"):
    """A rating of the side's maintenance unit (A / B), run in the side's district, scored by the district-A
    regulator; with objection text and evidence labels that must stay private. ``ctx.store["rating-<side>"]``."""
    from liftsafe.rating import services as rs
    from liftsafe.rating.models import Objection, Rating, Sheet

    side = _side(ctx, side)
    s = "a" if side == "own" else "b"
    rs.ensure_shipped_sheets()
    today = timezone.localdate()
    r = Rating.objects.create(
        unit=ctx.world.orgs[("maintenance_unit", s)], sheet=Sheet.objects.get(code="city_monthly"), sheet_config={"grades": ["A", "B", "C", "D"]},
        area=ctx.world.district_a if s == "a" else ctx.world.district_b, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31),
        state=state, rated=True, score=85, grade="B", scored_by=ctx.world.users["regulator"],
        items=[{"code": "late_arrival", "label": "late", "metric": "late_arrivals", "value": 1, "points": -10, "veto_hit": False,
                "evidence": [{"kind": "case", "id": 1, "label": "EVID-SECRET", "url": "/emergency/cases/1/"}]}],
        published_on=None if state == "draft" else today, objection_until=None if state == "draft" else today + dt.timedelta(days=21))
    if state == "objected":
        from django.core.files.base import ContentFile

        o = Objection(rating=r, text=f"OBJ-SECRET-{side}", filed_by=ctx.world.users["maintenance_unit"], filed_at=timezone.now(),
                      decide_by=today + dt.timedelta(days=15))
        o.file.save(f"evidence-{side}.txt", ContentFile(f"FILE-{side}".encode()), save=False)
        o.save()
        ctx.store[f"objection-{side}"] = o
    ctx.store[f"rating-{side}"] = r
    return r


def make_credit(ctx: Ctx, side: str | None = None, state: str = "active"):
    from liftsafe.rating.models import CreditEntry

    side = _side(ctx, side)
    s = "a" if side == "own" else "b"
    e = CreditEntry.objects.create(unit=ctx.world.orgs[("maintenance_unit", s)], kind="blacklist", rule_code="putian_blacklist",
                                   listed_on=dt.date(2020, 1, 1), state=state, application="matrix" if state != "active" else "")
    ctx.store[f"credit-{side}"] = e
    return e


def rating_units(ctx: Ctx, side: str) -> list[str]:
    return [f"maintenance_unit {'A' if side == 'own' else 'B'}"]


def _rating_kw(state: str, name: str = "pk", action: str | None = None):
    return lambda ctx: {name: make_rating(ctx, state=state).pk, **({"action": action} if action else {})}


def _credit_kw(state: str, name: str = "pk", action: str | None = None):
    return lambda ctx: {name: make_credit(ctx, state=state).pk, **({"action": action} if action else {})}


def _rating_write(allowed: set, ok: int, anon: int = 401, *, refused_own: frozenset = frozenset()) -> dict:
    """Role check first (403 for a role not allowed, in or out of scope), then the scope (404); ``refused_own``
    roles are allowed by role but refused by the object condition on the own side (403)."""
    d = {r: (403, 403) for r in LOGGED_IN}
    for r in allowed:
        own = 403 if r in refused_own else ok
        d[r] = (own, ok if r in SEES_OTHER else 404)
    d["anonymous"] = (anon, anon)
    return d


def _page_write(sees: set) -> dict:
    """A page POST: 404 unless the rating is in the role's scope, else 302 (a refusal is a message)."""
    d = {r: (302 if r in sees else 404, 302 if r in SEES_OTHER and r in sees else 404) for r in LOGGED_IN}
    d["anonymous"] = (302, 302)
    return d


def _rating_changed(field: str, value, who: set, store: str = "rating"):
    def check(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.rating.models import CreditEntry, Rating

        model = Rating if store == "rating" else CreditEntry
        obj = model.objects.get(pk=ctx.store[f"{store}-{ctx.side}"].pk)
        should = ctx.role in who and (ctx.side == "own" or ctx.role in SEES_OTHER)
        got = getattr(obj, field) == value
        return [] if got == should else [f"{store}.{field}={getattr(obj, field)!r}, expected change={should} (HTTP {status})"]
    return check


def _drafts_made(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.rating.models import Rating

    made = Rating.objects.filter(state="draft").exists()
    should = ctx.role in RATING_REG
    return [] if made == should else [f"drafts made={made}, expected {should} (HTTP {status})"]


_PUBLIC_SECRET = lambda ctx: ["OBJ-SECRET", "EVID-SECRET"]  # objection text and evidence never public  # noqa: E731
_RATING_READ = {**{r: (200 if r in RATING_VIEW else 403, (200 if r in SEES_OTHER else 404) if r in RATING_VIEW else 403) for r in LOGGED_IN},
                "anonymous": (302, 302)}
_RATING_READ_API = {**_RATING_READ, "anonymous": (401, 401)}

RATING_PAGES = {
    "rating:home": Entry(None, roles_only(RATING_VIEW), setup=both(make_rating), markers=rating_units),
    "rating:run": Entry(None, listing(302, 302), method="POST", data=lambda ctx: {"sheet": "city_monthly",
                                                                                   "on": timezone.localdate().isoformat()},
                        verify=_drafts_made),
    "rating:detail": Entry(_rating_kw("objected"), _RATING_READ, markers=lambda ctx, side: [f"OBJ-SECRET-{side}"]),
    "rating:action": Entry(_rating_kw("published", action="reply"), _page_write(RATING_VIEW), method="POST",
                           data=lambda ctx: {"text": "matrix reply"},
                           verify=_rating_changed("reply", "matrix reply", {"maintenance_unit"})),
    "rating:sheets": Entry(None, roles_only(RATING_VIEW)),
    "rating:objection_file": Entry(lambda ctx: {"pk": make_rating(ctx, state="objected").objections.get().pk}, _RATING_READ,
                                   markers=lambda ctx, side: [f"FILE-{side}"]),
    "rating:credit": Entry(None, roles_only(RATING_VIEW), setup=both(make_credit), markers=rating_units),
    "rating:credit_action": Entry(_credit_kw("active", action="apply"), _page_write(RATING_VIEW), method="POST",
                                  data=lambda ctx: {"text": "matrix"},
                                  verify=_rating_changed("state", "lift_requested", {"maintenance_unit"}, store="credit")),
    "rating_public:list": Entry(None, public(200), setup=both(make_rating), markers=rating_units, personal=True,
                                sees_other=frozenset(ROLES), secret=_PUBLIC_SECRET),
}
RATING_API = {
    _R + "public": Entry(None, public(200), setup=both(make_rating), markers=rating_units, personal=True,
                         sees_other=frozenset(ROLES), secret=_PUBLIC_SECRET),
    _R + "list": Entry(None, roles_only(RATING_VIEW, anon=401), setup=both(make_rating), markers=rating_units),
    _R + "get": Entry(_rating_kw("published", "rating_id"), _RATING_READ_API, markers=rating_units),
    _R + "run": Entry(None, roles_only(RATING_REG, anon=401, ok=201), method="POST",
                      data=lambda ctx: {"sheet": "city_monthly", "on": timezone.localdate().isoformat()}, verify=_drafts_made),
    _R + "publish": Entry(_rating_kw("draft", "rating_id"), _rating_write(RATING_REG, 200),
                          verify=_rating_changed("state", "published", RATING_REG), method="POST"),
    _R + "object": Entry(_rating_kw("published", "rating_id"), _rating_write({"maintenance_unit"}, 201), method="POST",
                         data=lambda ctx: {"text": "matrix objection"},
                         verify=_rating_changed("state", "objected", {"maintenance_unit"})),
    _R + "decide": Entry(_rating_kw("objected", "rating_id"), _rating_write(RATING_REG, 200, refused_own=frozenset({"regulator"})),
                         method="POST", data=lambda ctx: {"decision": "upheld", "reasons": "matrix"},
                         verify=_rating_changed("state", "decided", {"admin", "city_regulator"})),
    _R + "reply": Entry(_rating_kw("published", "rating_id"), _rating_write({"maintenance_unit"}, 200), method="POST",
                        data=lambda ctx: {"text": "matrix reply"}, verify=_rating_changed("reply", "matrix reply", {"maintenance_unit"})),
    _R + "credit_list": Entry(None, roles_only(RATING_VIEW, anon=401), setup=both(make_credit), markers=rating_units),
    _R + "credit_apply": Entry(_credit_kw("active", "entry_id"), _rating_write({"maintenance_unit"}, 200), method="POST",
                               data=lambda ctx: {"text": "matrix"},
                               verify=_rating_changed("state", "lift_requested", {"maintenance_unit"}, store="credit")),
    _R + "credit_decide": Entry(_credit_kw("lift_requested", "entry_id"), _rating_write(RATING_REG, 200), method="POST",
                                data=lambda ctx: {"approve": True, "reasons": "matrix"},
                                verify=_rating_changed("state", "lifted", RATING_REG, store="credit")),
    _R + "sheets": Entry(None, roles_only(RATING_VIEW, anon=401)),
    _R + "sheet_save": Entry(None, roles_only(RATING_REG, anon=401), method="POST", data=lambda ctx: {"config": {
        **__import__("liftsafe.rating.sheets", fromlist=["x"]).FUJIAN_YEARLY, "code": "matrix_sheet"}}),
}
PAGES.update(RATING_PAGES)
API.update(RATING_API)


@pytest.mark.parametrize("name", sorted(RATING_PAGES))
def test_rating_page_matrix(world, name):
    failures = run_entry(world, "page", name, RATING_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(RATING_API))
def test_rating_api_matrix(world, name):
    if name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, "api", name, RATING_API[name])
    assert not failures, "\n".join(failures)


# ---- disclosure ----
# Public pages (/q/<code>, /Q/<code>, the report form, the ticket pages, /public/) answer every role and anonymous
# alike; their rows carry ``secret``: reporter phones, 96333 caller phones and a maintenance worker's name must never
# appear. Staff pages and routes: the lift's use unit and maintenance unit and the regulator see public reports;
# the units answer, the regulator moderates and forwards; labels for units and regulators; publication for regulators.
DISC_SEES = {"admin", "regulator", "city_regulator", "maintenance_unit", "use_unit"}
DISC_ANSWER = {"admin", "maintenance_unit", "use_unit"}
DISC_PUBLISH = {"admin", "regulator", "city_regulator"}
WORKER_NAME = "WORKER-SURNAME-X"


def make_pubreport(ctx: Ctx, side: str | None = None, *, closed: bool = False, photo: bool = False):
    """A public report on a1 (own) / b1 (other) with text ``PR-<side>`` and callback phone ``PHONE[side]``."""
    from django.core.cache import cache

    from liftsafe.disclosure import services as disc

    cache.clear()  # the public pages' per-address look-up limit must not trip across cells
    side = _side(ctx, side)
    img = None
    if photo:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, format="JPEG")
        img = SimpleUploadedFile("p.jpg", buf.getvalue(), content_type="image/jpeg")
    r = disc.report_file(elevator=elevator_of(ctx, side), category="fault", text=f"PR-{side}", phone=PHONE[side],
                         ip=f"matrix-{side}", photo=img)
    if closed:
        r = disc.report_act(ctx.world.users["admin"], r, "close", note=f"NOTE-{side}")
    ctx.store[f"pr-{side}"] = r
    return r


def _public_secret(ctx: Ctx) -> list[str]:
    return [PHONE["own"], PHONE["other"], PHONE2["own"], PHONE2["other"], WORKER_NAME]


def _public_setup(ctx: Ctx) -> None:
    """Everything personal the platform holds about both lifts: reports with phones, 96333 cases with caller
    phones, a maintenance visit by a named worker."""
    from liftsafe.disclosure import services as disc
    from liftsafe.maintenance.models import Visit

    disc.ensure_codes()
    for side in ("own", "other"):
        make_pubreport(ctx, side)
        make_case(ctx, side)
    worker = ctx.world.users["maintenance_unit"]
    type(worker).objects.filter(pk=worker.pk).update(first_name=WORKER_NAME, last_name=WORKER_NAME)
    now = timezone.now()
    Visit.objects.create(elevator=elevator_of(ctx, "own"), maintenance_unit=ctx.world.orgs[("maintenance_unit", "a")],
                         tier="half_monthly", state="checked_out", worker1=worker, checked_in_at=now - dt.timedelta(hours=1),
                         checked_out_at=now)


def _public_code(ctx: Ctx) -> str:
    from liftsafe.disclosure.models import PublicCode

    return PublicCode.objects.get(elevator=elevator_of(ctx)).code


def _public_rows(kw) -> dict:
    return dict(kwargs=kw, expect={r: (200, 200) for r in ROLES}, setup=_public_setup, secret=_public_secret,
                markers=lambda ctx, side: [elevator_of(ctx, side).rescue_code], sees_other=frozenset(ROLES))


def _ticket_kw(closed: bool = False):
    def kw(ctx: Ctx) -> dict:
        return {"ticket": make_pubreport(ctx, closed=closed).ticket}
    return kw


def _disc_read(anon: int, ok: int = 200) -> dict:
    """Role check first (403 for roles that do not receive reports, either side), then scope (404)."""
    d = {r: ((ok, ok if r in SEES_OTHER else 404) if r in DISC_SEES else (403, 403)) for r in LOGGED_IN}
    d["anonymous"] = (anon, anon)
    return d


def _disc_answer(anon: int, ok: int) -> dict:
    d = {}
    for r in LOGGED_IN:
        if r not in DISC_SEES:
            d[r] = (403, 403)
        else:
            own = ok if r in DISC_ANSWER else 403
            other = (ok if r in DISC_ANSWER else 403) if r in SEES_OTHER else 404
            d[r] = (own, other)
    d["anonymous"] = (anon, anon)
    return d


def _acknowledged_only_by_units(ctx: Ctx, status: int, text: str) -> list[str]:
    from liftsafe.disclosure.models import PublicReport

    r = PublicReport.objects.get(pk=ctx.store[f"pr-{ctx.side}"].pk)
    want = ctx.role in DISC_ANSWER and (ctx.side == "own" or ctx.role in SEES_OTHER)
    return [] if (r.state == "acknowledged") == want else [f"report state {r.state}, acknowledged expected {want} (HTTP {status})"]


def _pr_markers(ctx: Ctx, side: str) -> list[str]:
    return [f"PR-{side}"]


def _pr_kw(name: str = "pk", **kw):
    return lambda ctx: {name: make_pubreport(ctx, **kw).pk}


_DISC_LIST = {**{r: (200 if r in DISC_SEES else 403) for r in LOGGED_IN}, "anonymous": 302}
_DISC_PUB = {**{r: (200 if r in DISC_PUBLISH else 403) for r in LOGGED_IN}, "anonymous": 302}

DISC_PAGES = {
    "public:qr": Entry(**_public_rows(lambda ctx: {"code": _public_code(ctx)})),
    "public:qr_label": Entry(**_public_rows(lambda ctx: {"code": _public_code(ctx)})),
    "public:report": Entry(**_public_rows(lambda ctx: {"code": _public_code(ctx)})),
    "public:portal": Entry(None, public(200), setup=_public_setup, secret=_public_secret,
                           query=lambda ctx: {"q": elevator_of(ctx, "own").rescue_code}),
    "public:ticket": Entry(_ticket_kw(), {r: (200, 200) for r in ROLES}, secret=lambda ctx: [PHONE["own"], PHONE["other"]],
                           markers=_pr_markers, sees_other=frozenset(ROLES)),
    "public:ticket_reopen": Entry(_ticket_kw(closed=True), {r: (302, 302) for r in ROLES}, method="POST",
                                  data=lambda ctx: {"comment": "still broken"}),
    "public:ticket_survey": Entry(_ticket_kw(closed=True), {r: (302, 302) for r in ROLES}, method="POST",
                                  data=lambda ctx: {"fixed": "yes", "score": "4"}),
    "disclosure:report_list": Entry(None, _DISC_LIST, setup=both(make_pubreport), markers=lambda ctx, side: [ctx.store[f"pr-{side}"].ticket]),
    "disclosure:report_detail": Entry(_pr_kw(), _disc_read(302), markers=_pr_markers),
    "disclosure:report_action": Entry(lambda ctx: {"pk": make_pubreport(ctx).pk, "action": "acknowledge"}, _disc_answer(302, 302),
                                      method="POST", data=lambda ctx: {"note": "seen"}, verify=_acknowledged_only_by_units),
    "disclosure:report_photo": Entry(_pr_kw(photo=True), _disc_read(302)),
    "disclosure:labels": Entry(None, _DISC_LIST),
    "disclosure:labels_download": Entry(None, _DISC_LIST, query=lambda ctx: {"size": "large", "elevator": elevator_of(ctx, "own").pk}),
    "disclosure:qr_svg": Entry(elevator_kw("elevator_pk"), read(302)),
    "disclosure:publication": Entry(None, _DISC_PUB, markers=lambda ctx, side: [ctx.world.district_a.code if side == "own" else ctx.world.district_b.code],
                                    own_markers_shown=True),
}

_DP = "disclosure_"
DISC_API = {
    _DP + "public_lift": Entry(**{**_public_rows(lambda ctx: {"code": _public_code(ctx)})}),
    _DP + "public_request": Entry(_ticket_kw(), {r: (200, 200) for r in ROLES}, secret=lambda ctx: [PHONE["own"], PHONE["other"]]),
    _DP + "report_list": Entry(None, {**{r: (200 if r in DISC_SEES else 403) for r in LOGGED_IN}, "anonymous": 401},
                               setup=both(make_pubreport), markers=_pr_markers),
    _DP + "report_get": Entry(_pr_kw("report_id"), _disc_read(401), markers=_pr_markers),
    _DP + "report_action": Entry(lambda ctx: {"report_id": make_pubreport(ctx).pk, "action": "acknowledge"}, _disc_answer(401, 200),
                                 data=lambda ctx: {"note": "seen"}, verify=_acknowledged_only_by_units),
    _DP + "publication_set": Entry(lambda ctx: {"area_code": (ctx.world.district_a if ctx.side == "own" else ctx.world.district_b).code},
                                   {**{r: ((200, 200 if r in SEES_OTHER else 404) if r in DISC_PUBLISH else (403, 403)) for r in LOGGED_IN},
                                    "anonymous": (401, 401)},
                                   data=lambda ctx: {"page": True, "accept_reports": True, "fields": ["units"]}),
}
PAGES.update(DISC_PAGES)
API.update(DISC_API)


@pytest.mark.parametrize("name", sorted(DISC_PAGES))
def test_disclosure_page_matrix(world, name):
    failures = run_entry(world, "page", name, DISC_PAGES[name])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(DISC_API))
def test_disclosure_api_matrix(world, name):
    if name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, "api", name, DISC_API[name])
    assert not failures, "\n".join(failures)


def test_disclosure_matrix_catches_a_phone_on_a_public_page(world, monkeypatch):
    """With the report's phone put on the public page, the anonymous rows report the leak."""
    from liftsafe.disclosure import public as pub

    real = pub.project

    def leaky(elevator, code, **kw):
        lift = real(elevator, code, **kw)
        r = elevator.public_reports.first()
        return type(lift)(**{**lift.__dict__, "address": f"{lift.address} {r.phone if r else ''}"})

    monkeypatch.setattr(pub, "project", leaky)
    failures = run_entry(world, "page", "public:qr", DISC_PAGES["public:qr"])
    assert any("as anonymous" in f and "LEAK" in f for f in failures), failures


# ---- publicity ----
# Staff pages and API: administrators and regulators, scoped to the regulator's area (district A's regulator
# never sees district B's articles; the city regulator sees both); every other role is refused (403), anonymous
# users are sent to the login page (pages) or get 401 (API). Public pages (/public/safety/, /public/reports/)
# answer everyone, show only published content, and never show a draft, an unpublished report or a person.
PUB_STAFF = {"admin", "regulator", "city_regulator"}
PUB_SECRET_USER = "pub-author-zhang-wei"


def make_article(ctx: Ctx, side: str | None = None, *, state: str = "published", kind: str = "article", title: str | None = None):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from liftsafe.publicity.models import Article

    side = _side(ctx, side)
    author, _new = get_user_model().objects.get_or_create(username=PUB_SECRET_USER)
    area = ctx.world.district_a if side == "own" else ctx.world.district_b
    now = timezone.now()
    return Article.objects.create(
        kind=kind, area=area, title_zh=title or f"PUB-{side}-{state}", body_zh=f"BODY-{side}", state=state, created_by=author,
        publish_at=now - dt.timedelta(days=1) if state == "published" else None,
        starts_on=now.date() if kind == "campaign" else None, ends_on=now.date() if kind == "campaign" else None)


def _pub_setup(ctx: Ctx) -> None:
    for side in ("own", "other"):
        make_article(ctx, side)
        make_article(ctx, side, state="draft", title=f"DRAFT-{side}")


def _pub_kw(name: str = "pk", state: str = "published"):
    def kw(ctx: Ctx) -> dict:
        return {name: make_article(ctx, state=state).pk}
    return kw


def _pub_expect(ok: int, anon: int, refused: int = 403, other_for_regulator: int = 404) -> dict:
    d = {r: (ok, ok) if r in ("admin", "city_regulator") else (refused, refused) for r in LOGGED_IN}
    d["regulator"] = (ok, other_for_regulator)
    d["anonymous"] = (anon, anon)
    return d


def _pub_markers(ctx: Ctx, side: str) -> list[str]:
    return [f"PUB-{side}-published", f"DRAFT-{side}"] if ctx.role in PUB_STAFF else []


def _pub_state_is(state: str):
    def verify(ctx: Ctx, status: int, text: str) -> list[str]:
        from liftsafe.publicity.models import Article

        a = Article.objects.filter(title_zh=f"PUB-{ctx.side}-draft").first()
        allowed = ctx.role in ("admin", "city_regulator") or (ctx.role == "regulator" and ctx.side == "own")
        if a is not None and (a.state == state) != allowed:
            return [f"state is {a.state} (allowed={allowed})"]
        return []
    return verify


def _public_secret(ctx: Ctx) -> list[str]:
    """Never on a public page: drafts, their author, staff users' names."""
    return ["DRAFT-own", "DRAFT-other", PUB_SECRET_USER, "PUB-own-draft", "PUB-other-draft"]


def _public_list_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    missing = [t for t in ("PUB-own-published", "PUB-other-published") if t not in text]
    return [f"published articles missing {missing}"] if missing else []


def _article_with_image(ctx: Ctx) -> dict:
    from django.core.files.base import ContentFile

    a = make_article(ctx)
    a.image.save("m.png", ContentFile(png().read()), save=True)
    return {"pk": a.pk}


def _make_public_report(ctx: Ctx, side: str | None = None, status: str = "published"):
    from django.utils import timezone

    from liftsafe.reports.models import Report
    from liftsafe.reports.tests.sample_report import sample_data

    from django.contrib.auth import get_user_model

    side = _side(ctx, side)
    publisher, _new = get_user_model().objects.get_or_create(username=PUB_SECRET_USER)
    label = "2023-05" if status == "published" else "2023-04"
    area = ctx.world.district_a if side == "own" else ctx.world.district_b
    return Report.objects.create(area=area, period_kind="month", period_start=dt.date(2023, 5 if status == "published" else 4, 1),
                                 period_end=dt.date(2023, 6 if status == "published" else 5, 1), period_label=label,
                                 status=status, data=sample_data(long_rows=3), generated_at=timezone.now(),
                                 published_at=timezone.now() if status == "published" else None,
                                 generated_by=publisher, published_by=publisher if status == "published" else None)


def _public_report_kw(ctx: Ctx) -> dict:
    """own: a published report; other: a draft (must answer 404 to everyone)."""
    return {"pk": _make_public_report(ctx, "own", "published" if ctx.side == "own" else "draft").pk}


def _public_reports_setup(ctx: Ctx) -> None:
    _make_public_report(ctx, "own", "published")
    _make_public_report(ctx, "other", "draft")


def _public_reports_verify(ctx: Ctx, status: int, text: str) -> list[str]:
    problems = []
    if "2023-05" not in text:
        problems.append("the published report is missing")
    if "2023-04" in text:
        problems.append("LEAK of a draft report")
    return problems


PUB_PUBLIC_BOTH = {r: (200, 200) for r in ROLES}
PAGES.update({
    "publicity:article_list": Entry(None, roles_only(PUB_STAFF), setup=_pub_setup, markers=_pub_markers),
    "publicity:article_new": Entry(None, roles_only(PUB_STAFF)),
    "publicity:calendar": Entry(None, roles_only(PUB_STAFF)),
    "publicity:article_detail": Entry(_pub_kw(), _pub_expect(200, 302), markers=lambda ctx, side: [f"PUB-{side}-published"]),
    "publicity:article_edit": Entry(_pub_kw(), _pub_expect(200, 302), markers=lambda ctx, side: [f"PUB-{side}-published"]),
    "publicity:article_image": Entry(_pub_kw(), _pub_expect(302, 302), method="POST", data=lambda ctx: {}),
    "publicity:article_action": Entry(lambda ctx: {"pk": make_article(ctx, state="draft").pk, "action": "publish"},
                                      _pub_expect(302, 302), method="POST", data=lambda ctx: {},
                                      verify=_pub_state_is("published")),
    # public: everyone, published content only, no draft and no person
    "publicity_public:list": Entry(None, public(200), setup=_pub_setup, secret=_public_secret, verify=_public_list_verify),
    "publicity_public:article": Entry(_pub_kw(), PUB_PUBLIC_BOTH, secret=_public_secret,
                                      markers=lambda ctx, side: [f"PUB-{side}-published"], sees_other=frozenset(ROLES)),
    "publicity_public:image": Entry(_article_with_image, PUB_PUBLIC_BOTH),
    "reports_public:list": Entry(None, public(200), setup=_public_reports_setup, verify=_public_reports_verify,
                                 secret=lambda ctx: [PUB_SECRET_USER]),
    "reports_public:detail": Entry(_public_report_kw, {r: (200, 404) for r in ROLES}, secret=lambda ctx: [PUB_SECRET_USER]),
    "reports_public:pdf": Entry(_public_report_kw, {r: (200, 404) for r in ROLES}),
})
API.update({
    "publicity_article_list": Entry(None, roles_only(PUB_STAFF, anon=401), setup=_pub_setup, markers=_pub_markers),
    "publicity_article_create": Entry(lambda ctx: {}, _pub_expect(201, 401, other_for_regulator=422), method="POST",
                                      data=lambda ctx: {"title_zh": "MATRIX", "body_zh": "x",
                                                        "area": "320102" if ctx.side == "own" else "320104"}),
    "publicity_article_get": Entry(_pub_kw("article_id"), _pub_expect(200, 401), markers=lambda ctx, side: [f"PUB-{side}-published"]),
    "publicity_article_update": Entry(_pub_kw("article_id"), _pub_expect(200, 401), data=lambda ctx: {"summary_zh": "matrix"}),
    "publicity_article_transition": Entry(lambda ctx: {"article_id": make_article(ctx, state="draft").pk, "action": "publish"},
                                          _pub_expect(200, 401), data=lambda ctx: {}, verify=_pub_state_is("published")),
    "publicity_public_articles": Entry(None, public(200), setup=_pub_setup, secret=_public_secret, verify=_public_list_verify),
    "publicity_public_article": Entry(_pub_kw("article_id"), PUB_PUBLIC_BOTH, secret=_public_secret,
                                      markers=lambda ctx, side: [f"PUB-{side}-published"], sees_other=frozenset(ROLES)),
    "publicity_calendar": Entry(None, public(200)),
})

PUB_ROWS = {**{n: ("page", n) for n in PAGES if n.startswith(("publicity:", "publicity_public:", "reports_public:"))},
            **{n: ("api", n) for n in API if n.startswith("publicity_")}}


@pytest.mark.parametrize("row", sorted(PUB_ROWS))
def test_publicity_matrix(world, row):
    kind, name = PUB_ROWS[row]
    table = PAGES if kind == "page" else API
    if kind == "api" and name not in discovered_operations():
        pytest.fail(f"API operation {name} is declared but does not exist")
    failures = run_entry(world, kind, name, table[name])
    assert not failures, "\n".join(failures)


def test_publicity_matrix_catches_a_draft_on_the_public_page(world, monkeypatch):
    """With the public projection showing drafts, the anonymous rows report the leak."""
    from django.db.models import Q

    from liftsafe.publicity import selectors as pub_selectors

    monkeypatch.setattr(pub_selectors, "visible_q", lambda at: Q())
    failures = run_entry(world, "page", "publicity_public:list", PAGES["publicity_public:list"])
    assert any("as anonymous" in f and "DRAFT-own" in f for f in failures), failures


# ---- command ----
# The wall screen and the lift map (issue 15): operators, regulators and admins only; every lift, case, alarm,
# area and station in them is scoped (a district-A regulator's map and wall hold nothing of district B). The
# pages are shells filled from the API; the map page's area choices are scoped too. No caller phone on the wall.
CMD_WALL = {"admin", "regulator", "city_regulator", "operator"}
CMD_MAP = {"admin", "regulator", "city_regulator", "operator"}


def _cmd_area_names(allowed: set):
    def markers(ctx: Ctx, side: str) -> list[str]:
        return [(ctx.world.district_a if side == "own" else ctx.world.district_b).name] if ctx.role in allowed else []
    return markers


def _cmd_lift_codes(ctx: Ctx, side: str) -> list[str]:
    return [f'"{elevator_of(ctx, side).registration_code}"'] if ctx.role in CMD_MAP else []


def _cmd_case_numbers(ctx: Ctx, side: str) -> list[str]:
    return [ctx.store[side].order_number] if ctx.role in CMD_WALL else []


PAGES.update({
    "command:map": Entry(None, roles_only(CMD_MAP), markers=_cmd_area_names(CMD_MAP)),
    "command:wall": Entry(None, roles_only(CMD_WALL)),
})
API.update({
    "command_map": Entry(None, roles_only(CMD_MAP, anon=401), markers=_cmd_lift_codes,
                         query=lambda ctx: {"south": 32.0, "west": 118.7, "north": 32.1, "east": 118.9, "zoom": 16}),
    "command_map_areas": Entry(None, roles_only(CMD_MAP, anon=401), markers=lambda ctx, side: [
        f'"{(ctx.world.district_a if side == "own" else ctx.world.district_b).code}"'] if ctx.role in CMD_MAP else []),
    "command_wall": Entry(None, roles_only(CMD_WALL, anon=401), setup=both(make_case), markers=_cmd_case_numbers,
                          secret=lambda ctx: [PHONE["own"], PHONE["other"], PHONE2["own"], PHONE2["other"]]),
})
CMD_ROWS = {**{n: ("page", n) for n in PAGES if n.startswith("command:")},
            **{n: ("api", n) for n in API if n.startswith("command_")}}


@pytest.mark.parametrize("row", sorted(CMD_ROWS))
def test_command_matrix(world, row):
    kind, name = CMD_ROWS[row]
    table = PAGES if kind == "page" else API
    failures = run_entry(world, kind, name, table[name])
    assert not failures, "\n".join(failures)


def test_command_matrix_catches_a_leak(world, monkeypatch):
    """With the map's lifts unscoped, the matrix reports the other district's lift."""
    from liftsafe.command import selectors as cmd_selectors

    monkeypatch.setattr(cmd_selectors, "scope_elevators", lambda scope, qs=None, prefix="": qs)
    failures = run_entry(world, "api", "command_map", API["command_map"])
    assert any("as regulator" in f and "LEAK" in f for f in failures), failures
