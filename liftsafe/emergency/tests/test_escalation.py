"""Escalation on the legal clock, with a controlled clock (``now``) — docs/domain §3.4."""
import datetime as dt

from liftsafe.core.models import Notification
from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase
from liftsafe.rules import rule

S = dt.timedelta(seconds=1)


def _dispatched(world, t0):
    op = world.users["operator"]
    c = services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0,
                              actor=op, trapped_count=1).case
    return services.dispatch_case(op, c, 1, at=t0 + 10 * S)


def test_no_response_escalates_exactly_at_the_limit_and_once(world, t0):
    c = _dispatched(world, t0)
    limit = rule("dispatch_response_limit_s")
    assert limit == 180
    d0 = t0 + 10 * S
    assert services.escalate_late_cases(now=d0 + (limit - 1) * S) == 0
    assert services.escalate_late_cases(now=d0 + limit * S) == 1
    assert services.escalate_late_cases(now=d0 + limit * S) == 0  # idempotent
    assert services.escalate_late_cases(now=d0 + (limit + 30) * S) == 0
    c = EmergencyCase.objects.get(pk=c.pk)
    assert c.level == 2 and c.responder == world.orgs[("rescue_station", "a")] and c.state == "dispatched"
    esc = c.milestones.get(kind="escalated")
    assert esc.data["reason"] == "no_response" and esc.level == 1 and esc.data["to_level"] == 2
    # the regulator of the area is notified, once; the new responder gets a dispatch notification
    n = Notification.objects.filter(kind="emergency.escalated")
    assert n.count() == 1 and n.get().area == world.district_a
    assert Notification.objects.filter(kind="emergency.dispatched", organisation=world.orgs[("rescue_station", "a")]).count() == 1
    # level 2 does not respond either → level 3 (fire brigade), then nothing more to escalate to
    assert services.escalate_late_cases(now=d0 + (2 * limit) * S) == 1
    c.refresh_from_db()
    assert c.level == 3 and c.responder == world.orgs[("fire_brigade", "city")]
    assert services.escalate_late_cases(now=d0 + (3 * limit) * S) == 1  # level 3 late: regulator told once
    assert services.escalate_late_cases(now=d0 + (4 * limit) * S) == 0
    c.refresh_from_db()
    assert c.level == 3 and c.milestones.filter(kind="escalated").count() == 3


def test_response_in_time_then_no_arrival_escalates_at_the_arrival_limit(world, t0):
    c = _dispatched(world, t0)
    services.record_milestone(world.users["maintenance_unit"], c, "responded", at=t0 + 60 * S)
    d0 = t0 + 10 * S
    urban = rule("rescue_arrival_limit_urban_s")
    assert services.escalate_late_cases(now=d0 + 600 * S) == 0
    assert services.escalate_late_cases(now=d0 + (urban - 1) * S) == 0
    assert services.escalate_late_cases(now=d0 + urban * S) == 1
    c.refresh_from_db()
    assert c.level == 2 and c.milestones.get(kind="escalated").data["reason"] == "no_arrival"


def test_non_urban_elevator_gets_the_60_minute_limit(world, t0):
    e = world.elevators["a1"]
    e.urban = False
    e.save()
    c = _dispatched(world, t0)
    services.record_milestone(world.users["maintenance_unit"], c, "responded", at=t0 + 60 * S)
    d0 = t0 + 10 * S
    assert services.escalate_late_cases(now=d0 + 45 * 60 * S) == 0
    assert services.escalate_late_cases(now=d0 + 60 * 60 * S) == 1


def test_arrived_released_and_non_entrapment_cases_do_not_escalate(world, t0):
    c = _dispatched(world, t0)
    services.record_milestone(world.users["maintenance_unit"], c, "arrived", at=t0 + 60 * S)
    op = world.users["operator"]
    f = services.intake_alarm(world.elevators["a2"], channel="phone_96333", case_type="fault_report", received_at=t0, actor=op).case
    services.dispatch_case(op, f, 1, at=t0 + S)
    assert services.escalate_late_cases(now=t0 + 5 * 3600 * S) == 0


def test_rule_override_changes_the_clock(world, t0, settings):
    settings.LIFTSAFE_RULES = {"dispatch_response_limit_s": 60}
    _dispatched(world, t0)
    assert services.escalate_late_cases(now=t0 + 70 * S) == 1


def test_periodic_job_is_registered():
    from liftsafe.core.tasks import discover

    names = {j.name: j for j in discover()}
    assert names["emergency.escalate_late_cases"].seconds == 15
    assert names["core.deliver_notifications"].seconds <= 10
    assert names["emergency.demo_stream"].demo_only


def test_escalation_reason_shown_as_label_on_regulator_and_case_pages(client, world, t0):
    from django.urls import reverse

    c = _dispatched(world, t0)
    assert services.escalate_late_cases(now=t0 + 10 * S + rule("dispatch_response_limit_s") * S) == 1
    client.cookies["django_language"] = "zh-hans"
    client.force_login(world.users["regulator"])
    html = client.get(reverse("emergency:regulator")).content.decode()
    assert "<td>未响应</td>" in html and "no_response" not in html
    client.force_login(world.users["operator"])
    html = client.get(reverse("emergency:case_detail", args=[c.pk])).content.decode()
    assert "· 未响应" in html and "· 升级：未响应" in html and "no_response" not in html
