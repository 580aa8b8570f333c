"""One error contract and one input layer (issue 10 "one error contract", defect 5; issue 18 items 6, 9, 10, 12).

Every failing input of the issues is sent through the real path (API or page) and must come back as
the one error shape (API) or a 400/form error (page), never a 500.
"""
import datetime as dt
import json
import logging
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from liftsafe.core.models import ApiToken


def session(user, **kw):
    c = Client(**kw)
    c.force_login(user)
    return c


def post_json(c, url, data, method="post"):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return getattr(c, method)(url, body, content_type="application/json")


def assert_error_shape(r, status, field=None):
    assert r.status_code == status, (r.status_code, r.content[:300])
    body = r.json()
    assert set(body) <= {"detail", "errors"} and isinstance(body["detail"], str)
    if field is not None:
        assert field in body["errors"], body
        assert all(isinstance(m, str) for msgs in body["errors"].values() for m in msgs)
    return body


# --- issue 10 defect 5: one endpoint, one 422 shape -----------------------------------------


def test_hazard_action_has_one_error_shape_for_schema_service_and_conflict_errors(world):
    from liftsafe.hazards.tests.helpers import file_hazard

    h = file_hazard(world)
    c = session(world.users["regulator"])
    url = f"/api/hazards/hazards/{h.pk}/list"
    schema = assert_error_shape(post_json(c, url, {"authority": "district"}), 422, "version")  # ninja validation
    service = assert_error_shape(post_json(c, url, {"version": 1, "authority": "galaxy"}), 422, "listed_authority")
    conflict = assert_error_shape(post_json(c, url, {"version": 99, "authority": "district"}), 409, "version")
    unknown = assert_error_shape(post_json(c, f"/api/hazards/hazards/{h.pk}/fly", {"version": 1}), 422, "action")
    for body in (schema, service, conflict, unknown):
        assert set(body) == {"detail", "errors"}
    # before: the service error was {"detail": {"listed_authority": [...]}} (a dict), the schema error a string
    assert service["detail"].startswith("listed_authority: ")
    forbidden = post_json(session(world.users["use_unit"]), url, {"version": 1, "authority": "district"})
    assert_error_shape(forbidden, 403)


def test_services_raise_domain_not_found():
    from django.http import Http404

    from liftsafe.core.errors import Conflict, NotFound
    from liftsafe.hazards.services import HazardConflict

    assert issubclass(HazardConflict, Conflict) and issubclass(NotFound, Http404)


def test_page_error_names_field_by_label_and_values_by_translated_label(world):
    """An operator closes an undispatched entrapment as 'completed': the message uses labels, never codes."""
    from liftsafe.emergency import services
    from liftsafe.emergency.models import EmergencyCase, Milestone, State

    case = services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment",
                                 received_at=timezone.now() - dt.timedelta(minutes=5), actor=world.users["operator"]).case
    c = session(world.users["operator"])
    r = c.post(reverse("emergency:case_close", args=[case.pk]), {"kind": "completed"})
    assert r.status_code == 302
    texts = [str(m) for m in get_messages(r.wsgi_request)]
    with translation.override("zh-hans"):
        field = str(Milestone._meta.get_field("kind").verbose_name)
        kind, state = str(Milestone.Kind.COMPLETED.label), str(State.RECEIVED.label)
    assert len(texts) == 1, texts
    text = texts[0]
    assert text.startswith(f"{field}: ") and kind in text and state in text, text
    assert "completed" not in text and "received" not in text and not text.startswith("kind")
    assert EmergencyCase.objects.get(pk=case.pk).state == "received"


def test_hazard_page_error_uses_field_label(world):
    from liftsafe.hazards.models import Hazard

    c = session(world.users["regulator"])
    e = world.elevators["a1"]
    r = c.post(f"/hazards/new/?elevator={e.pk}", {"elevator": e.pk, "source": "inspection", "title": "",
                                                  "level": "general", "responsible_unit": world.orgs[("use_unit", "a")].pk})
    texts = [str(m) for m in get_messages(r.wsgi_request)]
    with translation.override("zh-hans"):
        label = str(Hazard._meta.get_field("title").verbose_name)
    assert any(t.startswith(f"{label}: ") for t in texts), texts
    assert not any(t.startswith("title:") for t in texts)


# --- issue 18 item 6: malformed input is refused, never a 500 -------------------------------

BIG = str(2**63)


@pytest.mark.parametrize("url, field", [
    ("/api/registry/elevators?q=%00", "q"),
    ("/api/registry/elevators?q=a%00b&area=320102", "q"),
    ("/api/registry/elevators?offset=" + BIG, "offset"),
    ("/api/registry/elevators?offset=-1", "offset"),
    ("/api/registry/elevators?limit=" + BIG, "limit"),
    ("/api/emergency/cases?offset=" + BIG, "offset"),
    ("/api/emergency/cases?limit=-5", "limit"),
    ("/api/hazards/hazards?offset=" + BIG, "offset"),
    ("/api/reports/reports?offset=-1", "offset"),
    ("/api/exchange/records?offset=" + BIG, "offset"),
    ("/api/monitoring/alarms?offset=" + BIG, "offset"),
    ("/api/monitoring/devices?limit=-1", "limit"),
    ("/api/emergency/cases?since=2026-01-01T00:00:00%2B16:00", "since"),
    ("/api/emergency/cases?since=2026-01-01T00:00:00-23:59", "since"),
    ("/api/emergency/cases?since=0001-01-01T00:00:00Z", "since"),
    ("/api/emergency/board?since=0001-01-01T00:00:00%2B08:00", "since"),
    ("/api/emergency/upload?since=9999-12-31T23:59:59-08:00", "since"),
])
def test_api_query_refused_with_422(world, url, field):
    r = session(world.users["admin"]).get(url)
    assert_error_shape(r, 422, field)


@pytest.mark.parametrize("body, field", [
    ('{"elevator_id": 1, "channel": "phone\\u0000_96333", "case_type": "entrapment"}', "channel"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "details": {"a": "x\\u0000"}}', "details.a"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "details": {"a\\u0000": 1}}', "details"),
    ('{"elevator_id": 1, "channel": "\\ud800", "case_type": "entrapment"}', "body"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "trapped_count": NaN}', "body"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "trapped_count": Infinity}', "body"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "trapped_count": 1e400}', "body"),
    ('{"elevator_id": 9223372036854775808, "channel": "phone_96333", "case_type": "entrapment"}', "elevator_id"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "received_at": "2026-01-01T00:00:00+20:00"}',
     "received_at"),
    ('{"elevator_id": 1, "channel": "phone_96333", "case_type": "entrapment", "received_at": "0001-01-01T00:00:00+00:00"}',
     "received_at"),
])
def test_api_json_body_refused_with_422(world, body, field):
    from liftsafe.emergency.models import EmergencyCase

    r = post_json(session(world.users["operator"]), "/api/emergency/cases", body)
    assert_error_shape(r, 422, field)
    assert not EmergencyCase.objects.exists()


def test_monitoring_batch_with_non_finite_number_is_dead_lettered_not_500(world):
    """The IoT batch is parsed per message by the MQTT path's own parser (issue 18 item 4): a non-finite
    number or a NUL in an id dead-letters that message (``schema``), never a 500 and never the whole batch."""
    from liftsafe.monitoring.models import DeadLetter

    _rec, token = ApiToken.issue(world.users["maintenance_unit"], "iot")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = post_json(c, "/api/monitoring/messages", '{"messages": [{"v": 1, "vibration_db": Infinity}]}')
    assert r.status_code == 200, r.content[:300]
    assert r.json()["dead"] == {"schema": 1}
    r = post_json(c, "/api/monitoring/messages", '{"messages": [{"v": 1, "id": "a\\u0000b"}]}')
    assert r.status_code == 200, r.content[:300]
    assert sum(r.json()["dead"].values()) == 1
    assert DeadLetter.objects.count() == 2


def test_multipart_without_boundary_api_422_page_400(world):
    from liftsafe.hazards.tests.helpers import file_hazard

    h = file_hazard(world)
    c = session(world.users["use_unit"])
    r = c.generic("POST", f"/api/hazards/hazards/{h.pk}/evidence", b"--x\r\n", content_type="multipart/form-data")
    assert_error_shape(r, 422, "body")
    r = c.generic("POST", f"/hazards/{h.pk}/evidence/", b"--x\r\n", content_type="multipart/form-data")
    assert r.status_code == 400


@pytest.mark.parametrize("url", ["/registry/?q=%00", "/hazards/?q=a%00", "/emergency/regulator/?days=%00"])
def test_page_query_with_nul_is_400(world, url):
    r = session(world.users["admin"]).get(url)
    assert r.status_code == 400


def test_page_form_with_nul_is_400_and_nothing_written(world):
    from liftsafe.hazards.models import Hazard

    e = world.elevators["a1"]
    r = session(world.users["regulator"]).post(
        f"/hazards/new/?elevator={e.pk}", {"elevator": e.pk, "source": "inspection", "title": "门锁\x00失效", "level": "general",
                                           "responsible_unit": world.orgs[("use_unit", "a")].pk})
    assert r.status_code == 400 and not Hazard.objects.exists()


def test_database_refusal_is_a_422_backstop(world):
    """SQLite cannot bind an integer ≥ 2^63 (OverflowError in the driver); PostgreSQL finds nothing (404)."""
    r = session(world.users["admin"]).get(f"/api/registry/elevators/{2**64}")
    assert r.status_code in (404, 422)
    assert_error_shape(r, r.status_code)


def test_backstop_recognises_driver_errors_only():
    from liftsafe.core.errors import from_database

    try:
        int("x")
    except ValueError as exc:
        assert not from_database(exc)  # a bug in our code stays a 500
    from django.db import DataError

    assert from_database(DataError("value too long"))


# --- issue 18 item 9: intake bounds the past of received_at; zero-padded order numbers ------


def test_intake_refuses_year_one_and_too_old_received_at(world):
    from liftsafe.emergency.models import EmergencyCase

    c = session(world.users["operator"])
    base = {"elevator_id": world.elevators["a1"].pk, "channel": "phone_96333", "case_type": "entrapment"}
    r = post_json(c, "/api/emergency/cases", {**base, "received_at": "0001-01-01T00:00:00+00:00"})
    assert_error_shape(r, 422, "received_at")
    old = (timezone.now() - dt.timedelta(days=8)).isoformat()
    body = assert_error_shape(post_json(c, "/api/emergency/cases", {**base, "received_at": old}), 422, "received_at")
    assert "7" in body["errors"]["received_at"][0]
    assert not EmergencyCase.objects.exists()
    recent = (timezone.now() - dt.timedelta(days=6)).isoformat()
    assert post_json(c, "/api/emergency/cases", {**base, "received_at": recent}).status_code == 201


def test_order_number_is_zero_padded():
    from liftsafe.emergency.services import new_order_number

    no = new_order_number(dt.datetime(999, 3, 4, 1, 0, tzinfo=dt.UTC))
    assert no.startswith("09990304-") and len(no) == 17


# --- issue 18 item 10: unique schema names; the messages endpoint documents its own response --


def test_openapi_documents_monitoring_batch_response_and_error_responses(world):
    spec = session(world.users["admin"]).get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    op = spec["paths"]["/api/monitoring/messages"]["post"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"outcomes", "accepted", "alarms_raised"} <= set(schemas[ref]["properties"])
    batch = spec["paths"]["/api/exchange/batches/{batch_id}/resend"]["post"]["responses"]["201"]
    ref2 = batch["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert ref2 != ref and "destination_name" in schemas[ref2]["properties"]
    # every operation declares its error responses with the one error schema
    for path, ops in spec["paths"].items():
        for method, o in ops.items():
            codes = set(o["responses"])
            assert {"403", "422"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            err = o["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert set(schemas[err]["properties"]) == {"detail", "errors"}


# --- issue 18 item 12: the database down ------------------------------------------------------

SECRET = 'connection to server at "db.internal" (10.9.8.7), port 5432 failed: FATAL: password authentication failed for user "liftsafe_owner"'


def test_healthz_hides_database_error_and_logs_it(caplog):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET)), \
            caplog.at_level(logging.ERROR, logger="liftsafe.health"):
        r = Client().get("/healthz")
    assert r.status_code == 503 and r.json() == {"ok": False, "error": "database unavailable"}
    assert "db.internal" not in r.content.decode() and "liftsafe_owner" not in r.content.decode()
    assert any("db.internal" in (rec.exc_text or "") or "db.internal" in str(rec.exc_info) for rec in caplog.records)


def test_api_answers_json_when_database_is_down(world):
    _rec, token = ApiToken.issue(world.users["regulator"], "t")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET)):
        r = c.get("/api/registry/elevators")
    assert r.status_code == 503 and r["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Service unavailable"} and "db.internal" not in r.content.decode()
    s = session(world.users["regulator"], raise_request_exception=False)
    with mock.patch.object(connection, "cursor", side_effect=OperationalError(SECRET)):
        r = s.get("/api/core/me")
    assert r.status_code == 503 and r.json()["detail"] == "Service unavailable"


def test_api_server_error_is_json_not_html(world):
    """A real bug still is a 500 (and logged), but /api/ answers it in the error shape, not Django's HTML page."""
    s = session(world.users["regulator"], raise_request_exception=False)
    with mock.patch("liftsafe.registry.selectors.elevator_search", side_effect=RuntimeError("boom")):
        r = s.get("/api/registry/elevators")
    assert r.status_code == 500 and r.json() == {"detail": "Internal server error"}


def test_hazard_page_with_malformed_version_is_a_message_not_500(world):
    from liftsafe.hazards.models import Hazard
    from liftsafe.hazards.tests.helpers import file_hazard

    h = file_hazard(world)
    c = session(world.users["regulator"])
    r = c.post(f"/hazards/{h.pk}/do/edit/", {"version": "abc", "title": "新标题"})
    assert r.status_code == 302
    texts = [str(m) for m in get_messages(r.wsgi_request)]
    with translation.override("zh-hans"):
        label = str(Hazard._meta.get_field("version").verbose_name)
    assert any(t.startswith(f"{label}: ") for t in texts), texts
    assert Hazard.objects.get(pk=h.pk).title == h.title
