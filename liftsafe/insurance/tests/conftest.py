import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from liftsafe.insurance.models import Policy


def entrapment(world, elevator, trapped: dt.timedelta, *, persons: int | None = 2, ago: dt.timedelta = dt.timedelta(hours=1),
               trapped_count: int | None = None):
    """A real 96333 entrapment through the emergency services: received ``ago + trapped`` ago, dispatched,
    arrived and released ``ago`` ago with ``persons`` released (None: recorded as 0, not counted)."""
    from liftsafe.emergency import services as em

    released = timezone.now() - ago
    received = released - trapped
    res = em.intake_alarm(elevator, channel="phone_96333", case_type="entrapment", received_at=received,
                          trapped_count=trapped_count)
    admin = world.users["admin"]
    em.dispatch_case(admin, res.case, 1, at=received + dt.timedelta(seconds=30))
    em.record_milestone(admin, res.case, "arrived", at=received + dt.timedelta(seconds=60))
    # the release requires a count; 0 = the responder did not count anyone (the claim then reads "unknown")
    em.record_milestone(admin, res.case, "released", at=released, released_count=persons or 0)
    res.case.refresh_from_db()
    return res.case


def make_policy(world, side="a", *, lifts=None, start=None, end=None, no=None) -> Policy:
    today = timezone.localdate()
    p = Policy.objects.create(insurer=world.orgs[("insurer", side)], policy_no=no or f"PDZA-{side}-{Policy.objects.count() + 1}",
                              insured_party=world.orgs[("use_unit", side)], start_date=start or today - dt.timedelta(days=100),
                              end_date=end or today + dt.timedelta(days=265), limit_per_person=Decimal("150000"),
                              limit_per_accident=Decimal("1000000"))
    p.elevators.set(lifts if lifts is not None else [e for k, e in world.elevators.items() if k.startswith(side)])
    return p


@pytest.fixture
def iw(world):
    """The world with one policy in force per side covering both lifts of the side."""
    world.policy_a = make_policy(world, "a")
    world.policy_b = make_policy(world, "b")
    return world
