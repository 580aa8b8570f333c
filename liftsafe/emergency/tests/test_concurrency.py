"""One open case per elevator under concurrency (database partial unique index + IntegrityError → attach)."""
import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from liftsafe.testing import make_world
from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase, Milestone


def test_database_refuses_a_second_open_case(world, t0):
    e = world.elevators["a1"]
    c = services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0).case
    with pytest.raises(IntegrityError), transaction.atomic():
        EmergencyCase.objects.create(elevator=e, order_number="X1", channel="iot", case_type="entrapment", received_at=t0)
    assert c.pk


def test_lost_race_attaches_instead_of_failing(world, t0, monkeypatch):
    """Simulate the race deterministically: the open-case lookup misses (as when the other transaction
    has not committed yet), the insert then hits the unique index and the alarm attaches."""
    e = world.elevators["a1"]
    first = services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0).case
    real_filter = EmergencyCase.objects.select_for_update().filter.__func__
    calls = {"n": 0}

    def blind_filter(qs, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 1 and kw.get("state__in"):
            return real_filter(qs, *a, **kw).none()
        return real_filter(qs, *a, **kw)

    monkeypatch.setattr(type(EmergencyCase.objects.all()), "filter", blind_filter)
    r = services.intake_alarm(e, channel="car_alarm", case_type="entrapment", received_at=t0 + dt.timedelta(seconds=1))
    assert not r.created and r.case.pk == first.pk and calls["n"] >= 2
    monkeypatch.undo()
    assert EmergencyCase.objects.filter(elevator=e).count() == 1
    assert Milestone.objects.filter(case=first, kind="call_attached").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_alarms_open_one_case_per_elevator():
    """Real parallel threads (own connections) hammering 2 elevators; PostgreSQL required
    (SQLite serialises writers, covered by the test above)."""
    from liftsafe.conftest import postgresql_only

    postgresql_only()
    w = make_world()
    els = [w.elevators["a1"], w.elevators["a2"], w.elevators["b1"], w.elevators["b2"]]
    t0 = timezone.now() - dt.timedelta(minutes=5)
    barrier = threading.Barrier(32)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait()
            e = els[i % 4]
            r = services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0 + dt.timedelta(milliseconds=i),
                                      idempotency_key=f"k{i // 8}-{i % 4}")  # each key sent twice
            if r.case.level == 0:
                services.dispatch_case(None, r.case, 1)
            results.append((e.pk, r.case.pk, r.created, r.duplicate))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 32
    for e in els:
        cases = EmergencyCase.objects.filter(elevator=e)
        assert cases.count() == 1
        case = cases.get()
        assert case.level == 1 and case.milestones.filter(kind="dispatched").count() == 1
        ms = case.milestones.filter(kind__in=["received", "call_attached"]).count()
        keys = {f"k{i // 8}-{i % 4}" for i in range(32) if els[i % 4] == e}
        assert ms == len(keys)  # every distinct submission recorded once, duplicates not
    assert sum(1 for r in results if r[2]) == 4
    assert sum(1 for r in results if r[3]) == 32 - 16  # every second copy of a key is a duplicate


@pytest.mark.django_db(transaction=True)
def test_two_workers_escalate_once():
    """Two escalation jobs running at the same instant (own connections) escalate each late case once."""
    from liftsafe.conftest import postgresql_only

    postgresql_only()
    w = make_world()
    t0 = timezone.now() - dt.timedelta(hours=1)
    for key in ("a1", "a2", "b1"):
        c = services.intake_alarm(w.elevators[key], channel="iot", case_type="entrapment", received_at=t0).case
        services.dispatch_case(None, c, 1, at=t0 + dt.timedelta(seconds=5))
    now = timezone.now()
    barrier = threading.Barrier(4)
    counts, errors = [], []

    def job():
        try:
            barrier.wait()
            counts.append(services.escalate_late_cases(now=now))
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(counts) == 3
    assert Milestone.objects.filter(kind="escalated").count() == 3
    assert set(EmergencyCase.objects.values_list("level", flat=True)) == {2}
