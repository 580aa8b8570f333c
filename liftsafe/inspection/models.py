"""Inspection records, findings and the derived validity of each elevator (docs/domain §6, §15.2).

- :class:`InspectionRecord` is APPEND-ONLY: once saved it is never changed or deleted (a correction is a
  new record). ``source`` + ``source_ref`` identify an imported record, so a re-import adds nothing.
- :class:`Finding`: one non-conformity of a record, with its deadline and the rectification loop.
- :class:`Validity`: one row per elevator DERIVED from the records by
  :func:`liftsafe.inspection.services.validity_recompute` (never edited by hand).

Every model keeps an audit history (django-simple-history).
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from liftsafe.registry.models import Elevator


class Kind(models.TextChoices):
    """Record type (docs/domain §6: supervision / periodic inspection, TSG T7001-2023; self-testing T7008-2023)."""

    SUPERVISION = "supervision", _("Supervision inspection")
    PERIODIC = "periodic", _("Periodic inspection")
    REINSPECTION = "reinspection", _("Re-inspection")
    SELF_TEST = "self_test", _("Self-test")


#: Inspection conclusions (docs/domain §6 [S]): 合格 / 不合格 / 复检合格 / 复检不合格. One definition, the registry's
#: (the elevator's last conclusion is a value of the same list).
Conclusion = Elevator.Conclusion


PASSING = {Conclusion.PASS, Conclusion.PASS_ON_REINSPECTION}
FAILING = {Conclusion.FAIL, Conclusion.FAIL_ON_REINSPECTION}


class InspectionRecord(models.Model):
    """One inspection or self-test of one elevator (append-only)."""

    elevator = models.ForeignKey("registry.Elevator", verbose_name=_("elevator"), on_delete=models.PROTECT, related_name="inspection_records")
    kind = models.CharField(_("inspection type"), max_length=16, choices=Kind.choices)
    inspected_on = models.DateField(_("inspection date"))
    agency = models.ForeignKey("registry.Organisation", verbose_name=_("inspection agency"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="inspection_records")
    inspectors = models.CharField(_("inspectors"), max_length=200, blank=True)
    conclusion = models.CharField(_("conclusion"), max_length=24, choices=Conclusion.choices)
    report_no = models.CharField(_("report number"), max_length=64, blank=True)
    after_long_stop = models.BooleanField(_("inspection before reuse after a stop of a year or more"), default=False,
                                          help_text=_("the schedule counts from this pass (docs/domain §6)"))
    reinspection_of = models.ForeignKey("self", verbose_name=_("re-inspection of"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="reinspections")
    source = models.CharField(_("source"), max_length=32, blank=True, help_text=_("import source; empty = recorded here"))
    source_ref = models.CharField(_("source reference"), max_length=128, blank=True)
    source_disposition = models.CharField(_("disposition code in the source"), max_length=16, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("inspection record")
        verbose_name_plural = _("inspection records")
        ordering = ["-inspected_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref"], condition=~Q(source_ref=""), name="inspection_unique_source_ref"),
        ]
        indexes = [models.Index(fields=["elevator", "inspected_on"], name="inspection_elevator_date_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.inspected_on} {self.get_conclusion_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError({"__all__": _("An inspection record is append-only; record a new one instead.")})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError({"__all__": _("An inspection record is append-only and cannot be deleted.")})


class FindingClass(models.TextChoices):
    MAJOR = "major", _("Major (re-inspection)")
    MINOR = "minor", _("Minor")


class FindingState(models.TextChoices):
    OPEN = "open", _("Open")
    RECTIFIED = "rectified", _("Rectified, awaiting confirmation")
    CLOSED = "closed", _("Closed")
    MONITORED = "monitored", _("Monitored use (监护使用)")


class Finding(models.Model):
    """A non-conformity found by an inspection (docs/domain §6 rectification; deadline per class, §15.3)."""

    record = models.ForeignKey(InspectionRecord, verbose_name=_("inspection record"), on_delete=models.PROTECT, related_name="findings")
    clause = models.CharField(_("clause"), max_length=32)
    text = models.TextField(_("finding"))
    finding_class = models.CharField(_("finding class"), max_length=8, choices=FindingClass.choices)
    reinspection_required = models.BooleanField(_("re-inspection required"), default=False)
    deadline = models.DateField(_("deadline"))
    deadline_basis = models.CharField(_("deadline counted in"), max_length=16, blank=True)
    deadline_note = models.CharField(_("deadline note"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=FindingState.choices, default=FindingState.OPEN)
    evidence_note = models.TextField(_("rectification evidence"), blank=True)
    evidence_file = models.FileField(_("evidence file"), upload_to="inspection/evidence/%Y/%m/", blank=True)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(_("version"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["deadline", "pk"]

    def __str__(self) -> str:
        return f"{self.clause} {self.text[:40]}"


class ValidityState(models.TextChoices):
    VALID = "valid", _("Valid")
    DUE_SOON = "due_soon", _("Due soon")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown")


INVALID_STATES = {ValidityState.EXPIRED, ValidityState.FAILED}


class Validity(models.Model):
    """An elevator's inspection validity, derived from its records (one service writes it)."""

    elevator = models.OneToOneField("registry.Elevator", verbose_name=_("elevator"), on_delete=models.CASCADE,
                                    primary_key=True, related_name="inspection_validity")
    policy = models.CharField(_("cycle policy"), max_length=32)
    base_date = models.DateField(_("schedule base (supervision pass)"), null=True, blank=True)
    base_estimated = models.BooleanField(_("base estimated"), default=False)
    last_inspected_on = models.DateField(_("last inspection date"), null=True, blank=True)
    last_conclusion = models.CharField(_("last conclusion"), max_length=24, choices=Conclusion.choices, blank=True)
    next_due = models.DateField(_("next due"), null=True, blank=True, db_index=True)
    next_kind = models.CharField(_("next due type"), max_length=16, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    state = models.CharField(_("validity"), max_length=12, choices=ValidityState.choices, default=ValidityState.UNKNOWN, db_index=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        verbose_name = _("inspection validity")
        verbose_name_plural = _("inspection validities")
