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
    )

``ctx`` carries ``world`` (liftsafe.core.testing.make_world), ``role``,
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
    "registry:elevator_list": Entry(None, listing(302), markers=codes),
    "registry:elevator_detail": Entry(elevator_kw("pk"), read(302), markers=one_code),
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
    """Issue one request inside a savepoint that is rolled back; returns (status, body text)."""
    with transaction.atomic():
        kwargs = entry.kwargs(ctx) if entry.kwargs else {}
        data = entry.data(ctx) if entry.data else None
        c = client_for(ctx)
        if kind == "page":
            url = reverse(name, kwargs=kwargs or None)
            resp = c.post(url, data or {}) if entry.method == "POST" else c.get(url)
        else:
            method, template = discovered_operations()[name]
            url = template.format(**kwargs)
            if method == "GET":
                resp = c.get(url)
            else:
                resp = c.generic(method, url, data=None if data is None else __import__("json").dumps(data),
                                 content_type="application/json")
        text = body_text(resp)
        transaction.set_rollback(True)
    return resp.status_code, text


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
            status, text = request(kind, name, entry, ctx)
            where = f"{name} as {role}" + (f" on {side}" if side else "")
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


@pytest.mark.parametrize("name", sorted(API))
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
