"""Visit services through their real paths: check-in, items, check-out, offline, countersign, freeze, chain."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from liftsafe.conftest import postgresql_only
from liftsafe.core.errors import Conflict, NotFound, PermissionDenied
from liftsafe.core.models import Role
from liftsafe.testing import make_user
from liftsafe.maintenance import services
from liftsafe.maintenance.models import Certificate, Visit

pytestmark = pytest.mark.django_db(transaction=False)

HERE = dict(latitude=32.0401, longitude=118.7901, accuracy_m=8.0)


def complete(w, visit=None, results=None, backdate_checkin_min=40):
    v = visit or w.visit
    user = w.users["maintenance_unit"]
    services.visit_check_in(user, v.pk, code="100001", method="qr", worker2_id=w.users["worker2"].pk, device_id="phone-1", **HERE)
    services.visit_join(w.users["worker2"], v.pk, device_id="phone-2")
    services.visit_record_items(user, v.pk, results or {"A-1-29": {"r": "normal", "value": 9}})
    # a real visit lasts: move the check-in back (not frozen yet, a plain update is allowed)
    Visit.objects.filter(pk=v.pk).update(checked_in_at=timezone.now() - dt.timedelta(minutes=backdate_checkin_min))
    return services.visit_check_out(user, v.pk)


def test_full_visit_countersign_freeze_and_verify(mw):
    v = complete(mw)
    assert v.state == "checked_out" and v.flags == [] and v.results["A-1-29"]["value"] == 9
    v = services.visit_countersign(mw.users["use_unit"], v.pk)
    assert v.frozen and v.chain_seq == 1 and v.prev_hash == "" and len(v.content_hash) == 64
    v2 = Visit.objects.create(elevator=v.elevator, maintenance_unit=v.maintenance_unit, tier="quarterly")
    complete(mw, v2)
    v2 = services.visit_countersign(mw.users["use_unit"], v2.pk)
    assert v2.chain_seq == 2 and v2.prev_hash == v.content_hash
    rep = services.verify_chain(v.elevator)
    assert rep.ok and rep.checked == 2


def test_check_in_with_wrong_code_names_the_field(mw):
    with pytest.raises(ValidationError) as e:
        services.visit_check_in(mw.users["maintenance_unit"], mw.visit.pk, code="999999")
    assert "code" in e.value.message_dict
    # a QR URL ending with the rescue code works
    v = services.visit_check_in(mw.users["maintenance_unit"], mw.visit.pk, code="https://x.example/q/100001", method="qr")
    assert v.state == "checked_in" and v.check_in_method == "qr" and "no_location" in v.flags


def test_item_not_in_the_lifts_annex_is_refused_naming_the_item(mw):
    u = mw.users["maintenance_unit"]
    services.visit_check_in(u, mw.visit.pk, code="100001")
    for bad in ({"D-1-01": {"r": "normal"}}, {"A-2-01": {"r": "normal"}}):  # escalator item; quarterly item on a half-monthly visit
        with pytest.raises(ValidationError) as e:
            services.visit_record_items(u, mw.visit.pk, bad)
        assert list(e.value.message_dict) == [f"results.{next(iter(bad))}"]
    with pytest.raises(ValidationError) as e:
        services.visit_record_items(u, mw.visit.pk, {"A-1-03": {"r": "abnormal"}})
    assert e.value.message_dict["results.A-1-03"] == [gettext("an abnormal item needs a note and what was done")]
    with pytest.raises(ValidationError):
        services.visit_record_items(u, mw.visit.pk, {"A-1-29": {"r": "normal", "value": "seven"}})
    assert Visit.objects.get(pk=mw.visit.pk).results == {}


def test_countersign_twice_refused(mw):
    v = complete(mw)
    services.visit_countersign(mw.users["use_unit"], v.pk)
    with pytest.raises(Conflict) as e:
        services.visit_countersign(mw.users["use_unit"], v.pk)
    assert "state" in e.value.message_dict


def test_countersign_by_wrong_organisation_or_role_refused(mw):
    v = complete(mw)
    with pytest.raises(PermissionDenied):  # the maintenance unit signing "on behalf"
        services.visit_countersign(mw.users["maintenance_unit"], v.pk)
    other = make_user("other_use", Role.USE_UNIT, organisation=mw.orgs[("use_unit", "b")])
    with pytest.raises(NotFound):  # another use unit cannot even see the lift
        services.visit_countersign(other, v.pk)
    # a use-unit account that sees the lift but is not its use unit: move the lift to B's use unit
    v.elevator.use_unit = mw.orgs[("use_unit", "b")]
    v.elevator.save()
    with pytest.raises(NotFound):  # the former use unit no longer sees (nor signs) it
        services.visit_countersign(mw.users["use_unit"], v.pk)
    assert not Visit.objects.get(pk=v.pk).frozen


def test_frozen_record_refuses_every_write_path(mw):
    v = services.visit_countersign(mw.users["use_unit"], complete(mw).pk)
    with pytest.raises(ValidationError):
        Visit.objects.filter(pk=v.pk).update(tier="yearly")
    with pytest.raises(ValidationError):
        Visit.objects.filter(elevator=v.elevator).delete()
    v.tier = "yearly"
    with pytest.raises(ValidationError):
        v.save()
    with pytest.raises(ValidationError):
        Visit.objects.get(pk=v.pk).delete()
    with pytest.raises(ValidationError):
        services.visit_record_items(mw.users["maintenance_unit"], v.pk, {"A-1-01": {"r": "normal"}})
    assert Visit.objects.get(pk=v.pk).tier == "half_monthly"
    corr = services.visit_correct(mw.users["maintenance_unit"], v.pk)
    assert corr.corrects_id == v.pk and corr.state == "planned"


def test_postgres_trigger_refuses_raw_sql_on_frozen_row(mw):
    postgresql_only()  # the trigger exists on PostgreSQL only
    from django.db import DatabaseError
    v = services.visit_countersign(mw.users["use_unit"], complete(mw).pk)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("UPDATE maintenance_visit SET tier = 'yearly' WHERE id = %s", [v.pk])


def test_tampering_breaks_the_chain(mw):
    v1 = services.visit_countersign(mw.users["use_unit"], complete(mw).pk)
    v2 = Visit.objects.create(elevator=v1.elevator, maintenance_unit=v1.maintenance_unit, tier="half_monthly")
    services.visit_countersign(mw.users["use_unit"], complete(mw, v2).pk)
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("SET LOCAL session_replication_role = replica")  # a DBA bypassing the trigger
        c.execute("UPDATE maintenance_visit SET abnormal_count = 3 WHERE id = %s", [v1.pk])
        if connection.vendor == "postgresql":
            c.execute("SET LOCAL session_replication_role = origin")
    rep = services.verify_chain(v1.elevator)
    assert not rep.ok and rep.broken_at == 1 and rep.visit_id == v1.pk and "content" in rep.reason


def test_evidence_flags_never_block(mw):
    u = mw.users["maintenance_unit"]
    Certificate.objects.filter(user=u).update(valid_until=dt.date(2021, 1, 1))  # expired certificate
    services.visit_check_in(u, mw.visit.pk, code="100001", worker2_id=mw.users["worker2"].pk, device_id="same",
                            latitude=32.085, longitude=118.79, accuracy_m=10)
    services.visit_join(mw.users["worker2"], mw.visit.pk, device_id="same")
    v = services.visit_check_out(u, mw.visit.pk)  # seconds later
    assert v.state == "checked_out"
    assert {"short_dwell", "far_from_lift", "one_device", "expired_certificate"} <= set(v.flags)
    assert "no_valid_certificate" not in v.flags  # worker2's certificate is valid


def offline(w, client_id="c-1", started=None, **kw):
    started = started or timezone.now() - dt.timedelta(minutes=50)
    return services.visit_submit_offline(w.users["maintenance_unit"], client_id=client_id, elevator_id=w.elevators["a1"].pk,
                                         tier="half_monthly", started_at=started, code="100001",
                                         worker2_id=w.users["worker2"].pk, results={"A-1-01": {"r": "normal"}}, **HERE, **kw)


def test_offline_submission_three_times_is_one_visit(mw):
    outs = [offline(mw) for _ in range(3)]
    assert [c for _v, c in outs] == [True, False, False]
    assert Visit.objects.filter(client_id="c-1").count() == 1
    v = outs[0][0]
    assert v.checked_in_at >= v.claimed_started_at  # server time, not the phone's


def test_offline_future_refused_and_backfill_flagged(mw):
    with pytest.raises(ValidationError) as e:
        offline(mw, client_id="f", started=timezone.now() + dt.timedelta(days=1))
    assert "started_at" in e.value.message_dict
    assert not Visit.objects.filter(client_id="f").exists()
    v, created = offline(mw, client_id="b", started=timezone.now() - dt.timedelta(days=3))
    assert created and "back_filled" in v.flags and v.state == "checked_out"


def test_plan_is_idempotent_and_never_after_the_due_date(mw):
    unit = mw.orgs[("maintenance_unit", "a")]
    Visit.objects.all().delete()
    r1 = services.visit_plan(unit, today=dt.date(2025, 9, 25))
    r2 = services.visit_plan(unit, today=dt.date(2025, 9, 25))
    assert r1.created == 2 and r2.created == 0 and r2.existing == 2  # a1, a2 (b2's A contract ended)
    assert set(Visit.objects.values_list("elevator__source_id", flat=True)) == {"A1", "A2"}
    # a lift last visited 2025-09-20 is due 2025-10-05 (National Day): planned on the last working day before
    Visit.objects.all().delete()
    Visit.objects.create(elevator=mw.elevators["a1"], maintenance_unit=unit, tier="yearly", state="checked_out",
                         checked_in_at=dt.datetime(2025, 9, 20, 9, tzinfo=dt.timezone.utc),
                         checked_out_at=dt.datetime(2025, 9, 20, 10, tzinfo=dt.timezone.utc))
    services.visit_plan(unit, today=dt.date(2025, 9, 25))
    p = Visit.objects.get(elevator=mw.elevators["a1"], state="planned")
    assert p.planned_date == dt.date(2025, 9, 30) and p.tier == "half_monthly"


def test_local_item_is_in_the_checklist_and_accepted(mw):
    from liftsafe.maintenance import catalogue
    from liftsafe.maintenance.models import LocalItem

    LocalItem.objects.create(code="A-L-01", annex="A", tier="half_monthly", location="car", text="门机皮带张紧 (local)", unit="mm")
    assert "A-L-01" in {i.code for i in catalogue.items_for("A", "half_monthly")}
    assert len(catalogue.items_for("A", "half_monthly")) == 32
    u = mw.users["maintenance_unit"]
    services.visit_check_in(u, mw.visit.pk, code="100001")
    v = services.visit_record_items(u, mw.visit.pk, {"A-L-01": {"r": "adjusted", "value": 3}})
    assert v.results["A-L-01"]["r"] == "adjusted"


def test_plan_says_when_the_calendar_is_not_published(mw):
    import io

    from django.core.management import call_command

    Visit.objects.all().delete()
    r = services.visit_plan(mw.orgs[("maintenance_unit", "a")], today=dt.date(2031, 3, 3))
    assert r.created == 2 and r.calendar_unknown_years == {2031}
    Visit.objects.all().delete()
    out = io.StringIO()
    call_command("maintenance_plan", stdout=out)
    call_command("maintenance_plan", stdout=out)  # idempotent: the second run plans nothing
    assert out.getvalue().splitlines()[1].startswith("0 visits planned")
