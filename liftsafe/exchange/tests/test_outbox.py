"""Outbox, batches, retries and the send log against a REAL local HTTP receiver (tests/receiver.py)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from liftsafe.core.notifications import Notification
from liftsafe.emergency import services as em
from liftsafe.exchange import services
from liftsafe.exchange.adapters.national import ESCALATOR_FAULT_TYPES, LIFT_FAULT_TYPES
from liftsafe.exchange.adapters.provincial_csv import HEADER
from liftsafe.exchange.models import Batch, BatchItem, Destination, OutboxRecord, SendLog

from .conftest import SNAPSHOT, false_alarm_case, full_case, national, open_case

pytestmark = pytest.mark.django_db
S = dt.timedelta(seconds=1)
FACTS_DEAL_STATUS = {"00", "01", "02", "04", "05"}  # docs/domain §3.5 (no 03)


def test_national_payload_fields_and_status_codes(world, receiver):
    done = full_case(world, "a1")
    reported = open_case(world, "a2")  # phone fault report, only received
    false_alarm_case(world, "b1")
    open_case(world, "b2", "enquiry")  # an enquiry is not a fault: not uploaded
    d = national(world, receiver, area=world.district_a)  # area scope: district A only
    assert services.enqueue_changed(d) == 2
    s = services.send_due(d)
    assert (s.attempts, s.accepted, s.rejected) == (1, 2, 0)
    [req] = receiver.requests
    assert req["headers"]["content-type"] == "application/json"
    assert req["headers"]["authorization"] == "Bearer tok-secret"
    batch = Batch.objects.get()
    assert req["headers"]["idempotency-key"] == batch.idempotency_key and batch.status == "sent"
    rows = {r["order_number"]: r for r in receiver.rows(req)}
    assert set(rows) == {done.order_number, reported.order_number}
    r = rows[done.order_number]
    assert r["fault_id"] == f"LS{done.pk}" and r["fault_type"] == "11" and r["deal_status"] == "00"
    local = lambda t: timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    assert r["fault_timestamp"] == local(done.received_at)
    assert r["deal_respond_time"] == local(done.responded_at) and r["deal_arrive_time"] == local(done.arrived_at)
    assert r["deal_end_time"] == local(done.closed_at)
    assert "接警" in r["deal_node"] and "派遣L1" in r["deal_node"] and "处置完成" in r["deal_node"]
    for f in ("car_status", "car_direction", "door_zone", "car_position", "door_status", "passenger_status", "service_mode",
              "power_status", "up_limit", "down_limit"):
        assert r[f] == SNAPSHOT[f], f
    e = world.elevators["a1"]
    assert (r["registration_code"], r["rescue_code"], r["area_code"]) == (e.registration_code, e.rescue_code, "320102")
    assert r["released_count"] == 2 and r["operation"] == "UPLOAD" and r["table"] == "t_elevator_data"
    r2 = rows[reported.order_number]
    assert (r2["fault_type"], r2["deal_status"], r2["deal_respond_time"]) == ("08", "01", None)
    assert "car_status" not in r2  # no IoT snapshot: the status fields are left out, not invented
    for row in rows.values():
        assert row["deal_status"] in FACTS_DEAL_STATUS and row["fault_type"] in LIFT_FAULT_TYPES | ESCALATOR_FAULT_TYPES
    # the wire rows are exactly the outbox payloads
    assert sorted(receiver.rows(req), key=lambda x: x["fault_id"]) == sorted(
        OutboxRecord.objects.values_list("payload", flat=True), key=lambda x: x["fault_id"])
    assert set(OutboxRecord.objects.values_list("status", flat=True)) == {"sent"}
    log = SendLog.objects.get()
    assert (log.http_status, log.accepted, log.rejected, log.error_class, log.attempt) == (200, 2, 0, "", 1)


def test_status_codes_follow_the_case(world, receiver):
    """01 occurred → 02 responded → 04 arrived → 00 completed; 05 false alarm; a changed case is a new version."""
    d = national(world, receiver)
    c = open_case(world, "a1", "entrapment")
    em.dispatch_case(world.users["admin"], c, 1)
    seen = []
    for kind in (None, "responded", "arrived", "released", "completed"):
        if kind:
            em.record_milestone(world.users["admin"], c, kind, **({"released_count": 1} if kind == "released" else {}))
        services.enqueue_changed(d, since=timezone.now() - dt.timedelta(hours=1))
        services.send_due(d)
        seen.append(receiver.rows(receiver.requests[-1])[-1]["deal_status"])
    assert seen == ["01", "02", "04", "04", "00"]
    keys = list(OutboxRecord.objects.filter(object_id=c.pk).order_by("version").values_list("idempotency_key", flat=True))
    assert keys == [f"case:{c.pk}:{v}" for v in range(1, 6)]
    assert receiver.rows(receiver.requests[-1])[-1]["operation"] == "UPDATE"
    # idempotent: nothing changed → nothing enqueued, nothing sent
    assert services.enqueue_changed(d, since=timezone.now() - dt.timedelta(hours=1)) == 0
    assert services.send_due(d).attempts == 0
    fa = false_alarm_case(world, "a2")
    services.enqueue_changed(d)
    services.send_due(d)
    assert [r["deal_status"] for r in receiver.rows(receiver.requests[-1]) if r["order_number"] == fa.order_number] == ["05"]


def test_escalator_gets_an_escalator_fault_type(world, receiver):
    e = world.elevators["a2"]
    e.category = "3310"
    e.save()
    c = open_case(world, "a2", "fault_report")
    d = national(world, receiver)
    services.enqueue_changed(d)
    p = OutboxRecord.objects.get(object_id=c.pk).payload
    assert p["fault_type"] == "65" and p["table"] == "t_escalator_data"


def test_outbox_survives_a_receiver_outage(world, receiver):
    """500 → connection refused → recovery: records stay pending, the batch is retried with backoff
    (same Idempotency-Key), and everything is delivered exactly once in the end."""
    cases = [full_case(world, "a1", minutes_ago=300), open_case(world, "a2"), false_alarm_case(world, "b1")]
    d = national(world, receiver)
    services.enqueue_changed(d)
    t0 = timezone.now()
    receiver.mode = "500"
    s = services.send_due(d, now=t0)
    assert (s.attempts, s.failed_attempts, s.accepted) == (1, 1, 0)
    b = Batch.objects.get()
    assert b.status == "pending" and b.attempts == 1 and b.next_attempt_at == t0 + 60 * S  # base
    assert set(OutboxRecord.objects.values_list("status", flat=True)) == {"pending"}
    assert services.send_due(d, now=t0 + 59 * S).attempts == 0  # not due yet
    receiver.stop()  # the receiver is down: connection refused
    s = services.send_due(d, now=t0 + 60 * S)
    assert s.failed_attempts == 1
    b.refresh_from_db()
    assert b.attempts == 2 and b.next_attempt_at == t0 + 60 * S + 120 * S  # doubled
    log = SendLog.objects.order_by("attempt").last()
    assert log.http_status is None and log.error_class == "connection refused"
    receiver.mode = "accept"
    receiver.start()  # back, same port
    s = services.send_due(d, now=t0 + 180 * S)
    assert (s.attempts, s.accepted) == (1, 3)
    b.refresh_from_db()
    assert b.status == "sent" and b.attempts == 3
    assert set(OutboxRecord.objects.values_list("status", flat=True)) == {"sent"}
    keys = [r["headers"]["idempotency-key"] for r in receiver.requests]
    assert len(keys) == 2 and set(keys) == {b.idempotency_key}  # the 500 attempt and the delivery
    delivered = [r["order_number"] for r in receiver.rows(receiver.requests[-1])]
    assert sorted(delivered) == sorted(c.order_number for c in cases)  # nothing lost, nothing twice
    assert [(x.attempt, x.http_status, x.error_class) for x in SendLog.objects.order_by("attempt")] == [
        (1, 500, "HTTP 500"), (2, None, "connection refused"), (3, 200, "")]
    assert services.send_due(d, now=t0 + 400 * S).attempts == 0


def test_backoff_is_capped_and_a_batch_fails_after_max_attempts(world, receiver, settings):
    settings.LIFTSAFE_RULES = {"exchange_retry_base_s": 60, "exchange_retry_max_s": 100, "exchange_max_attempts": 3}
    open_case(world, "a1")
    d = national(world, receiver)
    services.enqueue_changed(d)
    receiver.mode = "500"
    t = timezone.now()
    services.send_due(d, now=t)
    b = Batch.objects.get()
    assert b.next_attempt_at == t + 60 * S
    services.send_due(d, now=t + 60 * S)
    b.refresh_from_db()
    assert b.next_attempt_at == t + 160 * S  # 120 s capped at 100 s
    # a long outage (5xx, timeouts, refused connections) never finalises the batch: it keeps retrying at the cap
    at = t + 160 * S
    for _ in range(4):
        services.send_due(d, now=at)
        at += 100 * S
        b.refresh_from_db()
        assert b.status == "pending" and b.next_attempt_at == at
    assert b.attempts == 6 and b.last_error == "HTTP 500"
    # explicit refusals (here 403) count towards exchange_max_attempts
    receiver.mode = "403"
    for _ in range(3):
        services.send_due(d, now=at)
        at += 100 * S
    b.refresh_from_db()
    assert b.status == "failed" and b.attempts == 9 and b.next_attempt_at is None
    assert "LS-secret" not in b.last_error  # the reply text stays in the send log
    t = at
    assert OutboxRecord.objects.get().status == "failed"
    assert services.send_due(d, now=t + 10_000 * S).attempts == 0  # a failed batch waits for a re-send
    assert Notification.objects.filter(kind="exchange.failed", user=world.users["admin"]).exists()
    # re-send on demand: a new batch, a new key, delivered
    receiver.mode = "accept"
    new = services.resend_batch(world.users["admin"], b)
    assert new.resend_of == b and new.idempotency_key != b.idempotency_key
    assert services.send_due(d).accepted == 1
    assert OutboxRecord.objects.get().status == "sent"
    assert receiver.requests[-1]["headers"]["idempotency-key"] == new.idempotency_key


def test_partial_rejection_is_retried_alone_and_reported(world, receiver):
    cs = [full_case(world, "a1", minutes_ago=400), open_case(world, "a2"), false_alarm_case(world, "b1"), open_case(world, "b2")]
    bad, flaky = f"LS{cs[1].pk}", f"LS{cs[3].pk}"
    receiver.reject = {bad: "E102 registration code unknown"}
    receiver.reject_once = {flaky: "E500 busy"}
    d = national(world, receiver)
    services.enqueue_changed(d)
    s = services.send_due(d)
    # one batch of 4 (2 accepted, 2 rejected), then each rejected record alone
    assert [len(receiver.rows(r)) for r in receiver.requests] == [4, 1, 1]
    assert (s.attempts, s.accepted, s.rejected, s.retried_alone) == (3, 3, 1, 2)
    first = Batch.objects.order_by("pk").first()
    assert first.status == "partial"
    assert dict(BatchItem.objects.filter(batch=first).values_list("record__record_key", "result")) == {
        f"LS{cs[0].pk}": "ok", bad: "rejected", f"LS{cs[2].pk}": "ok", flaky: "rejected"}
    solo = list(Batch.objects.filter(solo=True).order_by("pk"))
    assert len(solo) == 2 and all(b.idempotency_key != first.idempotency_key for b in solo)
    rec = OutboxRecord.objects.get(record_key=bad)
    assert rec.status == "rejected" and rec.last_error == "E102 registration code unknown" and rec.attempts == 2
    assert OutboxRecord.objects.get(record_key=flaky).status == "sent"
    assert OutboxRecord.objects.filter(status="sent").count() == 3
    n = Notification.objects.get(kind="exchange.rejected")
    assert n.user == world.users["admin"] and bad in n.subject and "E102" in n.body
    # reported on the send log too
    assert [(x.accepted, x.rejected) for x in SendLog.objects.order_by("pk")] == [(2, 2), (0, 1), (1, 0)]
    assert services.send_due(d).attempts == 0


def test_slow_receiver_counts_as_failure_and_is_logged(world, receiver):
    open_case(world, "a1")
    d = national(world, receiver, timeout_s=0.5)
    services.enqueue_changed(d)
    receiver.mode, receiver.delay = "slow", 1.5
    t = timezone.now()
    s = services.send_due(d, now=t)
    assert s.failed_attempts == 1
    log = SendLog.objects.get()
    assert log.error_class == "timeout" and log.http_status is None and 450 <= log.duration_ms < 1500
    b = Batch.objects.get()
    assert b.status == "pending" and b.next_attempt_at == t + 60 * S
    receiver.mode = "accept"
    assert services.send_due(d, now=t + 60 * S).accepted == 1
    assert {r["headers"]["idempotency-key"] for r in receiver.requests} == {b.idempotency_key}


def test_rate_limit_is_respected(world, receiver):
    for k in ("a1", "a2", "b1", "b2"):
        open_case(world, k)
    d = national(world, receiver, batch_size=1, rate_limit_per_min=2)
    services.enqueue_changed(d)
    t = timezone.now()
    s = services.send_due(d, now=t)
    assert s.attempts == 2 and s.rate_limited
    assert services.send_due(d, now=t + 30 * S).attempts == 0  # still the same minute
    assert services.send_due(d, now=t + 61 * S).attempts == 2
    assert len(receiver.requests) == 4 and OutboxRecord.objects.filter(status="sent").count() == 4


def test_resend_on_demand(world, receiver):
    c = open_case(world, "a1")
    d = national(world, receiver)
    services.enqueue_changed(d)
    services.send_due(d)
    b = Batch.objects.get()
    with pytest.raises(PermissionDenied):
        services.resend_batch(world.users["regulator"], b)
    new = services.resend_batch(world.users["admin"], b)
    assert OutboxRecord.objects.get().status == "pending"
    services.send_due(d)
    assert [receiver.rows(r)[0]["order_number"] for r in receiver.requests] == [c.order_number, c.order_number]
    assert [r["headers"]["idempotency-key"] for r in receiver.requests] == [b.idempotency_key, new.idempotency_key]
    assert OutboxRecord.objects.get().status == "sent" and Batch.objects.get(pk=new.pk).status == "sent"


def test_provincial_csv_body_parses_back_to_the_mapping(world, receiver):
    cs = [full_case(world, "a1", minutes_ago=100), open_case(world, "b1")]
    cs[0].cause_class, cs[0].cause_item = "human", "rubbish_blocking_doors"
    em.report_cause(world.users["admin"], cs[0], "human", "rubbish_blocking_doors")
    receiver.reject = {cs[1].order_number: "行政区划代码不在本省"}
    d = services.destination_create(world.users["admin"], name="province", kind="provincial", adapter="provincial-csv",
                                    endpoint_url=receiver.url, timeout_s=2)
    services.enqueue_changed(d)
    services.send_due(d)
    first = receiver.requests[0]
    assert first["headers"]["content-type"].startswith("text/csv")
    assert first["body"].startswith("\ufeff".encode("utf-8"))
    assert first["body"].decode("utf-8")[1:].split("\r\n")[0] == ",".join(HEADER)
    wire = receiver.rows(first)
    payloads = {p["order_number"]: p for p in OutboxRecord.objects.values_list("payload", flat=True)}
    for row in wire:
        expect = {k: (None if v in (None, "") else str(v)) for k, v in payloads[row["order_number"]].items() if k != "operation"}
        assert row == expect
    assert payloads[cs[0].order_number]["cause"] == "human:rubbish_blocking_doors"
    # row-numbered results: the rejected one went alone, was rejected again, and is reported
    rec = OutboxRecord.objects.get(record_key=cs[1].order_number)
    assert rec.status == "rejected" and rec.last_error == "行政区划代码不在本省"
    assert OutboxRecord.objects.get(record_key=cs[0].order_number).status == "sent"


def test_elevator_register_records(world, receiver):
    d = national(world, receiver, record_types=["case", "elevator"], area=world.district_b)
    assert services.enqueue_changed(d) == 2  # b1, b2 (no cases yet)
    services.send_due(d)
    rows = receiver.rows(receiver.requests[0])
    assert sorted(r["device_id"] for r in rows) == ["test:B1", "test:B2"]
    assert OutboxRecord.objects.filter(status="sent", record_type="elevator").count() == 2
    e = world.elevators["b1"]
    e.floors = 12
    e.model = "NEW-MODEL"
    e.save()
    assert services.enqueue_changed(d) == 1
    assert OutboxRecord.objects.get(object_id=e.pk, version=2).payload["eqp_mod"] == "NEW-MODEL"


def test_superseded_version_is_not_sent(world, receiver):
    c = open_case(world, "a1", "entrapment")
    d = national(world, receiver)
    services.enqueue_changed(d)
    em.dispatch_case(world.users["admin"], c, 1)
    em.record_milestone(world.users["admin"], c, "responded")
    services.enqueue_changed(d)
    assert list(OutboxRecord.objects.order_by("version").values_list("version", "status")) == [(1, "superseded"), (2, "pending")]
    services.send_due(d)
    rows = receiver.rows(receiver.requests[0])
    assert len(rows) == 1 and rows[0]["deal_status"] == "02"


def test_destination_validation_names_the_field(world):
    admin = world.users["admin"]
    base = dict(name="x", kind="national", adapter="national", endpoint_url="https://example.invalid/upload")
    for bad, field in ((dict(endpoint_url="ftp://example.invalid/x"), "endpoint_url"), (dict(endpoint_url="not a url"), "endpoint_url"),
                       (dict(batch_size=0), "batch_size"), (dict(rate_limit_per_min=0), "rate_limit_per_min"),
                       (dict(timeout_s=0), "timeout_s"), (dict(adapter="provincial-csv"), "adapter"),
                       (dict(adapter="nope"), "adapter"), (dict(kind="global"), "kind"), (dict(record_types=[]), "record_types"),
                       (dict(record_types=["hazard"]), "record_types"), (dict(name=" "), "name"), (dict(area="999999"), "area"),
                       (dict(batch_size="many"), "batch_size")):
        with pytest.raises(ValidationError) as exc:
            services.destination_create(admin, **{**base, **bad})
        assert field in exc.value.message_dict, (bad, exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        services.destination_create(admin, **{**base, "adapter": "provincial-csv", "kind": "provincial", "record_types": ["elevator"]})
    assert "record_types" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.destination_create(world.users["regulator"], **base)
    d = services.destination_create(admin, **base, auth_token="s3cret")
    assert d.batch_size == 500 and d.rate_limit_per_min == 60 and d.timeout_s == 30  # rule defaults
    d = services.destination_update(admin, d, auth_token="", batch_size=10)
    assert d.auth_token == "s3cret" and d.batch_size == 10  # a blank token keeps the stored one
    assert "s3cret" not in json.dumps(list(Destination.history.values()), default=str)  # not in the audit history
    d = services.destination_update(admin, d, clear_token=True)
    assert d.auth_token == ""


def test_data_officer_permission(world, receiver):
    from django.contrib.auth.models import Permission

    officer = world.users["nobody"]
    with pytest.raises(PermissionDenied):
        services.destination_create(officer, name="n", kind="national", adapter="national", endpoint_url=receiver.url)
    officer.user_permissions.add(Permission.objects.get(codename="manage_exchange"))
    from django.contrib.auth import get_user_model

    officer = get_user_model().objects.get(pk=officer.pk)  # fresh permission cache
    d = services.destination_create(officer, name="n", kind="national", adapter="national", endpoint_url=receiver.url)
    assert d.created_by == officer
