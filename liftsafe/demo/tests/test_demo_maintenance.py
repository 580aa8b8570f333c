"""The generated maintenance history, policies and long entrapments (liftsafe/demo/maintenance.py) on the test world."""
import datetime as dt

from django.utils import timezone

from liftsafe.demo import maintenance as dm
from liftsafe.insurance import domain as ins_domain
from liftsafe.insurance.models import Claim, Policy
from liftsafe.maintenance import selectors as ms
from liftsafe.maintenance.models import Visit
from liftsafe.testing import make_elevator


def _fleet(world, n=60):
    """The world plus ``n`` more in-use lifts of district A with a contract, use unit and insurer."""
    from liftsafe.registry.models import MaintenanceContract

    for i in range(n):
        e = make_elevator(f"F{i}", world.district_a, use_unit=world.orgs[("use_unit", "a")], insurer=world.orgs[("insurer", "a")],
                          latitude=32.04, longitude=118.79)
        MaintenanceContract.objects.create(elevator=e, maintenance_unit=world.orgs[("maintenance_unit", "a" if i % 2 else "b")],
                                           start_date=dt.date(2020, 1, 1))
    return world


def test_visits_are_realistic_and_idempotent(world):
    _fleet(world)
    n = dm.generate_visits()
    assert n > 0 and Visit.objects.filter(generated=True).count() == n and not Visit.objects.filter(generated=False).exists()
    assert dm.generate_visits() == 0 and Visit.objects.count() == n
    today = timezone.localdate()
    for v in Visit.objects.all()[:200]:
        assert v.state == "checked_out" and v.checked_out_at > v.checked_in_at and v.planned_date <= today
        assert v.flags in ([], ["short_dwell"], ["far_from_lift"])
        if v.flags == ["short_dwell"]:
            assert (v.checked_out_at - v.checked_in_at).total_seconds() == 30
    assert Visit.history.filter(history_type="+").count() == n
    # not "everything overdue": most lifts were visited within 15 days
    overdue = ms.overdue_lifts(world.users["admin"]).count()
    total = Visit.objects.values("elevator").distinct().count()
    assert 0 <= overdue < total / 2


def test_policies_cover_most_lifts_with_gaps(world):
    _fleet(world)
    made, covered = dm.generate_policies()
    assert made > 0 and covered > 0
    assert dm.generate_policies() == (0, 0)
    assert Policy.objects.filter(generated=True).count() == made
    from liftsafe.registry.models import Elevator

    ids = list(Elevator.objects.values_list("id", flat=True))
    assert len(ins_domain.in_force(ids)) == covered  # the log's count is the domain's fact
    # policies are annual and never overlap within one group
    for p in Policy.objects.all():
        assert (p.end_date - p.start_date).days in (364, 365)


def test_long_entrapments_give_claim_suggestions(world):
    _fleet(world)
    dm.generate_policies()
    insured = Policy.objects.filter(end_date__gte=timezone.localdate(), start_date__lte=timezone.localdate() - dt.timedelta(days=30))
    if not insured.exists():  # every group's anniversary fell in the last 30 days: make one older
        p = Policy.objects.first()
        Policy.objects.filter(pk=p.pk).update(start_date=timezone.localdate() - dt.timedelta(days=100),
                                              end_date=timezone.localdate() + dt.timedelta(days=200))
    r = dm.generate()
    assert r.cases == dm.ENTRAPMENTS and r.claims > 0
    assert Claim.objects.filter(state="suggested").count() == r.claims
    again = dm.generate()
    assert (again.visits, again.policies, again.claims) == (0, 0, 0) and Claim.objects.count() == r.claims
