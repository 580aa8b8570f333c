"""Inspection writes: records (append-only), findings to closure, and the derived validity.

Every write validates fully and runs in one transaction; errors are ``ValidationError({field: [reason]})``
naming the field (pages show its label). After any record the elevator's validity is recomputed by
:func:`validity_recompute`, the ONE place that derives "valid until / next due / last conclusion" (it
also mirrors them into the registry's read-only ``last_inspection_*`` / ``next_inspection_due``).
A lift that becomes failed or expired: notification to its use unit and maintenance unit, a hazard lead
(flow ``inspection.invalid``, handled by the hazards app), and the status hold :func:`validity_holds`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.workdays import is_working_day
from liftsafe.core import flows
from liftsafe.core.errors import Conflict, NotFound
from liftsafe.core.models import Role
from liftsafe.core.notifications import notify
from liftsafe.core.scoping import scope_of
from liftsafe.registry.models import Elevator, Organisation
from liftsafe.registry.selectors import current_contracts, scope_elevators
from liftsafe.rules import rule

from . import messages as msg
from . import schedule
from liftsafe.core.permissions import require
from .models import (FAILING, INVALID_STATES, PASSING, Conclusion, Finding, FindingClass, FindingState, InspectionRecord,
                     Kind, Validity, ValidityState)

#: days before next_due from which a valid lift shows as "due soon" (docs/domain §15.2: the use unit applies ≤ 30 days before)
DUE_SOON_DAYS = 30


# --------------------------------------------------------------------------- deadlines (docs/domain §15.3)
def add_working_days(start: dt.date, days: int) -> tuple[dt.date, str]:
    """``start`` + ``days`` official working days (调休 make-up days count, holidays do not), and a note.

    Uses ``chinese_calendar`` (the State Council notices); for a year it does not know yet the count
    falls back to Monday-Friday and the note says so (docs/domain §15.3: never crash).
    """
    d, left, fallback_years = start, days, set()
    while left > 0:
        d += dt.timedelta(days=1)
        work, known = is_working_day(d)
        if not known:
            fallback_years.add(d.year)
        if work:
            left -= 1
    note = ""
    if fallback_years:
        note = _("The official calendar for %(years)s is not published yet: weekends only were skipped.") % {
            "years": ", ".join(str(y) for y in sorted(fallback_years))}
    return d, note


def finding_deadline(start: dt.date, days: int, basis: str = "calendar") -> tuple[dt.date, str]:
    """A finding's deadline ``days`` after ``start`` in ``basis`` ``calendar`` or ``working`` days; ``(date, note)``.

    Raises:
        ValidationError: ``deadline_days`` not positive or ``deadline_basis`` unknown.
    """
    if days is None or int(days) < 1:
        raise ValidationError({"deadline_days": [_("Give a deadline of at least one day.")]})
    if basis == "working":
        return add_working_days(start, int(days))
    if basis != "calendar":
        raise ValidationError({"deadline_basis": [_("Count the deadline in calendar or working days.")]})
    return start + dt.timedelta(days=int(days)), ""


def default_deadline(finding_class: str, start: dt.date) -> tuple[dt.date, str, str]:
    """The configured deadline for a finding class (rule ``inspection_finding_deadline``): ``(date, basis, note)``."""
    days, basis = rule("inspection_finding_deadline")[finding_class]
    d, note = finding_deadline(start, days, basis)
    return d, basis, note


# --------------------------------------------------------------------------- validity (derived)
@dataclass(frozen=True)
class Computed:
    policy: str
    base_date: dt.date | None
    base_estimated: bool
    last_inspected_on: dt.date | None
    last_conclusion: str
    next_due: dt.date | None
    next_kind: str
    valid_until: dt.date | None
    state: str


def compute(*, area_code: str, category: str, supervision_pass_date: dt.date | None, supervision_pass_estimated: bool,
            installation_date: dt.date | None, records: Iterable[tuple], today: dt.date,
            table: dict | None = None, seed: tuple | None = None) -> Computed:
    """Validity of one elevator from its records, PURE.

    ``seed``: ``(last_inspection_date, last_inspection_conclusion, next_inspection_due)`` imported into the registry
    from a source that has no records (e.g. a Chinese registry export); used only while the lift has NO record.

    ``records``: ``(inspected_on, kind, conclusion, after_long_stop, pk)`` tuples. The base is the latest
    passed supervision inspection or inspection before reuse after a long stop (docs/domain §6, §15.2),
    else the registry's supervision pass date, else the installation date (then ``base_estimated``).
    """
    policy = schedule.select_policy(area_code, category, table if table is not None else rule("inspection_policies"))
    recs = sorted(records, key=lambda r: (r[0], r[4] or 0))
    resets = [r[0] for r in recs if r[2] in PASSING and (r[1] == Kind.SUPERVISION or r[3])]
    base, estimated = schedule.base_date(*resets), False
    if base is None:
        base, estimated = supervision_pass_date, supervision_pass_estimated
    if base is None and installation_date is not None:
        base, estimated = installation_date, True
    if not recs and seed is not None and seed[2] is not None:
        last_on, last_c, due = seed
        if last_c in FAILING:
            state, until = ValidityState.FAILED, None
        elif today > due:
            state, until = ValidityState.EXPIRED, due
        else:
            state, until = (ValidityState.DUE_SOON if (due - today).days <= DUE_SOON_DAYS else ValidityState.VALID), due
        return Computed(policy.code, base, estimated, last_on, last_c or "", due, schedule.INSPECTION, until, state)
    inspections = [r for r in recs if r[1] != Kind.SELF_TEST]
    last = inspections[-1] if inspections else None
    if base is None and recs:
        base, estimated = recs[0][0], True
    if base is None:
        return Computed(policy.code, None, False, None, "", None, "", None, ValidityState.UNKNOWN)
    done = [schedule.Done(r[0], schedule.SELF_TEST if r[1] == Kind.SELF_TEST else schedule.INSPECTION)
            for r in recs if r[2] in PASSING and r[1] != Kind.SUPERVISION and not r[3]]
    st = schedule.state(policy, base, done)
    nxt = st.next
    last_conclusion = last[2] if last else ""
    if last_conclusion in FAILING or (recs and recs[-1][1] == Kind.SELF_TEST and recs[-1][2] in FAILING):
        state, valid_until = ValidityState.FAILED, None
    elif today > nxt.due:
        state, valid_until = ValidityState.EXPIRED, nxt.due
    elif (nxt.due - today).days <= DUE_SOON_DAYS:
        state, valid_until = ValidityState.DUE_SOON, nxt.due
    else:
        state, valid_until = ValidityState.VALID, nxt.due
    return Computed(policy.code, base, estimated, last[0] if last else None, last_conclusion, nxt.due, nxt.kind,
                    valid_until, state)


def validity_holds(elevator_ids: list[int]) -> dict[int, str]:
    """Status-hold provider (registered in :class:`~liftsafe.inspection.apps.InspectionConfig`): a lift whose
    inspection failed or expired may not be put back in use (特种设备安全法 Art. 40; docs/domain §6)."""
    rows = Validity.objects.filter(elevator_id__in=elevator_ids, state__in=INVALID_STATES).values_list(
        "elevator_id", "state", "valid_until")
    out = {}
    for pk, state, until in rows:
        if state == ValidityState.FAILED:
            out[pk] = _("Inspection: failed; a passed re-inspection is needed before the lift goes back into use.")
        else:
            out[pk] = _("Inspection: expired on %(d)s; a passed inspection is needed before the lift goes back into use.") % {"d": until}
    return out


def _notify_invalid(elevator: Elevator, c: Computed) -> None:
    ref = f"inspection:{elevator.pk}:{c.state}:{c.valid_until or c.last_inspected_on}"
    subject = (_("Lift %(code)s failed its inspection") if c.state == ValidityState.FAILED
               else _("Lift %(code)s: inspection expired on %(d)s")) % {"code": elevator.display_code, "d": c.valid_until}
    body = _("The lift may not be used until it passes an inspection (特种设备安全法 Art. 40). %(addr)s") % {"addr": elevator.address}
    mu = current_contracts().filter(elevator=elevator).select_related("maintenance_unit").first()
    recipients = [("use", elevator.use_unit), ("maintenance", mu.maintenance_unit if mu else None)]
    for tag, org in recipients:
        if org is not None:
            notify(kind="inspection.invalid", subject=subject, body=body, organisation=org,
                   payload={"elevator": elevator.pk, "state": c.state}, dedupe_key=f"{ref}:{tag}")
    if flows.registry.handlers("inspection.invalid"):
        flows.send("inspection.invalid", elevator=elevator, state=c.state, ref=ref[:64], title=subject,
                   occurred_on=c.valid_until or c.last_inspected_on)


_MIRROR = {"last_inspected_on": "last_inspection_date", "last_conclusion": "last_inspection_conclusion", "next_due": "next_inspection_due"}


def validity_recompute(elevator_ids: Iterable[int] | None = None, *, today: dt.date | None = None, announce: bool = True,
                       announce_first: bool = True, batch: int = 2000) -> dict[str, int]:
    """Recompute the :class:`Validity` of ``elevator_ids`` (None = every elevator) from their records.

    Also writes the registry's derived fields (``last_inspection_date``, ``last_inspection_conclusion``,
    ``next_inspection_due``). With ``announce``, a lift that BECOMES failed or expired gets the
    notifications and the hazard lead (once per event: de-duplicated); imports pass False. ``announce_first``
    False (the periodic job) announces only lifts that already had a validity row (a first sighting after a deploy
    or an import is not an event).

    Returns: ``{state: count}`` of the recomputed elevators.
    """
    today = today or timezone.localdate()
    table = rule("inspection_policies")
    qs = Elevator.objects.order_by("pk")
    if elevator_ids is not None:
        ids = sorted(set(int(i) for i in elevator_ids))
        chunks = [ids[i:i + batch] for i in range(0, len(ids), batch)]
    else:
        all_ids = list(qs.values_list("pk", flat=True))
        chunks = [all_ids[i:i + batch] for i in range(0, len(all_ids), batch)]
    counts: dict[str, int] = {}
    for chunk in chunks:
        with transaction.atomic():
            elevators = {e.pk: e for e in Elevator.objects.filter(pk__in=chunk).select_related("area", "use_unit")}
            recs: dict[int, list[tuple]] = {}
            for row in InspectionRecord.objects.filter(elevator_id__in=chunk).values_list(
                    "elevator_id", "inspected_on", "kind", "conclusion", "after_long_stop", "pk"):
                recs.setdefault(row[0], []).append(row[1:])
            old = dict(Validity.objects.filter(elevator_id__in=chunk).values_list("elevator_id", "state"))
            rows, mirror, newly_invalid = [], [], []
            for pk, e in elevators.items():
                c = compute(area_code=e.area.code, category=e.category, supervision_pass_date=e.supervision_pass_date,
                            supervision_pass_estimated=e.supervision_pass_estimated, installation_date=e.installation_date,
                            records=recs.get(pk, ()), today=today, table=table,
                            seed=(e.last_inspection_date, e.last_inspection_conclusion, e.next_inspection_due))
                counts[str(c.state)] = counts.get(str(c.state), 0) + 1
                rows.append(Validity(elevator_id=pk, policy=c.policy, base_date=c.base_date, base_estimated=c.base_estimated,
                                     last_inspected_on=c.last_inspected_on, last_conclusion=c.last_conclusion,
                                     next_due=c.next_due, next_kind=c.next_kind or "", valid_until=c.valid_until, state=c.state))
                if pk in recs and any(getattr(e, dst) != (getattr(c, src) or (None if dst != "last_inspection_conclusion" else ""))
                       for src, dst in _MIRROR.items()):
                    mirror.append(pk)
                if announce and c.state in INVALID_STATES and old.get(pk) != c.state and (announce_first or pk in old):
                    newly_invalid.append((e, c))
            Validity.objects.bulk_create(rows, update_conflicts=True, unique_fields=["elevator"],
                                         update_fields=["policy", "base_date", "base_estimated", "last_inspected_on",
                                                        "last_conclusion", "next_due", "next_kind", "valid_until", "state",
                                                        "computed_at"])
            if mirror:  # derived fields, copied from the validity rows in one UPDATE (no history row: the records are the history)
                v = Validity.objects.filter(elevator=OuterRef("pk"))
                Elevator.objects.filter(pk__in=mirror).update(
                    last_inspection_date=Subquery(v.values("last_inspected_on")[:1]),
                    last_inspection_conclusion=Coalesce(Subquery(v.values("last_conclusion")[:1]), Value("")),
                    next_inspection_due=Subquery(v.values("next_due")[:1]))
            for e, c in newly_invalid:
                _notify_invalid(e, c)
            changed = [r.elevator_id for r in rows if old.get(r.elevator_id) != r.state and (announce_first or r.elevator_id in old)]
            if announce and changed:  # risk recomputes these lifts (imports pass announce=False)
                flows.send("inspection.validity_changed", elevator_ids=changed)
    return counts


# --------------------------------------------------------------------------- records
def _agency_of(user, agency: Organisation | None) -> Organisation | None:
    scope = scope_of(user)
    if scope.role == Role.INSPECTION_AGENCY:
        return Organisation.objects.get(pk=scope.organisation_id)
    return agency


def _check_agency(elevator: Elevator, agency: Organisation | None, errors: dict) -> None:
    if agency is None:
        return
    if agency.kind not in (Organisation.Kind.INSPECTION_AGENCY, Organisation.Kind.TESTING_AGENCY):
        errors.setdefault("agency", []).append(_("%(org)s is not an inspection or testing agency.") % {"org": agency})
        return
    if elevator.inspection_agency_id not in (None, agency.pk):
        errors.setdefault("agency", []).append(
            _("This lift is outside the agency's scope: it is assigned to %(other)s.") % {"other": elevator.inspection_agency})
    elif elevator.inspection_agency_id is None and agency.area_id and not elevator.area.path.startswith(agency.area.path):
        errors.setdefault("agency", []).append(_("This lift is outside the agency's area."))
    affiliations = rule("inspection_agency_affiliations") or {}
    affiliated = {int(x) for x in affiliations.get(str(agency.pk), affiliations.get(agency.pk, []))}
    if affiliated:
        mus = set(current_contracts().filter(elevator=elevator).values_list("maintenance_unit_id", flat=True))
        if mus & affiliated:
            errors.setdefault("agency", []).append(
                _("The agency is affiliated with the lift's maintenance unit and may not inspect it (independence)."))


@transaction.atomic
def inspection_record(user, *, elevator: Elevator, kind: str, inspected_on: dt.date, conclusion: str,
                      agency: Organisation | None = None, inspectors: str = "", report_no: str = "",
                      findings: list[dict[str, Any]] | None = None, reinspection_of: InspectionRecord | None = None,
                      after_long_stop: bool = False, source: str = "", source_ref: str = "", source_disposition: str = "",
                      today: dt.date | None = None, recompute: bool = True) -> InspectionRecord:
    """Record one inspection (or self-test, re-inspection) with its findings; recompute validity.

    ``findings``: dicts ``clause``, ``text``, ``finding_class`` (major|minor), ``reinspection_required``, and
    ``deadline`` (a date) or ``deadline_days`` + ``deadline_basis`` (calendar|working).
    ``user`` None = a system import. A record with a ``source_ref`` already imported is returned as it is.

    Raises:
        PermissionDenied: the role may not record inspections.
        NotFound: the elevator is outside the user's scope.
        ValidationError: naming each bad field (``inspected_on``, ``kind``, ``conclusion``, ``agency``,
            ``reinspection_of``, ``findings.N.deadline`` …); nothing is written.
    """
    if source_ref:
        existing = InspectionRecord.objects.filter(source=source, source_ref=source_ref).first()
        if existing is not None:
            return existing
    if user is not None:
        require(user, "inspection.record_self_test") if kind == Kind.SELF_TEST else require(user, "inspection.record")
        if not scope_elevators(scope_of(user), Elevator.objects.filter(pk=elevator.pk)).exists():
            # an agency may record a lift of its area that has no agency assigned yet; otherwise not visible
            scope = scope_of(user)
            if scope.role != Role.INSPECTION_AGENCY:
                raise NotFound()
    today = today or timezone.localdate()
    elevator = Elevator.objects.select_for_update().select_related("area").get(pk=elevator.pk)
    agency = _agency_of(user, agency)
    errors: dict[str, list[str]] = {}
    if kind not in Kind.values:
        errors["kind"] = [_("Choose supervision, periodic, re-inspection or self-test.")]
    if conclusion not in Conclusion.values:
        errors["conclusion"] = [_("Choose one of: pass, fail, pass on re-inspection, fail on re-inspection.")]
    if inspected_on is None:
        errors["inspected_on"] = [_("Give the inspection date.")]
    elif inspected_on > today:
        errors["inspected_on"] = [_("The inspection date %(d)s is in the future.") % {"d": inspected_on}]
    elif elevator.installation_date and inspected_on < elevator.installation_date and kind != Kind.SUPERVISION:
        errors["inspected_on"] = [_("The inspection date %(d)s is before the lift's installation (%(i)s).")
                                  % {"d": inspected_on, "i": elevator.installation_date}]
    prior = list(InspectionRecord.objects.filter(elevator=elevator).values_list(
        "inspected_on", "kind", "conclusion", "after_long_stop", "pk"))
    if kind == Kind.REINSPECTION and "conclusion" not in errors:
        if conclusion not in (Conclusion.PASS_ON_REINSPECTION, Conclusion.FAIL_ON_REINSPECTION):
            errors["conclusion"] = [_("A re-inspection concludes pass or fail on re-inspection.")]
        failed = InspectionRecord.objects.filter(elevator=elevator, conclusion__in=FAILING)
        if inspected_on:
            failed = failed.filter(inspected_on__lte=inspected_on)
        if reinspection_of is not None:
            if not failed.filter(pk=reinspection_of.pk).exists():
                errors["reinspection_of"] = [_("A re-inspection follows an earlier failed inspection of this lift.")]
        else:
            reinspection_of = failed.order_by("-inspected_on", "-pk").first()
            if reinspection_of is None:
                errors["reinspection_of"] = [_("There is no earlier failed inspection of this lift to re-inspect.")]
    elif kind in Kind.values and conclusion in (Conclusion.PASS_ON_REINSPECTION, Conclusion.FAIL_ON_REINSPECTION):
        errors["conclusion"] = [_("Only a re-inspection concludes pass or fail on re-inspection.")]
    if kind == Kind.SELF_TEST and inspected_on and "inspected_on" not in errors:
        c = compute(area_code=elevator.area.code, category=elevator.category, supervision_pass_date=elevator.supervision_pass_date,
                    supervision_pass_estimated=elevator.supervision_pass_estimated, installation_date=elevator.installation_date,
                    records=prior, today=today)
        if c.base_date is not None:
            policy = schedule.POLICIES[c.policy]
            done = [schedule.Done(r[0], schedule.SELF_TEST if r[1] == Kind.SELF_TEST else schedule.INSPECTION)
                    for r in prior if r[2] in PASSING and r[1] != Kind.SUPERVISION and not r[3]]
            if schedule.early_refusal(policy, c.base_date, done, schedule.SELF_TEST, inspected_on):
                nxt = schedule.state(policy, c.base_date, done).next
                errors["inspected_on"] = [_("A self-test may be at most 1 month early: the next one is due by %(due)s "
                                            "(from %(start)s).") % {"due": nxt.due, "start": nxt.window_start}]
    _check_agency(elevator, agency, errors)
    clean_findings = []
    for i, f in enumerate(findings or []):
        key = f"findings.{i}"
        fclass = f.get("finding_class") or FindingClass.MINOR
        if fclass not in FindingClass.values:
            errors[f"{key}.finding_class"] = [_("Choose major or minor.")]
            continue
        if not (f.get("text") or "").strip():
            errors[f"{key}.text"] = [_("Describe the finding.")]
        deadline, basis, note = f.get("deadline"), f.get("deadline_basis") or "calendar", ""
        if deadline is None and f.get("deadline_days"):
            try:
                deadline, note = finding_deadline(inspected_on or today, f["deadline_days"], basis)
            except ValidationError as exc:
                errors[f"{key}.deadline"] = [m for m in exc.messages]
                continue
        if deadline is None:
            errors[f"{key}.deadline"] = [_("Every finding needs a deadline.")]
            continue
        if inspected_on and deadline < inspected_on:
            errors[f"{key}.deadline"] = [_("The deadline is before the inspection date.")]
        clean_findings.append(Finding(clause=(f.get("clause") or "")[:32], text=f.get("text") or "", finding_class=fclass,
                                      reinspection_required=bool(f.get("reinspection_required", fclass == FindingClass.MAJOR)),
                                      deadline=deadline, deadline_basis=basis, deadline_note=note[:200]))
    if errors:
        raise ValidationError(errors)
    rec = InspectionRecord(elevator=elevator, kind=kind, inspected_on=inspected_on, agency=agency, inspectors=inspectors[:200],
                           conclusion=conclusion, report_no=report_no[:64], after_long_stop=after_long_stop,
                           reinspection_of=reinspection_of, source=source, source_ref=source_ref[:128],
                           source_disposition=source_disposition[:16],
                           recorded_by=user if getattr(user, "is_authenticated", False) else None)
    save_with_history(rec, user, encode(msg.RECORDED))
    for f in clean_findings:
        f.record = rec
        f.save()
    if kind == Kind.REINSPECTION and conclusion == Conclusion.PASS_ON_REINSPECTION and reinspection_of is not None:
        for f in Finding.objects.filter(record=reinspection_of).exclude(state=FindingState.CLOSED):
            f.state, f.closed_at, f.version = FindingState.CLOSED, timezone.now(), f.version + 1
            f.closed_by = rec.recorded_by
            save_with_history(f, user, encode(msg.CLOSED_BY_REINSPECTION, record=rec.pk))
    if recompute:
        validity_recompute([elevator.pk], today=today)
    return rec


# --------------------------------------------------------------------------- findings
def _finding_for(user, finding: Finding | int, version: int | None) -> Finding:
    pk = finding.pk if isinstance(finding, Finding) else int(finding)
    visible = scope_elevators(scope_of(user), Finding.objects.all(), prefix="record__elevator__")
    f = visible.select_for_update().filter(pk=pk).first()
    if f is None:
        raise NotFound()
    if version is not None and f.version != version:
        raise Conflict({"version": [_("This finding was changed by someone else; reload and try again.")]})
    return f


@transaction.atomic
def finding_rectify(user, finding: Finding | int, *, evidence_note: str, evidence_file=None, version: int | None = None) -> Finding:
    """The use unit or maintenance unit records the rectification with evidence (docs/domain §6).

    Raises:
        PermissionDenied, NotFound, Conflict (stale ``version``),
        ValidationError: ``evidence_note`` empty; finding not open.
    """
    require(user, "inspection.rectify")
    f = _finding_for(user, finding, version)
    if f.state != FindingState.OPEN:
        raise ValidationError({"state": [_("Only an open finding can be rectified.")]})
    if not (evidence_note or "").strip():
        raise ValidationError({"evidence_note": [_("Describe the rectification (evidence).")]})
    f.evidence_note, f.state, f.rectified_at, f.version = evidence_note.strip(), FindingState.RECTIFIED, timezone.now(), f.version + 1
    if evidence_file is not None:
        f.evidence_file = evidence_file
    save_with_history(f, user, encode(msg.RECTIFIED))
    return f


@transaction.atomic
def finding_confirm(user, finding: Finding | int, *, monitored: bool = False, version: int | None = None) -> Finding:
    """The use unit confirms a MINOR finding without re-inspection itself, or puts the lift under monitored
    use (监护使用) (docs/domain §6). Findings requiring re-inspection close only by a passed re-inspection.

    Raises:
        PermissionDenied, NotFound, Conflict,
        ValidationError: ``finding_class`` major / re-inspection required; ``state`` not rectified.
    """
    require(user, "inspection.confirm")
    f = _finding_for(user, finding, version)
    if f.reinspection_required or f.finding_class != FindingClass.MINOR:
        raise ValidationError({"reinspection_required": [_("This finding closes only with a passed re-inspection.")]})
    if monitored:
        if f.state not in (FindingState.OPEN, FindingState.RECTIFIED):
            raise ValidationError({"state": [_("This finding is already closed.")]})
        f.state = FindingState.MONITORED
    else:
        if f.state != FindingState.RECTIFIED:
            raise ValidationError({"state": [_("Record the rectification before confirming it.")]})
        f.state, f.closed_at, f.closed_by = FindingState.CLOSED, timezone.now(), user
    f.version += 1
    save_with_history(f, user, encode(msg.MONITORED if monitored else msg.CONFIRMED))
    return f
