"""Notifications through an outbox: queued with the write, delivered later, retried, recorded.

:func:`notify` inserts a :class:`~liftsafe.core.models.Notification` row in
the caller's transaction — if the caller rolls back, nothing is sent; if it
commits, the message will be delivered. Delivery is the periodic job
:func:`deliver_due` (every few seconds, ``liftsafe worker``): each pending
notification goes to every configured channel; a channel that fails is
retried with exponential backoff (rules ``notification_retry_base_s``,
``notification_retry_max_s``, ``notification_max_attempts``), and every
attempt is a :class:`~liftsafe.core.models.NotificationAttempt`. A failing
channel never blocks or rolls back the case that caused the message.

Channels (``settings.LIFTSAFE_NOTIFICATION_CHANNELS``, a list of dicts with
``name``, ``class`` and the class's options; default: the log channel)::

    LIFTSAFE_NOTIFICATION_CHANNELS = [
        {"name": "log", "class": "liftsafe.core.notifications.LogChannel"},
        {"name": "email", "class": "liftsafe.core.notifications.EmailChannel"},
        {"name": "webhook", "class": "liftsafe.core.notifications.WebhookChannel",
         "url": "https://example.org/hook", "secret": "…", "timeout": 5},
    ]

The webhook POSTs the JSON document of :func:`as_document` with headers
``X-Liftsafe-Timestamp`` (unix seconds) and ``X-Liftsafe-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>``; a
receiver recomputes it with :func:`sign` and rejects old timestamps.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.request
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from liftsafe.rules import rule

from .models import Notification, NotificationAttempt

log = logging.getLogger("liftsafe.notifications")

DEFAULT_CHANNELS = [{"name": "log", "class": "liftsafe.core.notifications.LogChannel"}]


def notify(*, kind: str, subject: str, body: str, organisation=None, user=None, area=None,
           payload: dict | None = None, dedupe_key: str | None = None) -> Notification | None:
    """Queue a notification in the outbox, inside the caller's transaction.

    Args:
        kind: dotted event name, e.g. ``"emergency.dispatched"``, ``"hazards.overdue"``.
        subject, body: human text (the caller translates).
        organisation / user / area: recipients — an organisation's members, one
            user, or the regulators of an area (at least one should be given).
        payload: JSON-serialisable data for machine channels (webhook).
        dedupe_key: once-only key; if a notification with this key was
            already queued (ever), nothing is queued and None is returned.

    Returns:
        The queued :class:`Notification`, or None for a duplicate ``dedupe_key``.
    """
    n = Notification(kind=kind, subject=subject[:255], body=body, organisation=organisation, user=user, area=area,
                     payload=payload or {}, dedupe_key=dedupe_key or None, next_attempt_at=timezone.now())
    if not dedupe_key:
        n.save()
        return n
    try:
        with transaction.atomic():  # a savepoint: a racing duplicate must not break the caller's transaction
            n.save()
    except IntegrityError:
        return None
    return n


def notify_many(items: list[dict]) -> int:
    """Queue many outbox notifications at once, inside the caller's transaction.

    Args:
        items: dicts of :func:`notify`'s keyword arguments, each with a ``dedupe_key``
            (bulk queueing is for scans that must stay once-only across runs and workers).

    Returns:
        How many were new; items whose ``dedupe_key`` was ever queued are skipped (the
        unique key, with ``bulk_create(ignore_conflicts=True)``, also settles a race).

    Raises:
        ValueError: an item without ``dedupe_key``.
    """
    if not items:
        return 0
    if any(not i.get("dedupe_key") for i in items):
        raise ValueError("notify_many: every item needs a dedupe_key")
    keys = [i["dedupe_key"] for i in items]
    existing = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    now = timezone.now()
    rows = [Notification(kind=i["kind"], subject=i["subject"][:255], body=i["body"], organisation=i.get("organisation"),
                         area=i.get("area"), user=i.get("user"), payload=i.get("payload") or {},
                         dedupe_key=i["dedupe_key"], next_attempt_at=now)
            for i in items if i["dedupe_key"] not in existing]
    Notification.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def as_document(n: Notification) -> dict:
    """The JSON document a machine channel receives."""
    return {"id": n.pk, "kind": n.kind, "subject": n.subject, "body": n.body, "payload": n.payload,
            "organisation_id": n.organisation_id, "user_id": n.user_id,
            "area_code": n.area.code if n.area_id else None, "created_at": n.created_at.isoformat()}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 signature of ``"<timestamp>.<body>"`` as ``"sha256=<hex>"``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Channel(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise (any exception = failed attempt, retried later)."""


class LogChannel:
    """Writes the notification to the ``liftsafe.notifications`` log (always works; the default)."""

    def __init__(self, name: str = "log", **_):
        self.name = name

    def send(self, notification: Notification) -> None:
        log.info("notification %s [%s] %s", notification.pk, notification.kind, notification.subject)


def recipient_emails(n: Notification) -> list[str]:
    """E-mail addresses of the recipients: the user, the organisation's members, the area's regulators
    (regulators of the area or any area above it)."""
    from django.contrib.auth import get_user_model

    from .models import Area, Role

    User = get_user_model()
    q = Q(pk__in=[])
    if n.user_id:
        q |= Q(pk=n.user_id)
    if n.organisation_id:
        q |= Q(profile__organisation_id=n.organisation_id)
    if n.area_id:
        ancestors = [p for p in Area.objects.get(pk=n.area_id).path.split("/") if p]
        q |= Q(profile__role=Role.REGULATOR, profile__area__code__in=ancestors)
    return sorted({e for e in User.objects.filter(q, is_active=True).values_list("email", flat=True) if e})


class EmailChannel:
    """Sends through Django's e-mail backend (settings.EMAIL_*) to :func:`recipient_emails`; no recipients = done."""

    def __init__(self, name: str = "email", from_email: str | None = None, **_):
        self.name = name
        self.from_email = from_email

    def send(self, notification: Notification) -> None:
        from django.core.mail import send_mail

        to = recipient_emails(notification)
        if to:
            send_mail(notification.subject, notification.body, self.from_email, to, fail_silently=False)


class WebhookChannel:
    """POSTs :func:`as_document` as JSON to ``url``, signed with HMAC-SHA256 (see the module docstring).

    Any non-2xx status or network error is a failed attempt.
    """

    def __init__(self, name: str = "webhook", url: str = "", secret: str = "", timeout: float = 5.0, **_):
        if not url or not secret:
            raise ValueError("a webhook channel needs a url and a secret")
        self.name, self.url, self.secret, self.timeout = name, url, secret, float(timeout)

    def send(self, notification: Notification) -> None:
        body = json.dumps(as_document(notification), ensure_ascii=False, sort_keys=True).encode()
        ts = str(int(time.time()))
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Liftsafe-Timestamp": ts,
            "X-Liftsafe-Signature": sign(self.secret, ts, body), "X-Liftsafe-Delivery": str(notification.pk)})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            if not 200 <= resp.status < 300:
                raise RuntimeError(f"webhook answered HTTP {resp.status}")


def channels() -> list:
    """Instantiate the configured channels (settings.LIFTSAFE_NOTIFICATION_CHANNELS)."""
    out = []
    for spec in getattr(settings, "LIFTSAFE_NOTIFICATION_CHANNELS", None) or DEFAULT_CHANNELS:
        spec = dict(spec)
        cls = import_string(spec.pop("class"))
        out.append(cls(**spec))
    return out


def backoff_seconds(attempts: int) -> float:
    """Delay before retry number ``attempts`` (1-based): base × 2^(attempts−1), capped (rules)."""
    return min(rule("notification_retry_base_s") * (2 ** max(attempts - 1, 0)), rule("notification_retry_max_s"))


def deliver(n: Notification, chans: list | None = None, now: dt.datetime | None = None) -> bool:
    """Try every channel that has not yet accepted ``n``; record each attempt; schedule a retry on failure.

    Returns True when every channel has accepted it. Never raises for a channel error.
    """
    now = now or timezone.now()
    chans = channels() if chans is None else chans
    done = set(n.delivered_channels or [])
    errors = []
    for ch in chans:
        if ch.name in done:
            continue
        t0 = time.monotonic()
        try:
            ch.send(n)
        except Exception as exc:  # any channel failure is recorded, never propagated
            errors.append(f"{ch.name}: {exc.__class__.__name__}: {exc}"[:500])
            NotificationAttempt.objects.create(notification=n, channel=ch.name, ok=False, error=errors[-1],
                                               duration_ms=int((time.monotonic() - t0) * 1000))
        else:
            done.add(ch.name)
            NotificationAttempt.objects.create(notification=n, channel=ch.name, ok=True,
                                               duration_ms=int((time.monotonic() - t0) * 1000))
    n.attempts += 1
    n.delivered_channels = sorted(done)
    n.claimed_until = None
    if not errors:
        n.status, n.sent_at, n.last_error, n.next_attempt_at = Notification.Status.SENT, now, "", None
    elif n.attempts >= rule("notification_max_attempts"):
        n.status, n.last_error, n.next_attempt_at = Notification.Status.FAILED, "; ".join(errors), None
        log.warning("notification %s gave up after %s attempts: %s", n.pk, n.attempts, n.last_error)
    else:
        n.last_error = "; ".join(errors)
        n.next_attempt_at = now + dt.timedelta(seconds=backoff_seconds(n.attempts))
    n.save(update_fields=["attempts", "delivered_channels", "claimed_until", "status", "sent_at", "last_error", "next_attempt_at"])
    return not errors


def deliver_due(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Deliver pending notifications whose next attempt is due; returns how many were attempted.

    Safe to run in several workers at once: each notification is first
    *claimed* with a conditional update (``claimed_until``), so only one
    worker sends it; a crashed worker's claim expires after 2 minutes.
    """
    now = now or timezone.now()
    chans = channels()
    due = list(Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    n_done = 0
    for pk in due:
        claimed = Notification.objects.filter(pk=pk, status=Notification.Status.PENDING).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(claimed_until=now + dt.timedelta(minutes=2))
        if not claimed:
            continue
        n = Notification.objects.select_related("area").get(pk=pk)
        deliver(n, chans, now)
        n_done += 1
    return n_done
