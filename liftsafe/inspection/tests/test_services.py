"""Inspection services through the real path: validations naming the field, validity, holds, flows, findings loop."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone, translation

from liftsafe.core.errors import PermissionDenied
from liftsafe.core.models import Notification
from liftsafe.hazards.models import Hazard
from liftsafe.inspection import services
from liftsafe.inspection.models import Finding, FindingState, InspectionRecord, Validity, ValidityState
from liftsafe.registry import services as registry_services
from liftsafe.registry.models import Elevator

D = dt.date
TODAY = D(2026, 12, 7)


@pytest.fixture
def lift(world):
    e = world.elevators["a1"]
    Elevator.objects.filter(pk=e.pk).update(installation_date=D(2020, 3, 1), supervision_pass_date=D(2020, 3, 20))
    e.refresh_from_db()
    return e


def record(world, lift, user="inspection_agency", **kw):
    args = dict(elevator=lift, kind="periodic", inspected_on=D(2026, 3, 10), conclusion="pass", today=TODAY)
    args.update(kw)
    return services.inspection_record(world.users[user] if user else None, **args)


def errors_of(exc):
    return exc.value.message_dict


def test_pass_sets_validity_and_registry_mirror(world, lift):
    # base 2020-03; year 7 (2027-03) is an inspection year (docs/domain §6); an inspection in 2026-03 satisfies year 6 (self-test year)
    record(world, lift)
    v = Validity.objects.get(elevator=lift)
    assert v.state == ValidityState.VALID and v.next_due == D(2027, 3, 31) and v.next_kind == "inspection"
    assert v.base_date == D(2020, 3, 20) and not v.base_estimated
    lift.refresh_from_db()
    assert lift.next_inspection_due == D(2027, 3, 31) and lift.last_inspection_conclusion == "pass"


@pytest.mark.parametrize("kw,field", [
    ({"inspected_on": D(2026, 12, 8)}, "inspected_on"),                # in the future
    ({"inspected_on": D(2019, 1, 1)}, "inspected_on"),                 # before installation
    ({"conclusion": "ok"}, "conclusion"),                              # outside the list
    ({"kind": "visual"}, "kind"),
    ({"kind": "reinspection", "conclusion": "pass_on_reinspection"}, "reinspection_of"),  # nothing failed before
    ({"conclusion": "pass_on_reinspection"}, "conclusion"),            # only a re-inspection concludes so
    ({"findings": [{"clause": "2.1", "text": "门锁", "finding_class": "minor"}]}, "findings.0.deadline"),
])
def test_refusals_name_the_field(world, lift, kw, field):
    with pytest.raises(ValidationError) as exc:
        record(world, lift, **kw)
    assert field in errors_of(exc)
    assert not InspectionRecord.objects.exists()


def test_self_test_early_window(world, lift):
    # docs/domain §6 (T7008-2023): after an inspection in year 5, year 6 (2026-03) is a self-test year:
    # 2026-01-31 is more than 1 month early (refused, the field named), from 2026-02-01 it may be done
    record(world, lift, inspected_on=D(2025, 3, 10))
    with pytest.raises(ValidationError) as exc:
        record(world, lift, kind="self_test", inspected_on=D(2026, 1, 31))
    assert "inspected_on" in errors_of(exc)
    services.inspection_record(world.users["inspection_agency"], elevator=lift, kind="self_test", inspected_on=D(2026, 2, 1),
                               conclusion="pass", today=TODAY)
    assert Validity.objects.get(elevator=lift).next_due == D(2027, 3, 31)


def test_agency_outside_scope_and_independence(world, lift):
    other = world.orgs[("inspection_agency", "b")]
    with pytest.raises(ValidationError) as exc:
        record(world, lift, user="admin", agency=other)
    assert "agency" in errors_of(exc)
    mu = world.orgs[("maintenance_unit", "a")]
    agency = world.orgs[("inspection_agency", "a")]
    with override_settings(LIFTSAFE_RULES={"inspection_agency_affiliations": {str(agency.pk): [mu.pk]}}), translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            record(world, lift)
    assert "independence" in " ".join(errors_of(exc)["agency"])


def test_role_refused(world, lift):
    with pytest.raises(PermissionDenied):
        record(world, lift, user="use_unit")


def test_fail_hold_notifications_lead_then_reinspection(world, lift):
    rec = record(world, lift, conclusion="fail", findings=[
        {"clause": "2.8", "text": "制动器磨损", "finding_class": "major", "deadline_days": 15, "deadline_basis": "working"},
        {"clause": "3.1", "text": "照明不足", "finding_class": "minor", "deadline": D(2026, 4, 30)},
    ])
    v = Validity.objects.get(elevator=lift)
    assert v.state == ValidityState.FAILED and v.valid_until is None
    # notifications to use unit and maintenance unit; a hazard lead through the flow
    orgs = set(Notification.objects.filter(kind="inspection.invalid").values_list("organisation_id", flat=True))
    assert orgs == {world.orgs[("use_unit", "a")].pk, world.orgs[("maintenance_unit", "a")].pk}
    assert Hazard.objects.filter(elevator=lift, source="inspection", state="lead").count() == 1
    # the status hold: an invalid lift cannot be put back in use by any path
    Elevator.objects.filter(pk=lift.pk).update(status="stopped")
    lift.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        registry_services.elevator_update(world.users["admin"], lift, {"status": "in_use"})
    assert "status" in exc.value.message_dict
    fresh = Elevator.objects.get(pk=lift.pk)
    fresh.status = "in_use"
    with pytest.raises(ValidationError):
        fresh.save()
    # working-day deadline: 15 official working days after 2026-03-10 (no holiday in between) = 2026-03-31
    major = rec.findings.get(clause="2.8")
    assert major.deadline == D(2026, 3, 31) and major.reinspection_required
    # the minor finding: use unit rectifies, then confirms itself
    minor = rec.findings.get(clause="3.1")
    with pytest.raises(ValidationError):
        services.finding_confirm(world.users["use_unit"], minor, version=minor.version)
    minor = services.finding_rectify(world.users["use_unit"], minor, evidence_note="更换灯具", version=minor.version)
    minor = services.finding_confirm(world.users["use_unit"], minor, version=minor.version)
    assert minor.state == FindingState.CLOSED
    with pytest.raises(ValidationError) as exc:
        services.finding_confirm(world.users["use_unit"], major, version=major.version)
    assert "reinspection_required" in exc.value.message_dict
    services.finding_rectify(world.users["maintenance_unit"], major, evidence_note="更换制动器", version=major.version)
    # re-inspection passes: findings closed, validity back, hold lifted
    record(world, lift, kind="reinspection", inspected_on=D(2026, 4, 2), conclusion="pass_on_reinspection")
    assert Finding.objects.get(pk=major.pk).state == FindingState.CLOSED
    v.refresh_from_db()
    assert v.state == ValidityState.VALID and v.last_conclusion == "pass_on_reinspection" and v.next_due == D(2027, 3, 31)
    registry_services.elevator_update(world.users["admin"], lift, {"status": "in_use"})


def test_expired_lift_is_held(world, lift):
    services.validity_recompute([lift.pk], today=TODAY)  # no record since 2020-03: year 1 (2021-03) missed
    v = Validity.objects.get(elevator=lift)
    assert v.state == ValidityState.EXPIRED and v.valid_until == D(2021, 3, 31)
    Elevator.objects.filter(pk=lift.pk).update(status="stopped")
    lift.refresh_from_db()
    with pytest.raises(ValidationError):
        registry_services.elevator_update(world.users["admin"], lift, {"status": "in_use"})


def test_reimport_same_source_ref_no_duplicate(world, lift):
    a = record(world, lift, user=None, source="nyc-dob", source_ref="X1:20260310")
    b = record(world, lift, user=None, source="nyc-dob", source_ref="X1:20260310")
    assert a.pk == b.pk and InspectionRecord.objects.count() == 1


def test_append_only(world, lift):
    rec = record(world, lift)
    rec.report_no = "changed"
    with pytest.raises(ValidationError):
        rec.save()
    with pytest.raises(ValidationError):
        rec.delete()


@pytest.mark.parametrize("start,days,basis,expected,fallback", [
    (D(2026, 9, 30), 1, "working", D(2026, 10, 8), False),   # 国庆 2026: Oct 1-7 off (docs/domain §15.3)
    (D(2026, 10, 9), 1, "working", D(2026, 10, 10), False),  # 2026-10-10 (Saturday) is a make-up working day (调休)
    (D(2026, 2, 13), 1, "working", D(2026, 2, 14), False),   # 2026-02-14 (Saturday) is a make-up working day (调休)
    (D(2026, 12, 31), 1, "working", D(2027, 1, 1), True),    # 2027 not published: weekends only, and it says so
    (D(2026, 3, 10), 30, "calendar", D(2026, 4, 9), False),
])
def test_finding_deadline(start, days, basis, expected, fallback):
    d, note = services.finding_deadline(start, days, basis)
    assert d == expected
    assert bool(note) is fallback


def test_expired_lift_held_on_every_path(world, lift):
    """特种设备安全法 Art. 40 / docs/domain §6: the hold refuses the API (status route and PATCH), the admin form and
    the registry importer's bulk path; the hold is registered at start-up."""
    from django.test import Client

    from liftsafe.registry import holds
    from liftsafe.testing import admin_field_error, admin_form_post

    assert holds.providers()["inspection.invalid"] is services.validity_holds
    Elevator.objects.filter(pk=lift.pk).update(status="stopped")
    services.validity_recompute([lift.pk])  # no inspection since 2020: expired
    c = Client()
    c.force_login(world.users["admin"])
    r = c.post(f"/api/registry/elevators/{lift.pk}/status", {"status": "in_use", "reason": "恢复"}, content_type="application/json")
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = c.patch(f"/api/registry/elevators/{lift.pk}", {"status": "in_use"}, content_type="application/json")
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = admin_form_post(c, f"/admin/registry/elevator/{lift.pk}/change/", status="in_use")
    assert r.status_code == 200 and admin_field_error(r, "status")
    assert holds.refused_status_changes({lift.pk: "in_use"})  # what the importer consults per batch
    assert Elevator.objects.get(pk=lift.pk).status == "stopped"
    # a passing inspection lifts the hold
    record(world, lift, inspected_on=timezone.localdate(), today=timezone.localdate())
    r = c.post(f"/api/registry/elevators/{lift.pk}/status", {"status": "in_use", "reason": "检验合格"}, content_type="application/json")
    assert r.status_code == 200, r.content


def test_registry_seed_kept_without_records(world, lift):
    """A lift imported with next_inspection_due from a registry file (no records): the recompute keeps the seeded
    fields and derives validity from them; the first record takes over."""
    Elevator.objects.filter(pk=lift.pk).update(last_inspection_date=D(2026, 5, 10), last_inspection_conclusion="pass",
                                               next_inspection_due=D(2027, 5, 9))
    services.validity_recompute([lift.pk], today=TODAY)
    lift.refresh_from_db()
    assert lift.next_inspection_due == D(2027, 5, 9)
    v = Validity.objects.get(elevator=lift)
    assert v.state == ValidityState.VALID and v.valid_until == D(2027, 5, 9)
    services.validity_recompute([lift.pk], today=D(2027, 5, 10))
    assert Validity.objects.get(elevator=lift).state == ValidityState.EXPIRED
    record(world, lift, inspected_on=D(2026, 3, 10))
    lift.refresh_from_db()
    assert lift.next_inspection_due == D(2027, 3, 31)
