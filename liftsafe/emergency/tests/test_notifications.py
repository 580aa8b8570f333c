"""Outbox: notify() in the caller's transaction, delivery with retry and backoff, signed webhook."""
import datetime as dt
import http.server
import json
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from liftsafe.core import notifications as N
from liftsafe.core.models import Notification, NotificationAttempt
from liftsafe.emergency import services
from liftsafe.rules import rule

SECRET = "test-secret-123"


class _Receiver(http.server.BaseHTTPRequestHandler):
    fail_first = 0
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def receiver():
    handler = type("H", (_Receiver,), {"fail_first": 0, "received": []})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield handler, f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()
    srv.server_close()


def test_notify_dedupe_and_rollback(db):
    assert N.notify(kind="t", subject="s", body="b", dedupe_key="once") is not None
    assert N.notify(kind="t", subject="s", body="b", dedupe_key="once") is None
    try:
        with transaction.atomic():
            N.notify(kind="t", subject="gone", body="b")
            raise RuntimeError
    except RuntimeError:
        pass
    assert list(Notification.objects.values_list("subject", flat=True)) == ["s"]


def test_webhook_retry_with_backoff_then_success(db, receiver, settings):
    handler, url = receiver
    handler.fail_first = 2
    settings.LIFTSAFE_NOTIFICATION_CHANNELS = [
        {"name": "log", "class": "liftsafe.core.notifications.LogChannel"},
        {"name": "webhook", "class": "liftsafe.core.notifications.WebhookChannel", "url": url, "secret": SECRET, "timeout": 3},
    ]
    n = N.notify(kind="emergency.dispatched", subject="Case X", body="go", payload={"case_id": 7})
    t = timezone.now()
    assert N.deliver_due(now=t) == 1
    n.refresh_from_db()
    base = rule("notification_retry_base_s")
    assert n.status == "pending" and n.attempts == 1 and n.delivered_channels == ["log"]
    assert n.next_attempt_at == t + dt.timedelta(seconds=base) and "503" in n.last_error
    assert N.deliver_due(now=t + dt.timedelta(seconds=base - 1)) == 0  # not due yet
    assert N.deliver_due(now=t + dt.timedelta(seconds=base)) == 1
    n.refresh_from_db()
    assert n.attempts == 2 and n.next_attempt_at == t + dt.timedelta(seconds=base + 2 * base)  # doubled
    assert N.deliver_due(now=n.next_attempt_at) == 1
    n.refresh_from_db()
    assert n.status == "sent" and n.delivered_channels == ["log", "webhook"]
    att = list(NotificationAttempt.objects.filter(notification=n).values_list("channel", "ok"))
    assert att == [("log", True), ("webhook", False), ("webhook", False), ("webhook", True)]  # log not re-sent
    headers, body = handler.received[0]
    assert headers["X-Liftsafe-Signature"] == N.sign(SECRET, headers["X-Liftsafe-Timestamp"], body)
    assert json.loads(body)["payload"] == {"case_id": 7}


def test_failing_channel_gives_up_and_never_blocks_the_case(world, t0, settings):
    settings.LIFTSAFE_NOTIFICATION_CHANNELS = [
        {"name": "webhook", "class": "liftsafe.core.notifications.WebhookChannel", "url": "http://127.0.0.1:9/none", "secret": "x", "timeout": 1}]
    settings.LIFTSAFE_RULES = {"notification_max_attempts": 3}
    op = world.users["operator"]
    c = services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0, actor=op).case
    c = services.dispatch_case(op, c, 1)
    assert c.state == "dispatched"
    n = Notification.objects.get(kind="emergency.dispatched")
    assert n.organisation == world.orgs[("maintenance_unit", "a")]
    now = timezone.now()
    for _ in range(3):
        N.deliver_due(now=now)
        n.refresh_from_db()
        now = n.next_attempt_at or now
    assert n.status == "failed" and n.attempts == 3
    assert NotificationAttempt.objects.filter(notification=n, ok=False).count() == 3
    assert N.deliver_due(now=now + dt.timedelta(days=1)) == 0


def test_email_channel_reaches_the_organisation_members(world, settings):
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LIFTSAFE_NOTIFICATION_CHANNELS = [{"name": "email", "class": "liftsafe.core.notifications.EmailChannel"}]
    u = world.users["maintenance_unit"]
    u.email = "duty@mu-a.example"
    u.save()
    reg = world.users["city_regulator"]
    reg.email = "reg@city.example"
    reg.save()
    N.notify(kind="t", subject="to org", body="b", organisation=world.orgs[("maintenance_unit", "a")])
    N.notify(kind="t", subject="to area", body="b", area=world.district_a)
    assert N.deliver_due() == 2
    got = {m.subject: m.to for m in mail.outbox}
    assert got == {"to org": ["duty@mu-a.example"], "to area": ["reg@city.example"]}


def test_claim_prevents_double_delivery(db):
    n = N.notify(kind="t", subject="s", body="b")
    Notification.objects.filter(pk=n.pk).update(claimed_until=timezone.now() + dt.timedelta(minutes=1))
    assert N.deliver_due() == 0
