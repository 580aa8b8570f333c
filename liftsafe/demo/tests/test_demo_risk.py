"""The demo's risk step on the small NYC test world: every lift gets a colour, more than one colour, idempotent."""
from __future__ import annotations

from collections import Counter

from liftsafe.demo import services as demo
from liftsafe.demo.risk import compute_risk
from liftsafe.demo.tests.test_demo import nyc  # noqa: F401  (the small NYC fixture)
from liftsafe.registry.models import Elevator
from liftsafe.risk.compute import recompute
from liftsafe.risk.models import RiskChange, RiskScore


def test_demo_risk_spread_and_idempotent(nyc):  # noqa: F811
    demo.generate()
    Elevator.objects.filter(source_id__in=["1P00001", "1P00002", "1P00003"]).update(installation_date="1990-01-01")
    RiskScore.objects.all().delete()
    recompute([Elevator.objects.first().pk], trigger="test")  # one lift scored by a flow before the demo step
    first = compute_risk()
    assert first["lifts"] == Elevator.objects.count() == RiskScore.objects.count()
    colours = Counter(RiskScore.objects.values_list("colour", flat=True))
    assert len(colours) >= 2, colours
    assert RiskScore.objects.filter(replacement=True).count() == 3
    n = RiskChange.objects.count()
    again = compute_risk()  # a restarted demo keeps the scores
    assert again["changed"] == 0 and RiskChange.objects.count() == n and again["lifts"] == first["lifts"]
    forced = compute_risk(again=True)  # the full recompute itself writes no history for unchanged lifts
    assert forced["changed"] == 0 and RiskChange.objects.count() == n
