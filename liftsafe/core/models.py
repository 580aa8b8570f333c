"""Core models: administrative areas, user roles and API tokens.

Areas form a tree with a materialised ``path`` so that "everything in this
area" is one indexed prefix query, whether the codes are GB/T 2260 (110000 →
110100 → 110105) or a foreign source's districts (US-NY → US-NY-NYC → borough).
"""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def validate_time_zone(value: str) -> None:
    """An IANA time zone name known to :mod:`zoneinfo` (``"America/New_York"``); empty is allowed (= inherit).

    Raises:
        ValidationError: unknown name.
    """
    from django.core.exceptions import ValidationError

    from .zones import is_time_zone

    if value and not is_time_zone(value):
        raise ValidationError(_("“%(value)s” is not a known time zone (use an IANA name such as Asia/Shanghai or America/New_York)."),
                              params={"value": value[:64]}, code="invalid")


class Area(models.Model):
    """An administrative area (province, city, district) or a source's district.

    ``path`` is the chain of codes from the root, joined by ``/`` and ending
    in ``/`` (``"110000/110100/110105/"``); a descendant's path starts with
    its ancestor's. ``urban`` marks a 直辖市 / 设区的市 area, which sets the
    30-minute rescue arrival limit of its elevators (docs/domain §3.4, TSG T5002 Art. 5).
    ``time_zone`` (IANA name, empty = inherit) is the area's local time: its effective zone is
    inherited down the tree and defaults to ``settings.TIME_ZONE`` (:mod:`liftsafe.core.zones`).
    """

    class Level(models.TextChoices):
        COUNTRY = "country", _("Country")
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        DISTRICT = "district", _("District")

    code = models.CharField(_("area code"), max_length=32, unique=True, help_text=_("GB/T 2260 code or the source's district code"))
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent area"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)
    urban = models.BooleanField(_("urban (直辖市/设区的市)"), default=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="", validators=[validate_time_zone],
                                 help_text=_("IANA time zone name (e.g. America/New_York); empty: the parent area's, or the deployment's"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language: ``name_en`` when English is active and it is set, else ``name``."""
        from django.utils.translation import get_language

        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    def save(self, *args, **kwargs):
        self.path = (self.parent.path if self.parent_id else "") + f"{self.code}/"
        super().save(*args, **kwargs)
        from .zones import clear_zone_cache

        clear_zone_cache()

    def delete(self, *args, **kwargs):
        from .zones import clear_zone_cache

        try:
            return super().delete(*args, **kwargs)
        finally:
            clear_zone_cache()

    @property
    def zone(self):
        """The effective time zone (:class:`zoneinfo.ZoneInfo`): this area's, else the nearest ancestor's, else the
        deployment's ``settings.TIME_ZONE`` (:func:`liftsafe.core.zones.zone_for_path`)."""
        from .zones import zone_for_path

        return zone_for_path(self.path)

    @property
    def jurisdiction_code(self) -> str:
        """Code of the top-level area (province or country) this area belongs to."""
        return self.path.split("/", 1)[0]


class Role(models.TextChoices):
    """What a user does on the platform; decides what they may see (see registry.selectors)."""

    ADMIN = "admin", _("Platform administrator")
    REGULATOR = "regulator", _("Regulator (market supervision)")
    OPERATOR = "operator", _("96333 operator")
    MAINTENANCE_UNIT = "maintenance_unit", _("Maintenance unit")
    USE_UNIT = "use_unit", _("Use unit")
    INSPECTION_AGENCY = "inspection_agency", _("Inspection agency")
    RESCUE_STATION = "rescue_station", _("Rescue station")
    INSURER = "insurer", _("Insurer")


AREA_ROLES = {Role.REGULATOR, Role.OPERATOR, Role.RESCUE_STATION}
ORGANISATION_ROLES = {Role.MAINTENANCE_UNIT, Role.USE_UNIT, Role.INSPECTION_AGENCY, Role.INSURER, Role.RESCUE_STATION}


class Profile(models.Model):
    """A user's role and the scope it carries.

    Regulators and 96333 operators are scoped to an ``area`` (and everything
    below it); maintenance units, use units, inspection agencies and insurers
    to their ``organisation``. A user without a profile sees nothing, unless
    a superuser.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organisation = models.ForeignKey("registry.Organisation", verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    area = models.ForeignKey(Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.role in (Role.REGULATOR, Role.OPERATOR) and not self.area_id:
            raise ValidationError({"area": _("A regulator or operator must be scoped to an area.")})
        if self.role in (Role.MAINTENANCE_UNIT, Role.USE_UNIT, Role.INSPECTION_AGENCY, Role.INSURER, Role.RESCUE_STATION) and not self.organisation_id:
            raise ValidationError({"organisation": _("This role must belong to an organisation.")})


class ApiToken(models.Model):
    """A bearer token for the JSON API (devices, integrations, scripts); acts with its user's role scope.

    Only a SHA-256 digest of the secret is stored (the secret is 256 random bits, so a fast hash is
    enough); the secret itself is shown once, when issued. ``prefix`` (the first characters of the
    secret) lets a user tell tokens apart. Every token expires (``expires_at``; validity from
    ``rules.api_token_default_days``, at most ``rules.api_token_max_days``). ``last_used_at`` is
    written at most once a minute. Issued, listed and revoked only through
    :mod:`liftsafe.core.auth` (a logged-in session or the ``token`` management command), never with a token.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token begins with"), max_length=12, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()

    @property
    def active(self) -> bool:
        return not self.revoked and not self.expired

    @classmethod
    def issue(cls, user, name: str, *, expires_days: int | None = None) -> tuple["ApiToken", str]:
        """Create a token for ``user`` valid ``expires_days`` days (default ``rules.api_token_default_days``);
        returns (record, plaintext token shown once). No validation: use :func:`liftsafe.core.auth.token_issue`."""
        import datetime as dt

        from django.utils import timezone

        from liftsafe.rules import rule

        days = int(rule("api_token_default_days") if expires_days is None else expires_days)
        token = "ls_" + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, digest=cls.hash(token), prefix=token[:10],
                                  expires_at=timezone.now() + dt.timedelta(days=days)), token


class Notification(models.Model):
    """An outbox entry: a message queued in the same transaction as the write that caused it.

    Written by :func:`liftsafe.core.notifications.notify`; delivered to every
    configured channel by the periodic job ``deliver_notifications``, with
    retries and exponential backoff. ``delivered_channels`` lists the channels
    that accepted it (a retry only re-tries the others); every attempt is a
    :class:`NotificationAttempt`. ``dedupe_key`` (unique when set) makes a
    notification once-only. Recipients: ``user``, the members of
    ``organisation``, or the regulators of ``area``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    organisation = models.ForeignKey("registry.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    payload = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    delivered_channels = models.JSONField(default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class NotificationAttempt(models.Model):
    """One delivery attempt of a notification on one channel (kept; the audit of who was told when)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    channel = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["notification", "at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {'ok' if self.ok else 'failed'}"
