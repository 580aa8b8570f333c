"""Regression (issue 10, defect 4): one definition of "entrapment" (liftsafe.emergency.domain). Three entrapment
calls closed as false alarms raise no hazard lead "3 entrapments in 90 days" and count 0 in the reports;
three real ones raise the lead and count 3."""
from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from liftsafe.testing import make_elevator
from liftsafe.emergency import domain
from liftsafe.hazards.models import Hazard
from liftsafe.hazards.tasks import entrapment_leads_job
from liftsafe.reports import selectors as S


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _three_calls(world, key: str, close_as: str, start: dt.datetime) -> list[int]:
    """Three entrapment calls on elevator ``key`` through the emergency API, each closed with ``close_as``."""
    op = _client(world.users["operator"])
    ids = []
    for i in range(3):
        at = start + dt.timedelta(minutes=10 * i)
        r = op.post("/api/emergency/cases", {"elevator_id": world.elevators[key].pk, "channel": "phone_96333",
                                             "case_type": "entrapment", "received_at": at.isoformat()},
                    content_type="application/json")
        assert r.status_code == 201, r.content
        pk = r.json()["case"]["id"]
        steps = [{"kind": close_as}]
        if close_as == "completed":  # a real rescue: dispatched, responded, arrived, released, confirmed
            r = op.post(f"/api/emergency/cases/{pk}/dispatch", {"level": 1, "at": (at + dt.timedelta(minutes=1)).isoformat()},
                        content_type="application/json")
            assert r.status_code == 200, r.content
            steps = [{"kind": "responded"}, {"kind": "arrived"}, {"kind": "released", "released_count": 1}, {"kind": "completed"}]
        for j, step in enumerate(steps, start=2):
            r = op.post(f"/api/emergency/cases/{pk}/milestones", {**step, "at": (at + dt.timedelta(minutes=j)).isoformat()},
                        content_type="application/json")
            assert r.status_code == 201, r.content
        ids.append(pk)
    return ids


def test_false_alarms_are_not_entrapments_for_hazards_or_reports(world):
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    _three_calls(world, "a1", "false_alarm", start)
    assert entrapment_leads_job() == 0
    assert not Hazard.objects.filter(elevator=world.elevators["a1"], source="emergency").exists()
    month = timezone.localdate(start).strftime("%Y-%m")
    reg = _client(world.users["regulator"])
    d = reg.get("/api/reports/indicators", {"area": "320102", "period": month}).json()
    assert S.indicator(d, "entrapments")["value"] == 0 and S.indicator(d, "false_alarms")["value"] == 3

    # control: three real entrapments (the caller confirmed completion) on a2 raise the lead and count 3
    _three_calls(world, "a2", "completed", start)
    assert entrapment_leads_job() == 1
    lead = Hazard.objects.get(source="emergency")
    assert lead.elevator == world.elevators["a2"] and lead.extra["entrapments"] == 3
    d = reg.get("/api/reports/indicators", {"area": "320102", "period": month}).json()
    assert S.indicator(d, "entrapments")["value"] == 3 and S.indicator(d, "false_alarms")["value"] == 3


def test_predicates_and_query_expressions_agree(world):
    from liftsafe.emergency.models import CaseType, EmergencyCase, State

    now = timezone.now()
    made = []
    for i, (ct, st) in enumerate((ct, st) for ct in CaseType.values for st in State.values):
        e = make_elevator(f"D{i}", world.district_a)  # one open case per elevator
        made.append(EmergencyCase.objects.create(elevator=e, order_number=f"D{i}", channel="phone_96333", case_type=ct,
                                                 state=st, received_at=now))
    for pred, q in ((lambda c: domain.is_entrapment(c.case_type, c.state), domain.ENTRAPMENT_Q),
                    (lambda c: domain.is_fault(c.case_type, c.state), domain.FAULT_Q),
                    (lambda c: domain.is_false_alarm(c.state), domain.FALSE_ALARM_Q)):
        assert {c.pk for c in made if pred(c)} == set(EmergencyCase.objects.filter(q).values_list("pk", flat=True))
    assert domain.is_entrapment("entrapment", "completed") and not domain.is_entrapment("entrapment", "false_alarm")


def test_late_predicates_and_query_expressions_agree(world):
    from liftsafe.emergency.models import EmergencyCase

    now = timezone.now()
    resp, urban = domain.response_limit_s(), domain.arrival_limit_s(True)
    assert (urban, domain.arrival_limit_s(False)) == (30 * 60, 60 * 60)
    S_ = dt.timedelta(seconds=1)
    rows = [  # (urban, case type, dispatched, responded, arrived)
        (True, "entrapment", now - 10 * resp * S_, now - 10 * resp * S_ + (resp + 1) * S_, None),  # late response
        (True, "entrapment", now - 10 * resp * S_, now - 10 * resp * S_ + (resp - 1) * S_, None),  # on time, never arrived
        (True, "entrapment", now - (resp + 5) * S_, None, None),                                   # no response yet, late
        (True, "entrapment", now - 2 * urban * S_, None, now - 2 * urban * S_ + (urban + 1) * S_),  # late arrival (urban)
        (False, "fault_report", now - 2 * urban * S_, None, None),                                 # no arrival limit
        (False, "entrapment", now - 2 * urban * S_, None, now - 2 * urban * S_ + (urban + 1) * S_),  # within 60 min (other)
    ]
    made = []
    for i, (is_urban, ct, d, r, a) in enumerate(rows):
        e = make_elevator(f"L{i}", world.district_a, urban=is_urban)
        made.append(EmergencyCase.objects.create(elevator=e, order_number=f"L{i}", channel="iot", case_type=ct,
                                                 state="dispatched", received_at=d, dispatched_at=d, responded_at=r, arrived_at=a))
    py_resp = {c.pk for c in made if domain.is_late_response(c.dispatched_at, c.responded_at, now)}
    py_arr = {c.pk for c in made if domain.is_late_arrival(c.case_type, c.elevator.urban, c.dispatched_at, c.arrived_at, now)}
    assert py_resp == set(EmergencyCase.objects.filter(domain.late_response_q(now)).values_list("pk", flat=True))
    assert py_arr == set(EmergencyCase.objects.filter(domain.late_arrival_q(now)).values_list("pk", flat=True))
    assert [c.order_number for c in made if c.pk in py_resp] == ["L0", "L2", "L3", "L4", "L5"]
    assert [c.order_number for c in made if c.pk in py_arr] == ["L3"]  # urban 31 min late; other-area 31 min is in time
