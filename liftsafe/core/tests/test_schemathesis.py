"""schemathesis against the project's own OpenAPI, as every role: zero server errors (issue 18 item 6).

Every operation of ``/api/openapi.json`` gets generated requests (valid and invalid, schemathesis'
defaults), each sent as every role of the test world (an API token per user) and anonymously,
through Django's test client (the real middleware, parser, handlers and database). Ids in paths are
also tried with objects that exist in the caller's world, so the requests reach the services.
Budget: ``LIFTSAFE_SCHEMATHESIS_EXAMPLES`` examples per operation (default 10).
"""
import datetime as dt
import json
import os
from urllib.parse import urlencode

import pytest
import schemathesis  # the dev extra: a missing tool fails the run, it is never skipped
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from liftsafe.api import api
from liftsafe.core.models import ApiToken

EXAMPLES = int(os.environ.get("LIFTSAFE_SCHEMATHESIS_EXAMPLES", "10"))
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())


@pytest.fixture
def quiet():
    """4xx answers are the point here: keep django.request's warnings out of the output (and the time)."""
    import logging

    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def callers(world, quiet):
    """``{role: Client}`` for every user of the world (API token) plus an anonymous client, and the ids that exist."""
    from liftsafe.emergency import services as emergency
    from liftsafe.hazards.tests.helpers import file_hazard

    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in world.users.items():
        _rec, token = ApiToken.issue(user, "schemathesis")
        clients[role] = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)
    case = emergency.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment",
                                  received_at=timezone.now() - dt.timedelta(minutes=3), actor=world.users["operator"]).case
    hazard = file_hazard(world)
    ids = {"elevator_id": world.elevators["a1"].pk, "organisation_id": world.orgs[("use_unit", "a")].pk,
           "pk": case.pk, "hazard_id": hazard.pk, "token_id": ApiToken.issue(world.users["admin"], "spare")[0].pk}  # revoking it keeps admin's own token
    return clients, ids


def _query(q) -> str:
    def text(v):
        return "true" if v is True else "false" if v is False else "" if v is None else str(v)

    pairs = []
    for k, v in (q or {}).items():
        for item in v if isinstance(v, list) else [v]:
            pairs.append((k, text(item)))
    return urlencode(pairs)


def send(client: Client, case, path_parameters=None):
    params = {**(case.path_parameters or {}), **(path_parameters or {})}
    path = case.path
    for k, v in params.items():
        path = path.replace("{" + k + "}", str(v))
    q = _query(case.query)
    url = path + ("?" + q if q else "")
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "content-type", "content-length")}
    body = case.body
    has_body = body is not None and type(body).__name__ != "NotSet"
    if case.media_type == "multipart/form-data" and has_body:
        data = {k: (SimpleUploadedFile(k, v if isinstance(v, bytes) else str(v).encode()) if k == "file" else str(v))
                for k, v in (body or {}).items()} if isinstance(body, dict) else {}
        return client.post(url, data, headers=headers)
    data = (body if isinstance(body, (bytes, str)) else json.dumps(body)) if has_body else ""
    return client.generic(case.method.upper(), url, data, content_type="application/json", headers=headers)


def _operations():
    for result in schema.get_all_operations():
        yield result.ok()


def test_no_server_error_for_any_role(callers):
    """Every operation × (valid and invalid generated requests) × every role: no 5xx. One world for all
    operations (building it per operation costs more than the requests)."""
    clients, ids = callers
    strategies, sent = 0, [0]
    for op in _operations():
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            known = {k: ids[k] for k in (case.path_parameters or {}) if k in ids}
            for role, client in clients.items():
                # every role with ids that exist (reaching the services); the generated ids as admin and anonymous
                for override in ([known] + ([None] if role in ("admin", "anonymous") else [])) if known else [None]:
                    r = send(client, case, override)
                    sent[0] += 1
                    assert r.status_code < 500, (f"{case.method} {case.path} as {role} ({override}): HTTP {r.status_code}\n"
                                                 f"query={case.query!r} body={case.body!r}\n{r.content[:800]!r}")

        run()
        strategies += 1
    assert strategies >= 60  # every operation of the API was exercised
    assert sent[0] >= strategies * len(clients)
    print(f"schemathesis: {strategies} operations, {sent[0]} requests, {len(clients)} callers")
