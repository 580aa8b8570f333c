"""Newcomer review of the exchange pages: the rejected count is translated (batch last error, send log), records
show the case's order number / elevator's registration code linked to their page (scoped, no N+1), the
idempotency key is a tooltip, and the receiver's reason is labelled as the receiver's own words."""
from __future__ import annotations

import re

import pytest
from django.conf import settings as dj_settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from liftsafe.testing import make_user
from liftsafe.exchange.models import BATCH_REJECTED, Batch, BatchItem, Destination, OutboxRecord, SendLog, send_error_label

from .conftest import open_case

pytestmark = pytest.mark.django_db


def _client(user, lang=None):
    c = Client()
    c.force_login(user)
    if lang:
        c.cookies[dj_settings.LANGUAGE_COOKIE_NAME] = lang
    return c


@pytest.fixture
def dest():
    return Destination.objects.create(name="nat", kind="national", adapter="national", endpoint_url="https://nat.invalid/up",
                                      record_types=["case", "elevator"])


def _case_record(dest, case, n=1):
    return OutboxRecord.objects.create(destination=dest, record_type="case", object_id=case.pk, elevator=case.elevator,
                                       record_key=f"LS{case.pk}", payload={}, idempotency_key=f"case:{case.pk}:{n}")


def test_rejected_count_is_stored_neutral_and_shown_translated():
    assert BATCH_REJECTED.format(n=2) == "2 rejected"
    with translation.override("zh-hans"):
        assert send_error_label("1 rejected") == "1 条被拒收"
        assert Batch(last_error="3 rejected").last_error_label == "3 条被拒收"
        assert SendLog(error_class="", rejected=2).error_label == "2 条被拒收"
        assert SendLog(error_class="timeout", rejected=2).error_label == "超时"  # a transport error wins
        assert SendLog(error_class="", rejected=0).error_label == ""
    with translation.override("en"):
        assert send_error_label("1 rejected") == "1 record rejected"
        assert Batch(last_error="3 rejected").last_error_label == "3 records rejected"
        assert send_error_label("x rejected") == "x rejected"  # not the stored form: as stored


def test_batch_and_send_log_show_the_translated_rejected_count(world, dest):
    case = open_case(world, "a1")
    rec = _case_record(dest, case)
    b = Batch.objects.create(destination=dest, idempotency_key="b-1", record_type="case", status="rejected", last_error="1 rejected")
    BatchItem.objects.create(batch=b, record=rec, result="rejected",
                             reason="no registration_code, equipment_code or rescue_code: the elevator cannot be identified")
    SendLog.objects.create(batch=b, destination=dest, attempt=1, started_at=timezone.now(), duration_ms=5, http_status=200,
                           records=1, rejected=1)
    zh = _client(world.users["admin"])
    log = zh.get("/exchange/log/?errors=1").content.decode()
    assert '<span class="badge partial">1 条被拒收</span>' in log
    detail = zh.get(b.get_absolute_url()).content.decode()
    assert "1 条被拒收" in detail and ">1 rejected<" not in detail
    assert "接收方原因" in detail and "the elevator cannot be identified" in detail  # the receiver's words, as received
    en = _client(world.users["admin"], "en")
    assert "1 record rejected" in en.get("/exchange/log/?errors=1").content.decode()
    assert ">Receiver's reason<" in en.get(b.get_absolute_url()).content.decode()


def test_records_show_order_number_and_registration_code_linked(world, dest):
    case = open_case(world, "a1")
    rec = _case_record(dest, case)
    ev = world.elevators["a2"]
    OutboxRecord.objects.create(destination=dest, record_type="elevator", object_id=ev.pk, elevator=ev, record_key="REG",
                                payload={}, idempotency_key=f"elevator:{ev.pk}:1")
    b = Batch.objects.create(destination=dest, idempotency_key="b-1", record_type="case")
    BatchItem.objects.create(batch=b, record=rec)
    for user in (world.users["admin"], world.users["regulator"]):  # the regulator of district a sees both
        c = _client(user)
        html = c.get("/exchange/outbox/").content.decode()
        assert f'<a href="/emergency/cases/{case.pk}/" title="幂等键: case:{case.pk}:1">{case.order_number}</a>' in html, user
        assert f'<a href="/registry/elevators/{ev.pk}/" title="幂等键: elevator:{ev.pk}:1">{ev.registration_code}</a>' in html
        assert f">LS{case.pk}<" not in html and "<code>case:" not in html
        detail = c.get(b.get_absolute_url()).content.decode()
        assert f'<a href="/emergency/cases/{case.pk}/" title="幂等键: case:{case.pk}:1">{case.order_number}</a>' in detail


def test_no_link_for_an_officer_who_may_not_see_the_case(world, dest):
    """A data officer by permission without an area scope sees the record's label but no link to the case."""
    case = open_case(world, "a1")
    _case_record(dest, case)
    officer = make_user("officer")
    officer.user_permissions.add(Permission.objects.get(codename="manage_exchange"))
    html = _client(officer).get("/exchange/outbox/").content.decode()
    assert f'<span title="幂等键: case:{case.pk}:1">{case.order_number}</span>' in html
    assert f"/emergency/cases/{case.pk}/" not in html


def test_record_labels_cost_a_fixed_number_of_queries(world, dest):
    c = _client(world.users["admin"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/exchange/outbox/").status_code == 200
        return len(ctx.captured_queries)

    _case_record(dest, open_case(world, "a1"))
    few = count()
    for key in ("a2", "b1", "b2"):
        _case_record(dest, open_case(world, key))
    for n, ev in enumerate(world.elevators.values()):
        OutboxRecord.objects.create(destination=dest, record_type="elevator", object_id=ev.pk, elevator=ev, record_key=f"R{n}",
                                    payload={}, idempotency_key=f"elevator:{ev.pk}:1")
    assert count() <= few + 1  # + the elevator type's one query, whatever the number of rows
    assert re.search(r"幂等键: elevator:\d+:1", c.get("/exchange/outbox/").content.decode())
