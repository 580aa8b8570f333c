"""Insurance services: policy recording, claim suggestions from 96333 entrapments, the claim workflow."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from liftsafe.core.errors import NotFound
from liftsafe.insurance import services
from liftsafe.insurance.models import Claim, Policy

from .conftest import entrapment, make_policy

H = dt.timedelta(hours=1)


def test_long_entrapment_suggests_a_claim_once(iw):
    case = entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=75), persons=3)
    r = services.claims_suggest()
    assert (r.created, r.existing, r.uninsured) == (1, 0, 0)
    c = Claim.objects.get()
    assert (c.case_id, c.policy_id, c.elevator_id, c.state) == (case.pk, iw.policy_a.pk, case.elevator_id, "suggested")
    assert c.trapped_s == 75 * 60 and c.band == "1h_1h30"
    assert (c.yuan_per_person, c.persons, c.suggested_total) == (Decimal(300), 3, Decimal(900))
    assert c.history.count() == 1
    again = services.claims_suggest()
    assert (again.created, again.existing) == (0, 1) and Claim.objects.count() == 1


def test_short_entrapment_false_alarm_and_open_case_suggest_nothing(iw):
    from liftsafe.emergency import services as em

    entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=29, seconds=59))
    res = em.intake_alarm(iw.elevators["a2"], channel="phone_96333", case_type="entrapment",
                          received_at=timezone.now() - 3 * H)  # still trapped: no release yet
    assert services.claims_suggest().created == 0
    em.record_milestone(iw.users["admin"], res.case, "false_alarm")
    assert services.claims_suggest().created == 0 and not Claim.objects.exists()


def test_exactly_thirty_minutes_is_claimable(iw):
    entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=30), persons=1)
    services.claims_suggest()
    assert Claim.objects.get().band == "30m_1h"


def test_uninsured_and_lapsed_lifts_get_no_claim(world):
    today = timezone.localdate()
    make_policy(world, "a", lifts=[world.elevators["a1"]], start=today - dt.timedelta(days=400), end=today - dt.timedelta(days=35))
    entrapment(world, world.elevators["a1"], 3 * H)  # policy lapsed before the case
    entrapment(world, world.elevators["a2"], 3 * H)  # never insured
    r = services.claims_suggest()
    assert (r.created, r.uninsured) == (0, 2)


def test_every_policy_in_force_gets_a_suggestion(iw):
    """One party insures, all benefit — and where two parties insured the same lift, each policy gets one."""
    second = make_policy(iw, "b", lifts=[iw.elevators["a1"]])
    entrapment(iw, iw.elevators["a1"], 2 * H + dt.timedelta(seconds=1), persons=None)
    services.claims_suggest()
    claims = Claim.objects.order_by("policy_id")
    assert [c.policy_id for c in claims] == [iw.policy_a.pk, second.pk]
    assert all(c.band == "over_2h" and c.persons is None and c.suggested_total is None for c in claims)


def test_persons_fall_back_to_the_intake_count(iw):
    entrapment(iw, iw.elevators["a1"], 40 * dt.timedelta(minutes=1), persons=None, trapped_count=4)
    services.claims_suggest()
    assert Claim.objects.get().suggested_total == Decimal(800)


def test_old_entrapments_outside_the_window_are_left_alone(iw):
    entrapment(iw, iw.elevators["a1"], 3 * H, ago=dt.timedelta(days=40))
    assert services.claims_suggest().created == 0
    assert services.claims_suggest(days=60).created == 1


@pytest.fixture
def claim(iw):
    entrapment(iw, iw.elevators["a1"], dt.timedelta(minutes=100), persons=2)
    services.claims_suggest()
    return Claim.objects.get()


def test_insurer_files_and_pays(iw, claim):
    ins = iw.users["insurer"]
    c = services.claim_transition(ins, claim.pk, "file")
    assert (c.state, c.persons, c.claimed_amount, c.filed_by) == ("filed", 2, Decimal(800), ins)
    c = services.claim_transition(ins, claim.pk, "pay", amount="1000")
    assert (c.state, c.paid_amount, c.decided_by) == ("paid", Decimal("1000.00"), ins)
    assert c.history.count() == 3
    with pytest.raises(ValidationError) as e:
        services.claim_transition(ins, claim.pk, "refuse", reason="late")
    assert "state" in e.value.message_dict


def test_refuse_needs_a_reason(iw, claim):
    ins = iw.users["insurer"]
    with pytest.raises(ValidationError) as e:
        services.claim_transition(ins, claim.pk, "refuse", reason="  ")
    assert "reason" in e.value.message_dict
    c = services.claim_transition(ins, claim.pk, "refuse", reason="not covered: vandalism")
    assert c.state == "refused" and c.refusal_reason == "not covered: vandalism"


@pytest.mark.parametrize("kw,field", [
    ({"persons": 0}, "persons"), ({"persons": 201}, "persons"), ({"amount": "-1"}, "amount"), ({"amount": "abc"}, "amount"),
    ({"amount": "1000000.01"}, "amount"),  # over the policy's limit per accident
    ({"amount": "NaN"}, "amount"),
])
def test_file_bad_input_names_the_field(iw, claim, kw, field):
    with pytest.raises(ValidationError) as e:
        services.claim_transition(iw.users["insurer"], claim.pk, "file", **kw)
    assert field in e.value.message_dict
    assert Claim.objects.get(pk=claim.pk).state == "suggested"


def test_file_with_unknown_persons_must_state_them(iw):
    entrapment(iw, iw.elevators["a1"], 3 * H, persons=None)
    services.claims_suggest()
    c = Claim.objects.get()
    with pytest.raises(ValidationError) as e:
        services.claim_transition(iw.users["insurer"], c.pk, "file")
    assert "persons" in e.value.message_dict
    assert services.claim_transition(iw.users["insurer"], c.pk, "file", persons=2).claimed_amount == Decimal(1000)


def test_unknown_action(iw, claim):
    with pytest.raises(ValidationError) as e:
        services.claim_transition(iw.users["insurer"], claim.pk, "approve")
    assert "action" in e.value.message_dict


@pytest.mark.parametrize("role,exc", [
    ("regulator", PermissionDenied), ("use_unit", PermissionDenied), ("maintenance_unit", PermissionDenied),
    ("operator", NotFound), ("inspection_agency", NotFound), ("nobody", NotFound),
])
def test_only_the_insurer_files(iw, claim, role, exc):
    with pytest.raises(exc):
        services.claim_transition(iw.users[role], claim.pk, "file")
    assert Claim.objects.get(pk=claim.pk).state == "suggested"


def test_another_insurer_cannot_see_or_file(iw, claim):
    from liftsafe.core.models import Role
    from liftsafe.testing import make_user

    other = make_user("insurer_b", Role.INSURER, organisation=iw.orgs[("insurer", "b")])
    with pytest.raises(NotFound):
        services.claim_transition(other, claim.pk, "file")


def _policy_kw(world, **kw):
    today = timezone.localdate()
    d = dict(insurer_id=world.orgs[("insurer", "a")].pk, policy_no="PDZA2026-001", insured_party_id=world.orgs[("use_unit", "a")].pk,
             start_date=today, end_date=today + dt.timedelta(days=364), limit_per_person="150000", limit_per_accident="1500000",
             elevator_ids=[world.elevators["a1"].pk, world.elevators["a2"].pk], premium="1300")
    d.update(kw)
    return d


def test_regulator_records_a_policy(world):
    p = services.policy_record(world.users["regulator"], **_policy_kw(world))
    assert set(p.elevators.values_list("pk", flat=True)) == {world.elevators["a1"].pk, world.elevators["a2"].pk}
    assert p.premium == Decimal("1300.00") and p.history.count() == 2  # created, then its lifts (m2m history)


@pytest.mark.parametrize("kw,field", [
    ({"insurer_id": None}, "insurer"),
    ({"insured_party_id": None}, "insured_party"),
    ({"policy_no": "  "}, "policy_no"),
    ({"policy_no": "x" * 65}, "policy_no"),
    ({"end_date": dt.date(2000, 1, 1)}, "end_date"),
    ({"elevator_ids": []}, "elevators"),
    ({"limit_per_person": None}, "limit_per_person"),
    ({"limit_per_person": "-5"}, "limit_per_person"),
    ({"limit_per_accident": "100"}, "limit_per_accident"),  # below the per-person limit
    ({"premium": "lots"}, "premium"),
])
def test_policy_bad_input(world, kw, field):
    with pytest.raises(ValidationError) as e:
        services.policy_record(world.users["regulator"], **_policy_kw(world, **kw))
    assert field in e.value.message_dict
    assert not Policy.objects.exists()


def test_policy_refuses_lifts_outside_scope_and_wrong_kinds(world):
    with pytest.raises(ValidationError) as e:
        services.policy_record(world.users["regulator"], **_policy_kw(world, elevator_ids=[world.elevators["b1"].pk]))
    assert "elevators" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.policy_record(world.users["regulator"], **_policy_kw(world, insurer_id=world.orgs[("use_unit", "a")].pk,
                                                                      insured_party_id=world.orgs[("insurer", "a")].pk))
    assert {"insurer", "insured_party"} <= set(e.value.message_dict)
    services.policy_record(world.users["regulator"], **_policy_kw(world))
    with pytest.raises(ValidationError) as e:
        services.policy_record(world.users["regulator"], **_policy_kw(world))
    assert "policy_no" in e.value.message_dict
    assert Policy.objects.count() == 1


@pytest.mark.parametrize("role", ["insurer", "use_unit", "maintenance_unit", "operator", "nobody"])
def test_only_regulators_record_policies(world, role):
    with pytest.raises(PermissionDenied):
        services.policy_record(world.users[role], **_policy_kw(world))
