"""Review findings (lost changes, version order, 200 + business error, slow/huge replies, outages, re-send all,
regulator scoping of batches) — each asserts the FIXED behaviour against the real local receiver."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from liftsafe.testing import make_elevator
from liftsafe.emergency.models import EmergencyCase
from liftsafe.exchange import selectors as XS
from liftsafe.exchange import services
from liftsafe.exchange.models import Batch, BatchItem, OutboxRecord, SendLog
from liftsafe.registry.models import Elevator

from .conftest import national, open_case, queued_case

pytestmark = pytest.mark.django_db
S = dt.timedelta(seconds=1)


def test_row_committed_late_with_older_updated_at_is_enqueued(world, receiver):
    d = national(world, receiver, record_types=["elevator"])
    t0 = timezone.now()
    n0 = services.enqueue_changed(d, now=t0)
    assert n0 == Elevator.objects.count()
    d.refresh_from_db()
    assert d.watermark <= t0  # the newest updated_at seen, not the clock
    # an import that stamped updated_at at its start (60 s ago) commits after the previous run
    e = make_elevator("IMP", world.district_a, registration_code="31103201022014990099")
    Elevator.objects.filter(pk=e.pk).update(updated_at=t0 - 60 * S)
    assert services.enqueue_changed(d, now=t0 + 60 * S) == 1
    assert OutboxRecord.objects.filter(destination=d, object_id=e.pk).count() == 1
    # re-scanning the overlap again enqueues nothing (content hash), in a bounded number of queries
    with CaptureQueriesContext(connection) as q:
        assert services.enqueue_changed(d, now=t0 + 120 * S) == 0
    assert len(q.captured_queries) < 15
    assert all(len(h) == 64 for h in OutboxRecord.objects.values_list("content_hash", flat=True))


def test_newer_version_supersedes_an_older_one_waiting_for_retry(world, receiver):
    c = open_case(world, "a1")
    d = national(world, receiver)
    services.enqueue_changed(d)
    receiver.mode = "500"
    t = timezone.now()
    services.send_due(d, now=t)
    old_batch = Batch.objects.get()
    assert old_batch.status == "pending" and old_batch.attempts == 1
    EmergencyCase.objects.filter(pk=c.pk).update(trapped_count=3, updated_at=timezone.now())
    assert services.enqueue_changed(d) == 1
    v1, v2 = OutboxRecord.objects.filter(destination=d).order_by("version")
    assert (v1.status, v1.batch_id, v2.status) == ("superseded", None, "pending")
    assert not BatchItem.objects.filter(batch=old_batch).exists()
    old_batch.refresh_from_db()
    assert old_batch.status == "superseded"
    receiver.mode = "accept"
    receiver.requests.clear()
    services.send_due(d, now=t + 3600 * S)
    sent = [r["trapped_count"] for req in receiver.requests for r in receiver.rows(req)]
    assert sent == [3]  # only the newest version went out; v1 is never delivered after it
    v1.refresh_from_db(), v2.refresh_from_db()
    assert (v1.status, v2.status) == ("superseded", "sent")
    # re-sending the old batch sends the latest version only
    v1_batch = Batch.objects.create(destination=d, idempotency_key="old-sent", record_type="case", status="sent")
    BatchItem.objects.create(batch=v1_batch, record=v1)
    new = services.resend_batch(world.users["admin"], v1_batch)
    assert list(new.records.values_list("version", flat=True)) == [2]


def test_http_200_with_business_error_code_is_retried_not_rejected(world, receiver):
    open_case(world, "a1"), open_case(world, "a2")
    d = national(world, receiver)
    services.enqueue_changed(d)
    receiver.mode = "busy"
    t = timezone.now()
    s = services.send_due(d, now=t)
    assert (s.failed_attempts, s.rejected, s.retried_alone) == (1, 0, 0)
    assert set(OutboxRecord.objects.values_list("status", "solo")) == {("pending", False)}
    b = Batch.objects.get()
    assert b.status == "pending" and b.next_attempt_at == t + 60 * S and b.last_error == "busy (reply code 503)"
    receiver.mode = "accept"
    assert services.send_due(d, now=t + 60 * S).accepted == 2


def test_a_receiver_that_stays_busy_is_retried_like_an_outage_never_failed(world, receiver, settings):
    """A 200 + {"code": 503} is transport-class: same backoff as a 5xx, never counted towards exchange_max_attempts
    (here 2), each attempt logged with why; explicit refusals (403) still finalise the batch after the limit."""
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_retry_max_s": 200, "exchange_max_attempts": 2}
    d = queued_case(world, receiver)
    receiver.mode = "busy"
    at = timezone.now()
    delays = []
    for _ in range(6):  # three times the attempt limit
        s = services.send_due(d, now=at)
        assert (s.attempts, s.failed_attempts, s.rejected) == (1, 1, 0)
        b = Batch.objects.get()
        assert b.status == "pending", "a busy receiver must never finalise the batch"
        delays.append((b.next_attempt_at - at).total_seconds())
        at = b.next_attempt_at
    assert delays == [60, 120, 200, 200, 200, 200]  # exchange_retry_base_s doubling, capped at exchange_retry_max_s
    assert b.attempts == 6 and b.last_error == "busy (reply code 503)"
    assert OutboxRecord.objects.get().status == "pending"
    logs = list(SendLog.objects.filter(batch=b).order_by("attempt"))
    assert [(x.attempt, x.http_status, x.error_class) for x in logs] == [(n, 200, "busy (reply code 503)") for n in range(1, 7)]
    assert all("system busy" in x.response_excerpt for x in logs)  # the receiver's own words stay in the send log
    # the same rule for a real 5xx in between: still pending
    receiver.mode = "500"
    services.send_due(d, now=at)
    b.refresh_from_db()
    assert b.status == "pending" and b.last_error == "HTTP 500"
    # explicit refusals are counted on their own: the first 403 leaves it pending, the second (the limit) fails it
    receiver.mode = "403"
    services.send_due(d, now=b.next_attempt_at)
    b.refresh_from_db()
    assert b.status == "pending"
    services.send_due(d, now=b.next_attempt_at)
    b.refresh_from_db()
    assert (b.status, b.attempts, b.last_error) == ("failed", 9, "HTTP 403")
    assert OutboxRecord.objects.get().status == "failed"


def test_reply_larger_than_the_limit_is_a_failed_attempt(world, receiver, settings):
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_max_reply_bytes": 1000}
    d = queued_case(world, receiver)
    receiver.mode, receiver.delay_bytes = "huge", 50_000
    s = services.send_due(d)
    assert s.failed_attempts == 1
    log = SendLog.objects.get()
    assert log.error_class == "reply too large" and len(log.response_excerpt) <= 1000
    assert Batch.objects.get().status == "pending"


def test_send_budget_stops_one_destination(world, receiver, settings):
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_send_budget_s": 0}
    d = queued_case(world, receiver)
    s = services.send_due(d)
    assert s.attempts == 0 and s.out_of_time


def test_lost_lease_does_not_record_a_result(world, receiver, monkeypatch):
    d = queued_case(world, receiver)
    real = services._post

    def post(dest, batch, body, ct):  # another worker re-claims the batch while we wait for the reply
        Batch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now() + 999 * S)
        return real(dest, batch, body, ct)

    monkeypatch.setattr(services, "_post", post)
    services.send_due(d)
    assert OutboxRecord.objects.get().status == "pending"
    assert SendLog.objects.get().error_class == "lease lost"


def test_resend_all_failed(world, receiver, settings):
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_max_attempts": 1}
    d = queued_case(world, receiver)
    receiver.mode = "403"
    services.send_due(d)
    assert Batch.objects.get().status == "failed"
    receiver.mode = "accept"
    new = services.resend_failed(world.users["admin"], d)
    assert len(new) == 1 and services.resend_failed(world.users["admin"], d) == []
    assert services.send_due(d).accepted == 1


def test_endpoint_url_safety_and_token_on_host_change(world, receiver, settings):
    from django.core.exceptions import ValidationError

    admin = world.users["admin"]
    settings.LIFTSAFE_EXCHANGE_ALLOWED_HOSTS = []
    base = dict(name="x", kind="national", adapter="national")
    for url in ("https://user:pw@example.invalid/up", "http://10.1.2.3/up", "http://169.254.169.254/latest",
                "http://localhost:8000/up", "http://[::1]/up", "http://192.168.1.5/up"):
        with pytest.raises(ValidationError) as e:
            services.destination_create(admin, endpoint_url=url, **base)
        assert "endpoint_url" in e.value.message_dict, url
    settings.LIFTSAFE_EXCHANGE_ALLOWED_HOSTS = ["10.1.2.3"]
    d = services.destination_create(admin, endpoint_url="http://10.1.2.3/up", auth_token="OLD", **base)
    # same origin, other path: the token stays
    d = services.destination_update(admin, d, endpoint_url="http://10.1.2.3/v2/up")
    assert d.auth_token == "OLD"
    # another host without a new token: refused while enabled, nothing saved
    with pytest.raises(ValidationError) as e:
        services.destination_update(admin, d, endpoint_url="https://other.invalid/up")
    assert "auth_token" in e.value.message_dict
    d.refresh_from_db()
    assert (d.endpoint_url, d.auth_token) == ("http://10.1.2.3/v2/up", "OLD")
    d = services.destination_update(admin, d, endpoint_url="https://other.invalid/up", auth_token="NEW")
    assert d.auth_token == "NEW"
    d = services.destination_update(admin, d, endpoint_url="https://third.invalid/up", enabled=False)
    assert d.auth_token == ""  # disabled: allowed, but the old token is gone


def test_regulator_sees_only_batches_with_own_records_on_city_wide_destination(world, receiver, client):
    d = national(world, receiver, area=world.city)  # a shared city-wide destination
    open_case(world, "b1")  # district B only
    services.enqueue_changed(d)
    receiver.mode = "500"
    services.send_due(d)
    b = Batch.objects.get()
    reg, city = world.users["regulator"], world.users["city_regulator"]
    assert not XS.batches_for(reg).exists() and not XS.logs_for(reg).exists()
    with pytest.raises(Exception):
        XS.batch_get(reg, b.pk)
    assert XS.batch_get(city, b.pk) == b and XS.logs_for(city, batch=b).count() == 1
    assert b.last_error == "HTTP 500"  # no reply text in last_error
    assert XS.endpoint_shown(reg, d) == "127.0.0.1" and XS.endpoint_shown(world.users["admin"], d) == receiver.url
    client.force_login(reg)
    r = client.get(f"/api/exchange/destinations/{d.pk}")
    assert r.status_code == 200 and r.json()["endpoint_url"] == "127.0.0.1", r.content
    # district A's own case on the same destination: visible batch
    open_case(world, "a1")
    services.enqueue_changed(d)
    services.send_due(d)
    assert XS.batches_for(reg).count() == 1


def test_resend_failed_api_and_page(world, receiver, client, settings):
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_max_attempts": 1}
    d = queued_case(world, receiver)
    receiver.mode = "403"
    services.send_due(d)
    client.force_login(world.users["regulator"])
    assert client.post("/api/exchange/resend-failed").status_code == 403
    assert client.post("/exchange/resend-failed/").status_code == 403
    client.force_login(world.users["admin"])
    r = client.post(f"/api/exchange/resend-failed?destination={d.pk}")
    assert r.status_code == 201 and len(r.json()) == 1
    assert client.post("/exchange/resend-failed/").status_code == 302
    assert Batch.objects.filter(status="pending").count() == 1  # the second call found nothing new to re-send


def test_enqueue_pages_by_id_and_long_record_keys_match_replies(world, receiver, monkeypatch):
    monkeypatch.setattr(services, "ENQUEUE_CHUNK", 1)
    cs = [open_case(world, "a1"), open_case(world, "a2"), open_case(world, "b1")]
    d = national(world, receiver)
    assert services.enqueue_changed(d) == 3  # three pages of one id
    rec = OutboxRecord.objects.get(object_id=cs[0].pk)
    long_key = "K" * 80
    OutboxRecord.objects.filter(pk=rec.pk).update(record_key=long_key[:64],
                                                  payload={**rec.payload, "fault_id": long_key})
    receiver.reject = {long_key: "E1 too long"}
    services.send_due(d)
    rec.refresh_from_db()
    assert rec.solo and rec.last_error == "E1 too long"  # the reply's 80-character key matched the stored 64


def test_loopback_same_answer_for_unknown_and_wrong_token(world, client, settings):
    settings.DEBUG = True
    services.destination_create(world.users["admin"], name="lb", kind="national", adapter="national",
                                endpoint_url="https://lb.invalid/x", auth_token="RIGHT")
    services.destination_create(world.users["admin"], name="lp", kind="provincial", adapter="provincial-csv",
                                endpoint_url="https://lp.invalid/x", auth_token="PROV")
    answers = {(r.status_code, r.content) for r in (
        client.post("/exchange/loopback/national/", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {t}")
        for t in ("nope", "RIGH", "PROV"))}
    assert answers == {(401, b'{"code": 401, "message": "unauthorized", "results": []}')}


def test_demo_loopback_destination_stays_editable(world, settings):
    from liftsafe.exchange.demo import ensure_demo_destinations

    settings.LIFTSAFE_EXCHANGE_ALLOWED_HOSTS = []
    nat = ensure_demo_destinations()[0]
    assert nat.endpoint_url.startswith("http://127.0.0.1")
    d = services.destination_update(world.users["admin"], nat, batch_size=7)  # URL unchanged: no host check
    assert d.batch_size == 7 and d.auth_token == nat.auth_token


def test_a_200_carrying_a_non_busy_code_is_an_explicit_refusal(world, receiver, settings):
    """200 + {"code": 401} without per-record results is a refusal like an HTTP 401: counted towards
    exchange_max_attempts (here 2) and the batch fails; only 5xx/429 codes inside a 200 mean "busy"."""
    settings.LIFTSAFE_RULES = {**settings.LIFTSAFE_RULES, "exchange_max_attempts": 2}
    d = queued_case(world, receiver)
    receiver.mode = "refused200"
    services.send_due(d, now=timezone.now())
    b = Batch.objects.get()
    assert (b.status, b.last_error) == ("pending", "refused (reply code 401)")
    services.send_due(d, now=b.next_attempt_at)
    b.refresh_from_db()
    assert (b.status, b.attempts, b.last_error) == ("failed", 2, "refused (reply code 401)")
    log = SendLog.objects.filter(batch=b).order_by("attempt").last()
    assert "token invalid" in log.response_excerpt
