"""Rating services on the test world: drafts from real platform facts with evidence, a unit with no lifts, publication
and the objection window, reviewer ≠ scorer, reply, versions kept, hard rules → credit lists → use units notified,
lifting after the management period, and the effects other apps read (docs/domain §9, §15.4)."""
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from liftsafe.core.models import Notification
from liftsafe.core.errors import NotFound
from liftsafe.emergency import services as em
from liftsafe.emergency.models import EmergencyCase
from liftsafe.inspection.models import InspectionRecord
from liftsafe.rating import domain, selectors, services
from liftsafe.rating.models import CreditEntry, Rating
from liftsafe.registry.models import Organisation


@pytest.fixture
def last_month():
    first = timezone.localdate().replace(day=1)
    end = first - dt.timedelta(days=1)
    return end.replace(day=15)


def _late_entrapment(world, on: dt.date):
    at = timezone.make_aware(dt.datetime.combine(on, dt.time(12, 0)))
    res = em.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=at, trapped_count=1)
    em.dispatch_case(world.users["admin"], res.case, 1)
    EmergencyCase.objects.filter(pk=res.case.pk).update(dispatched_at=at + dt.timedelta(minutes=1))  # never arrived
    return res.case


def _run(world, sheet, on, user="regulator"):
    return {r.unit_id: r for r in services.rating_run(world.users[user], sheet_code=sheet, on=on)}


def test_run_drafts_units_of_the_area_with_evidence(world, last_month):
    case = _late_entrapment(world, last_month)
    empty = Organisation.objects.create(kind="maintenance_unit", name="no lifts unit", area=world.district_a)
    rs = _run(world, "city_monthly", last_month)
    unit_a = world.orgs[("maintenance_unit", "a")]
    assert set(rs) == {unit_a.pk, empty.pk}  # B's unit is outside district A's regulator
    r = rs[unit_a.pk]
    assert r.state == "draft" and r.rated and r.sample == 2
    late = next(i for i in r.items if i["code"] == "late_arrival")
    assert late["value"] == 1 and late["points"] == -10
    assert [e["id"] for e in late["evidence"]] == [case.pk] and late["evidence"][0]["url"].endswith(f"/cases/{case.pk}/")
    assert next(i for i in r.items if i["code"] == "duty_phone")["value"] is None  # not recorded by the platform
    # a unit with no lifts: not rated, never a perfect score
    n = rs[empty.pk]
    assert not n.rated and n.grade == "" and n.score is None and n.sample == 0
    # rerun recomputes the draft (one row, a new version)
    again = _run(world, "city_monthly", last_month)[unit_a.pk]
    assert again.pk == r.pk and again.version == 2 and Rating.objects.filter(unit=unit_a).count() == 1


def test_run_refuses_bad_input(world, last_month):
    with pytest.raises(ValidationError) as e:
        services.rating_run(world.users["regulator"], sheet_code="nope", on=last_month)
    assert "sheet" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.rating_run(world.users["regulator"], sheet_code="city_monthly", on=timezone.localdate() + dt.timedelta(days=40))
    assert "on" in e.value.message_dict
    with pytest.raises(NotFound):
        services.rating_run(world.users["regulator"], sheet_code="city_monthly", on=last_month,
                            unit_ids=[world.orgs[("maintenance_unit", "b")].pk])
    for role in ("maintenance_unit", "operator", "use_unit"):
        with pytest.raises(PermissionDenied):
            services.rating_run(world.users[role], sheet_code="city_monthly", on=last_month)


def _published(world, last_month, today=None):
    r = _run(world, "city_monthly", last_month)[world.orgs[("maintenance_unit", "a")].pk]
    return services.rating_publish(world.users["regulator"], r.pk, today=today)


def test_due_process_objection_review_reply(world, last_month):
    mu, reg, city = world.users["maintenance_unit"], world.users["regulator"], world.users["city_regulator"]
    pub_day = dt.date(2025, 9, 30)
    r = _published(world, last_month, today=pub_day)
    assert r.state == "published" and r.objection_until == pub_day + dt.timedelta(days=21) and r.objection_basis == "calendar"
    # the unit sees its published rating; drafts of it never
    assert selectors.ratings_for(mu).filter(pk=r.pk).exists()
    with pytest.raises(ValidationError) as e:  # after the window
        services.objection_file(mu, r.pk, text="late", today=dt.date(2025, 10, 22))
    assert "filed_at" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.objection_file(mu, r.pk, text="   ", today=dt.date(2025, 10, 21))
    assert "text" in e.value.message_dict
    with pytest.raises(PermissionDenied):
        services.objection_file(world.users["use_unit"], r.pk, text="not mine", today=dt.date(2025, 10, 1))
    o = services.objection_file(mu, r.pk, text="The late arrival was a power cut.", today=dt.date(2025, 10, 21))  # last day
    assert o.decide_by > dt.date(2025, 10, 21)
    r.refresh_from_db()
    assert r.state == "objected"
    with pytest.raises(PermissionDenied):  # the scorer may not review
        services.objection_decide(reg, r.pk, decision="upheld", reasons="fine")
    with pytest.raises(ValidationError) as e:
        services.objection_decide(city, r.pk, decision="revised", reasons="ok", revised_grade="Z")
    assert "revised_grade" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.objection_decide(city, r.pk, decision="upheld", reasons="")
    assert "reasons" in e.value.message_dict
    old_grade = r.grade
    new_grade = "A" if old_grade != "A" else "B"
    services.objection_decide(city, r.pk, decision="revised", reasons="Power cut verified.", revised_grade=new_grade)
    r.refresh_from_db()
    assert r.state == "decided" and r.grade == new_grade
    assert Notification.objects.filter(kind="rating.objection_filed", area=r.area).count() == 1
    assert Notification.objects.filter(kind="rating.objection_decided", organisation=r.unit).count() == 1
    services.rating_reply(mu, r.pk, text="We have added a second duty phone.")
    r.refresh_from_db()
    assert r.reply.startswith("We have added")
    # every version kept: drafted, published, objected, decided, replied
    grades = list(r.history.order_by("history_date").values_list("grade", flat=True))
    assert old_grade in grades and grades[-1] == new_grade and r.history.count() >= 5
    # the public projection: whitelisted fields only, the reply next to the grade
    row = next(p for p in selectors.public_ratings() if p["unit_name"] == r.unit.name)
    assert set(row) == set(selectors.PUBLIC_FIELDS) and row["grade"] == new_grade and row["reply"] == r.reply
    with pytest.raises(ValidationError):  # a second objection: the state no longer allows it
        services.objection_file(mu, r.pk, text="again", today=dt.date(2025, 10, 2))


def test_window_in_working_days(world, last_month, settings):
    settings.LIFTSAFE_RULES = {"rating_objection_day_basis": "working", "rating_objection_days": 3}
    r = _published(world, last_month, today=dt.date(2025, 9, 30))
    assert r.objection_until == dt.date(2025, 10, 11) and r.objection_basis == "working"
    with pytest.raises(ValidationError):
        services.objection_file(world.users["maintenance_unit"], r.pk, text="x", today=dt.date(2025, 10, 12))
    services.objection_file(world.users["maintenance_unit"], r.pk, text="x", today=dt.date(2025, 10, 11))


def test_drafts_are_not_public_and_not_the_units(world, last_month):
    r = _run(world, "city_monthly", last_month)[world.orgs[("maintenance_unit", "a")].pk]
    assert not selectors.ratings_for(world.users["maintenance_unit"]).filter(pk=r.pk).exists()
    assert selectors.public_ratings() == []
    assert domain.published_grade(r.unit_id) is None
    for role in ("maintenance_unit", "use_unit", "operator"):
        with pytest.raises((PermissionDenied, NotFound)):
            services.rating_publish(world.users[role], r.pk)


def test_hard_rule_blacklists_notifies_use_units_and_lifting(world):
    year = timezone.localdate().year - 1
    for key in ("a1", "a2"):
        InspectionRecord.objects.create(elevator=world.elevators[key], kind="periodic", inspected_on=dt.date(year, 5, 10), conclusion="fail")
    unit = world.orgs[("maintenance_unit", "a")]
    r = _run(world, "fujian_yearly", dt.date(year, 6, 1))[unit.pk]
    first = next(i for i in r.items if i["code"] == "first_pass")
    assert first["value"] == 0 and first["points"] == 20 and len(first["evidence"]) == 2
    assert {h["list"] for h in r.hard_hits} == {"bad_credit", "blacklist"}
    assert not CreditEntry.objects.exists()  # drafts list nobody
    services.rating_publish(world.users["regulator"], r.pk, today=dt.date(year, 12, 31))
    entries = {e.kind: e for e in CreditEntry.objects.filter(unit=unit)}
    assert set(entries) == {"bad_credit", "blacklist"}
    notes = Notification.objects.filter(kind="rating.blacklisted")
    assert [n.organisation_id for n in notes] == [world.orgs[("use_unit", "a")].pk]
    assert domain.bars_on_demand(unit.pk)
    bl = entries["blacklist"]
    mu = world.users["maintenance_unit"]
    with pytest.raises(ValidationError) as e:  # before the management period ends
        services.credit_apply_lift(mu, bl.pk, text="rectified", today=dt.date(year, 12, 31) + dt.timedelta(days=100))
    assert "applied_at" in e.value.message_dict
    later = dt.date(year, 12, 31) + dt.timedelta(days=366)
    services.credit_apply_lift(mu, bl.pk, text="rectified", today=later)
    with pytest.raises(PermissionDenied):
        services.credit_decide_lift(mu, bl.pk, approve=True, reasons="self")
    services.credit_decide_lift(world.users["city_regulator"], bl.pk, approve=True, reasons="one year without repeat", today=later)
    bl.refresh_from_db()
    assert bl.state == "lifted" and bl.lifted_on == later and bl.history.count() == 3
    assert CreditEntry.objects.filter(pk=bl.pk).exists()  # kept, never deleted


def test_published_grade_and_bars_on_demand(world, last_month, settings):
    unit = world.orgs[("maintenance_unit", "a")]
    r = _published(world, last_month, today=last_month + dt.timedelta(days=20))
    assert domain.published_grade(unit.pk, on=last_month) is None  # before publication
    assert domain.published_grade(unit.pk, on=last_month + dt.timedelta(days=20)) == r.grade
    Rating.objects.filter(pk=r.pk).update(grade="C")
    assert domain.bars_on_demand(unit.pk)
    Rating.objects.filter(pk=r.pk).update(grade="B")
    assert not domain.bars_on_demand(unit.pk)
    settings.LIFTSAFE_RULES = {"rating_bars_on_demand_grades": ["B", "C", "D"]}
    assert domain.bars_on_demand(unit.pk)


def test_sheet_save_validates(world):
    from liftsafe.rating.sheets import FUJIAN_YEARLY

    cfg = dict(FUJIAN_YEARLY, code="my_sheet", bands=[{"grade": "A", "min": None, "max": 10}, {"grade": "D", "min": 11, "max": None}])
    with pytest.raises(ValidationError) as e:
        services.sheet_save(world.users["regulator"], cfg)
    assert "bands[1].min" in e.value.message_dict
    with pytest.raises(PermissionDenied):
        services.sheet_save(world.users["maintenance_unit"], dict(FUJIAN_YEARLY, code="x"))
    s = services.sheet_save(world.users["regulator"], dict(FUJIAN_YEARLY, code="my_sheet", name="Mine"))
    assert s.config["code"] == "my_sheet" and s.history.count() == 1
