"""Data exchange: destinations, the outbox, batches, the send log, and scheduled inbound imports.

Outbound (docs/domain §3.5, §10): every record that leaves the platform first lands in the
:class:`OutboxRecord` table (payload already mapped by the destination's adapter, idempotency
key ``type:id:version``), is grouped into a :class:`Batch` (its own ``Idempotency-Key`` header,
kept across retries) and every HTTP attempt is logged in :class:`SendLog` (never purged). A
record leaves the outbox only as ``sent`` (accepted), ``rejected`` (refused as invalid, also when
sent alone), ``failed`` (its batch ran out of attempts; re-send on demand) or ``superseded`` (a
newer version of the same object replaced it before it was sent).

Inbound: an :class:`ImportSchedule` watches a drop directory and runs the registry importer on
every new file (by SHA-256); each file seen is an :class:`ImportFile` linked to its
``registry.ImportRun`` (with the rejected-rows report).
"""
from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.models import HistoricalRecords


def default_batch_size() -> int:
    """Rule ``exchange_batch_size`` (liftsafe design)."""
    from liftsafe.rules import rule

    return int(rule("exchange_batch_size"))


def default_rate_limit() -> int:
    """Rule ``exchange_rate_limit_per_min`` (liftsafe design)."""
    from liftsafe.rules import rule

    return int(rule("exchange_rate_limit_per_min"))


def default_timeout() -> float:
    """Rule ``exchange_timeout_s`` (liftsafe design)."""
    from liftsafe.rules import rule

    return float(rule("exchange_timeout_s"))


def default_record_types() -> list[str]:
    return ["case"]


class RecordType(models.TextChoices):
    """What an outbox record carries."""

    CASE = "case", _("Emergency case (fault / work order)")
    ELEVATOR = "elevator", _("Elevator register entry")


class Destination(models.Model):
    """A receiving platform (national fault-analysis platform, provincial data centre).

    ``adapter`` names an entry of :data:`liftsafe.exchange.adapters.ADAPTERS` that maps our
    records to the receiver's format. ``auth_token`` is sent as ``Authorization: Bearer …``;
    it is write-only (never shown by a page or the API, and not kept in the audit history).
    ``area``: only elevators in this area (and below) are sent; empty = every elevator.
    ``watermark``: changes up to this time have been collected into the outbox.
    """

    class Kind(models.TextChoices):
        NATIONAL = "national", _("National platform")
        PROVINCIAL = "provincial", _("Provincial data centre")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    adapter = models.CharField(_("adapter"), max_length=32)
    endpoint_url = models.URLField(_("endpoint URL"), max_length=500)
    auth_token = models.CharField(_("auth token"), max_length=255, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    batch_size = models.PositiveIntegerField(_("batch size"), default=default_batch_size)
    rate_limit_per_min = models.PositiveIntegerField(_("rate limit (batches per minute)"), default=default_rate_limit)
    timeout_s = models.FloatField(_("timeout (s)"), default=default_timeout)
    record_types = models.JSONField(_("record types"), default=default_record_types)
    area = models.ForeignKey("core.Area", verbose_name=_("area scope"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    watermark = models.DateTimeField(_("collected up to"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["auth_token", "watermark", "updated_at"])

    class Meta:
        verbose_name = _("destination")
        verbose_name_plural = _("destinations")
        ordering = ["name"]
        permissions = [("manage_exchange", "Can manage data exchange (destinations, send log, re-send, import schedules)")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("exchange:destination_detail", kwargs={"pk": self.pk})

    @property
    def record_type_labels(self) -> list[str]:
        """``record_types`` as labels of :class:`RecordType` in the active language (an unknown value as stored)."""
        return [record_type_label(t) for t in self.record_types or []]

    @property
    def adapter_label(self) -> str:
        """The adapter's human name in the active language (the stored key when no such adapter is registered)."""
        from .adapters import ADAPTERS

        a = ADAPTERS.get(self.adapter)
        return str(a.label) if a is not None and a.label else self.adapter


def record_type_label(value: str) -> str:
    """The label of a record type (:class:`RecordType`) in the active language; an unknown value as it is."""
    return str(RecordType(value).label) if value in RecordType.values else value


class OutboxRecord(models.Model):
    """One version of one object, mapped for one destination, waiting to be (or already) sent.

    ``idempotency_key`` = ``"<record_type>:<object_id>:<version>"``, unique per destination; a
    new version is enqueued only when the mapped payload differs from the last one.
    ``solo``: after a partial rejection the record is retried alone (its own batch).
    ``last_error``: the receiver's reason (rejected) or the last transport error.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")
        SUPERSEDED = "superseded", _("Superseded")

    destination = models.ForeignKey(Destination, verbose_name=_("destination"), on_delete=models.CASCADE, related_name="records")
    record_type = models.CharField(_("record type"), max_length=16, choices=RecordType.choices)
    object_id = models.BigIntegerField(_("object id"))
    version = models.PositiveIntegerField(_("version"), default=1)
    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    record_key = models.CharField(_("record key"), max_length=64, help_text=_("the receiver's id of the record (fault_id …)"))
    payload = models.JSONField(_("payload"))
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, default="",
                                    help_text=_("SHA-256 of the mapped payload without the operation (re-scans compare it)"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error / reason"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    solo = models.BooleanField(_("send alone"), default=False)
    batch = models.ForeignKey("Batch", verbose_name=_("batch"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox record")
        verbose_name_plural = _("outbox records")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["destination", "idempotency_key"], name="exchange_record_idem_per_dest")]
        indexes = [
            models.Index(fields=["destination", "status", "batch"], name="exchange_record_due_idx"),
            models.Index(fields=["destination", "record_type", "object_id"], name="exchange_record_obj_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.destination_id} {self.idempotency_key}"

    @property
    def last_error_label(self) -> str:
        """``last_error`` for display: a transport error class in the active language (:func:`send_error_label`);
        a receiver's rejection reason stays in the receiver's own words."""
        return send_error_label(self.last_error)


class Batch(models.Model):
    """A group of records POSTed together; ``idempotency_key`` goes in the ``Idempotency-Key`` header
    and stays the same on every retry so a receiver can de-duplicate.

    Retries: ``next_attempt_at`` = last attempt + rule ``exchange_retry_base_s`` × 2^(attempts−1),
    capped at ``exchange_retry_max_s``; after ``exchange_max_attempts`` explicit refusals (not transport
    errors, which retry at the cap for ever) the batch is ``failed``; ``superseded`` when newer versions
    replaced all its records before it could be sent.
    ``resend_of``: the batch this one re-sends on demand.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        PARTIAL = "partial", _("Partly rejected")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")
        SUPERSEDED = "superseded", _("Superseded")

    destination = models.ForeignKey(Destination, verbose_name=_("destination"), on_delete=models.CASCADE, related_name="batches")
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    record_type = models.CharField(_("record type"), max_length=16, choices=RecordType.choices)
    records = models.ManyToManyField(OutboxRecord, through="BatchItem", related_name="batches")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    solo = models.BooleanField(_("single-record retry"), default=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    resend_of = models.ForeignKey("self", verbose_name=_("re-send of"), null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="resends")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.idempotency_key}"

    def get_absolute_url(self) -> str:
        return reverse("exchange:batch_detail", kwargs={"pk": self.pk})

    @property
    def last_error_label(self) -> str:
        """``last_error`` in the active language (:func:`send_error_label`)."""
        return send_error_label(self.last_error)


class BatchItem(models.Model):
    """A record in a batch, with the receiver's per-record result for that batch."""

    class Result(models.TextChoices):
        NONE = "", _("No answer yet")
        OK = "ok", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    record = models.ForeignKey(OutboxRecord, on_delete=models.CASCADE, related_name="items")
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, blank=True, default="")
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "record"], name="exchange_batchitem_unique")]
        ordering = ["id"]


class SendLog(models.Model):
    """One HTTP attempt of one batch (kept, never purged).

    ``http_status`` is None when no reply came; ``error_class`` then says why (``timeout``,
    ``connection refused``, ``connection error`` …). ``duration_ms`` is measured also for a
    receiver slower than the timeout (so a slow receiver is visible in the log).
    """

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="logs")
    destination = models.ForeignKey(Destination, verbose_name=_("destination"), on_delete=models.PROTECT, related_name="logs")
    attempt = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"), db_index=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error_class = models.CharField(_("error"), max_length=64, blank=True)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)

    class Meta:
        verbose_name = _("send log entry")
        verbose_name_plural = _("send log")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["destination", "started_at"], name="exchange_log_dest_time_idx")]

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300 and not self.error_class

    @property
    def error_label(self) -> str:
        """``error_class`` in the active language (:func:`send_error_label`); an attempt without a transport
        error whose records were (partly) rejected shows the rejected count (``"2 条被拒收"``); else ``""``."""
        if not self.error_class and self.rejected:
            return send_error_label(BATCH_REJECTED.format(n=self.rejected))
        return send_error_label(self.error_class)


#: the transport errors :mod:`liftsafe.exchange.services` records in ``SendLog.error_class`` → their label
SEND_ERROR_LABELS = {
    "timeout": _("timeout"),
    "connection refused": _("connection refused"),
    "connection error": _("connection error"),
    "reply too large": _("reply too large"),
    "bad reply": _("unreadable reply"),
    "lease lost": _("lease lost (another worker took the batch over)"),
}
#: error classes of an HTTP 2xx reply with a non-zero ``code`` and no per-record results (``{"code": 503}``):
#: a busy-like code (5xx, 429: transport-class) or any other (an explicit refusal); written by
#: :mod:`liftsafe.exchange.services` (``BUSY`` / ``REFUSED``), labelled by :func:`send_error_label`
REPLY_BUSY = "busy (reply code {code})"
REPLY_REFUSED = "refused (reply code {code})"
_REPLY_CODE_LABELS = {
    REPLY_BUSY.split("{", 1)[0]: _("receiver busy (reply code %(code)s)"),
    REPLY_REFUSED.split("{", 1)[0]: _("refused by the receiver (reply code %(code)s)"),
}
#: ``Batch.last_error`` after an answered attempt in which ``n`` records were rejected: a stored, language-neutral
#: form written by :mod:`liftsafe.exchange.services`, labelled by :func:`send_error_label` (``"2 条被拒收"``)
BATCH_REJECTED = "{n} rejected"
_BATCH_REJECTED_RE = re.compile(r"^(\d+) rejected$")


def send_error_label(error_class: str) -> str:
    """An attempt's error class (``SendLog.error_class``, ``Batch.last_error``) in the active language.

    The transport errors of :data:`SEND_ERROR_LABELS` and the reply-code classes :data:`REPLY_BUSY` /
    :data:`REPLY_REFUSED` get their label, a batch's :data:`BATCH_REJECTED` (``"2 rejected"``) its translated
    count; anything else (``HTTP 503``, an exception class name) is returned as stored. Never raises.
    """
    error_class = error_class or ""
    label = SEND_ERROR_LABELS.get(error_class)
    if label is not None:
        return str(label)
    m = _BATCH_REJECTED_RE.match(error_class)
    if m:
        n = int(m.group(1))
        return ngettext("%(n)s record rejected", "%(n)s records rejected", n) % {"n": n}
    for head, label in _REPLY_CODE_LABELS.items():
        if error_class.startswith(head) and error_class.endswith(")"):
            return str(label) % {"code": error_class[len(head):-1]}
    return error_class


class ImportSchedule(models.Model):
    """A drop directory watched for registry files of one mapping (registration, licensing, inspection
    databases), imported through :func:`liftsafe.registry.importer.run_import`.

    ``file_glob``: which files of the directory (``*.csv``). A file is imported once, by its SHA-256
    (renaming or re-dropping the same content imports nothing). ``last_file_sha``: the last one imported.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    mapping = models.CharField(_("mapping"), max_length=64)
    drop_dir = models.CharField(_("drop directory"), max_length=500)
    file_glob = models.CharField(_("file pattern"), max_length=100, default="*.csv")
    enabled = models.BooleanField(_("enabled"), default=True)
    last_file_sha = models.CharField(_("last file SHA-256"), max_length=64, blank=True)
    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("import schedule")
        verbose_name_plural = _("import schedules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("exchange:schedule_detail", kwargs={"pk": self.pk})


class ImportFile(models.Model):
    """A file found in a schedule's drop directory and what became of it (kept). Each content (SHA-256) is
    tried once per schedule: a file that failed is not retried until its content changes."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Failed")

    schedule = models.ForeignKey(ImportSchedule, on_delete=models.CASCADE, related_name="files")
    file_name = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    run = models.ForeignKey("registry.ImportRun", verbose_name=_("import run"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    seen_at = models.DateTimeField(_("seen at"), auto_now_add=True)

    class Meta:
        ordering = ["-seen_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["schedule", "sha256"], name="exchange_importfile_once")]
