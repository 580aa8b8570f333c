"""Monitoring models: devices bound to elevators, alarms, incidents, the message ledger and dead letters.

Device time (``device_time``, from the message's ``ts``) and receive time
(``received_at``, the platform's clock) are kept apart everywhere.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .codes import AlarmType


class MonitoringDevice(models.Model):
    """An acquisition & transmission device (GB/T 24476) in one elevator.

    ``device_id`` is the id it sends in every message and in its MQTT topic.
    ``last_seen`` is the receive time of its latest accepted message (the
    offline detector compares against it, conditionally); ``last_device_time``
    the device time of its latest applied status. ``state`` holds detection
    timers (``{"trap_since": iso, "zone_since": iso, ...}``); ``last_status``
    the latest status snapshot (docs/domain §3.5 fields); ``last_stats`` the latest
    counters. ``window_start``/``window_count`` implement the flood cap.
    """

    device_id = models.CharField(_("device id"), max_length=64, unique=True)
    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="monitoring_devices")
    vendor = models.CharField(_("vendor"), max_length=64, blank=True)
    bound_at = models.DateTimeField(_("bound at"), auto_now_add=True)
    active = models.BooleanField(_("active"), default=True)
    online = models.BooleanField(_("online"), default=False)
    # indexed only through device_online_seen_idx (its queries always filter on online): every accepted
    # message moves last_seen, and each index on the table costs an entry per device update
    last_seen = models.DateTimeField(_("last message received"), null=True, blank=True)
    last_device_time = models.DateTimeField(_("device time of last status"), null=True, blank=True)
    last_message_id = models.CharField(_("last message id"), max_length=64, blank=True)
    last_status = models.JSONField(_("last status"), default=dict, blank=True)
    last_stats = models.JSONField(_("last statistics"), default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True, editable=False)
    window_start = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)
    timer_due = models.DateTimeField(null=True, blank=True, editable=False,
                                     help_text="receive time at which a pending detection timer fires without a new message")
    messages_accepted = models.PositiveBigIntegerField(_("messages accepted"), default=0)
    history = HistoricalRecords(excluded_fields=["online", "last_seen", "last_device_time", "last_message_id", "last_status",
                                                 "last_stats", "state", "window_start", "window_count", "timer_due", "messages_accepted"])

    class Meta:
        verbose_name = _("monitoring device")
        verbose_name_plural = _("monitoring devices")
        ordering = ["device_id"]
        indexes = [models.Index(fields=["online", "last_seen"], name="device_online_seen_idx"),
                   # partial: a device update adds an entry only while a timer is pending (rare)
                   models.Index(fields=["timer_due"], condition=Q(timer_due__isnull=False), name="device_timer_due_idx")]

    def __str__(self) -> str:
        return self.device_id


class Incident(models.Model):
    """Simultaneous alarms of one kind in one area correlated into one incident (e.g. a district power cut).

    At most one open incident per (area, kind) (partial unique constraint).
    """

    kind = models.CharField(_("kind"), max_length=32, choices=AlarmType.choices)
    area = models.ForeignKey("core.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"))
    last_alarm_at = models.DateTimeField(_("last alarm at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    alarm_count = models.PositiveIntegerField(_("alarms"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(fields=["area", "kind"], condition=Q(closed_at__isnull=True), name="incident_one_open_per_area_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.area} {self.opened_at:%Y-%m-%d %H:%M}"


class Alarm(models.Model):
    """An alarm of one elevator: active until cleared; acknowledged separately.

    At most one active alarm per (elevator, type), enforced by a partial unique
    constraint (``cleared_at IS NULL``); a repeat while active increments
    ``occurrences``. ``device_time`` is the triggering message's device time,
    ``raised_at`` the platform time. ``snapshot`` is the status snapshot at
    raise time (service mode, floor, door zone, door, passenger, power).
    ``case_id`` is the emergency case opened for an entrapment (emergency app).
    """

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="alarms")
    device = models.ForeignKey(MonitoringDevice, verbose_name=_("device"), null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    type = models.CharField(_("type"), max_length=32, choices=AlarmType.choices)
    code = models.CharField(_("code"), max_length=32, blank=True, help_text=_("event code of docs/domain §4.1, or the rule that raised it"))
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    snapshot = models.JSONField(_("status snapshot"), default=dict, blank=True)
    device_time = models.DateTimeField(_("device time"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    last_occurred_at = models.DateTimeField(_("last occurrence"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_reason = models.CharField(_("clear reason"), max_length=64, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("acknowledged by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, verbose_name=_("incident"), null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    case_id = models.BigIntegerField(_("emergency case"), null=True, blank=True)
    case_error = models.CharField(max_length=255, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["elevator", "type"], condition=Q(cleared_at__isnull=True), name="alarm_one_active_per_type")]
        indexes = [models.Index(fields=["elevator", "raised_at"], name="alarm_elevator_raised_idx")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.elevator_id} {self.raised_at:%Y-%m-%d %H:%M:%S}"

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def detail_display(self) -> str:
        """``detail`` in the active language (:func:`liftsafe.monitoring.codes.detail_label`)."""
        from .codes import detail_label

        return detail_label(self.code, self.detail)

    @property
    def cleared_reason_display(self) -> str:
        """``cleared_reason`` in the active language (:func:`liftsafe.monitoring.codes.reason_label`)."""
        from .codes import reason_label

        return reason_label(self.cleared_reason)


class ProcessedMessage(models.Model):
    """Ledger of processed (device id, message id) pairs: a redelivery finds its row and has no second effect.

    Keyed by the device id string (not a foreign key) so rejected messages of
    unknown devices de-duplicate too. Purged after ``iot_ledger_retention_days``.
    """

    device_key = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device_key", "message_id"], name="ledger_unique_device_message")]


class DeadLetter(models.Model):
    """A rejected message with the reason; never processed further, kept for inspection and counted.

    Every text column holds a safe representation (:func:`liftsafe.monitoring.services.safe_text`: control
    characters and undecodable bytes escaped, lone surrogates escaped, truncated), so storing a dead letter
    never fails on the content it stores (a NUL byte, binary data, 10 MB).
    """

    class Reason(models.TextChoices):
        MALFORMED_JSON = "malformed_json", _("Malformed JSON")
        SCHEMA = "schema", _("Wrong fields or types")
        TOO_LARGE = "too_large", _("Over the size limit")
        UNKNOWN_DEVICE = "unknown_device", _("Unknown device")
        SCRAPPED_ELEVATOR = "scrapped_elevator", _("Device bound to a scrapped elevator")
        TOPIC_MISMATCH = "topic_mismatch", _("Topic does not match the message")
        DEVICE_TIME_FUTURE = "device_time_future", _("Device time too far in the future")
        DEVICE_TIME_PAST = "device_time_past", _("Device time too far in the past")
        FLOOD = "flood", _("Flood from one device")
        PROCESSING_ERROR = "processing_error", _("Could not be processed")

    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, db_index=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    device_key = models.CharField(_("device id"), max_length=64, blank=True, db_index=True)
    message_id = models.CharField(_("message id"), max_length=64, blank=True)
    topic = models.CharField(_("topic"), max_length=255, blank=True)
    transport = models.CharField(_("transport"), max_length=8, blank=True)
    payload = models.TextField(_("payload (first 4 KiB)"), blank=True)
    #: the received payload's size and SHA-256 (of its bytes; of its UTF-8 JSON when it came parsed), so a
    #: truncated or escaped ``payload`` still identifies the original exactly
    payload_size = models.PositiveBigIntegerField(_("payload size (bytes)"), default=0)
    payload_sha256 = models.CharField(_("payload SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-received_at"]


class DoorAnalyticsRun(models.Model):
    """One ingestion of a door sensor series (the Huawei 4 Hz file) as a device's statistics stream.

    ``repairs``: cells repaired per column (``{"ball_bearing": 535, ...}``);
    ``rejected``: rows rejected with their reason counts; ``flags``: sustained
    abnormal-vibration windows ``[{"start": iso, "end": iso, "samples": n, "peak_db": x}]``.
    """

    device = models.ForeignKey(MonitoringDevice, on_delete=models.PROTECT, related_name="door_runs")
    source = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    series_start = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    repairs = models.JSONField(default=dict)
    rejected = models.JSONField(default=dict)
    baseline = models.JSONField(default=dict)
    flags = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at"]

    @property
    def repair_rows(self) -> list[tuple[str, int]]:
        """``repairs`` as ``[(column label in the active language, cells repaired)]`` (:func:`codes.field_label`)."""
        from .codes import field_label

        return [(field_label(k), v) for k, v in (self.repairs or {}).items()]
