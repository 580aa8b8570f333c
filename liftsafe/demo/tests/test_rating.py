"""The demo's ratings (liftsafe/demo/rating.py) on the small test world: every due-process state visible, computed
from the world's data (a failed inspection gives a real spread), idempotent."""
import datetime as dt

from django.utils import timezone

from liftsafe.emergency import services as em
from liftsafe.emergency.models import EmergencyCase
from liftsafe.demo.rating import load_ratings, rating_month
from liftsafe.inspection.models import InspectionRecord
from liftsafe.rating.models import Objection, Rating
from liftsafe.registry.models import MaintenanceContract, Organisation
from liftsafe.testing import make_elevator


def test_demo_ratings_show_every_state_and_spread(world):
    day = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=12)  # last month
    for key in ("a1", "a2"):
        InspectionRecord.objects.create(elevator=world.elevators[key], kind="periodic", inspected_on=day, conclusion="fail")
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(8, 0)))
    case = em.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=at).case
    em.dispatch_case(world.users["admin"], case, 1)
    EmergencyCase.objects.filter(pk=case.pk).update(dispatched_at=at)  # nobody arrived in time
    # two more units of the city with a clean record, and one with no lifts
    for i in range(3):
        u = Organisation.objects.create(kind="maintenance_unit", name=f"demo unit {i}", area=world.district_a)
        if i < 2:
            e = make_elevator(f"D{i}", world.district_a)
            MaintenanceContract.objects.create(elevator=e, maintenance_unit=u, start_date=dt.date(2020, 1, 1))
    assert rating_month(world.city) == day.replace(day=1)
    counts = load_ratings("city_regulator", password="x")
    rs = Rating.objects.filter(period_start=day.replace(day=1))
    states = set(rs.values_list("state", flat=True))
    assert {"draft", "published", "decided", "objected"} <= states, states
    assert len({r.grade for r in rs if r.rated}) >= 2  # real spread
    assert rs.filter(rated=False).exists()  # the unit with no lifts
    decided = rs.get(state="decided")
    o = Objection.objects.get(rating=decided)
    assert o.decided_by.username == "reviewer" and decided.reply
    assert load_ratings("city_regulator") == counts  # idempotent
    assert Objection.objects.count() == 2
