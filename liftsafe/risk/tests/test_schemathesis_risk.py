"""schemathesis on the risk operations only, as every role, with ids that exist (scores, a key period): no 5xx.
The platform-wide run (core/tests/test_schemathesis.py) covers them too; this one reaches the risk services with
a computed world and a key period id, and runs in a fraction of the time."""
import datetime as dt

from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from liftsafe.core.models import ApiToken
from liftsafe.core.tests.test_schemathesis import quiet, schema, send  # noqa: F401  (fixture)
from liftsafe.risk.compute import recompute
from liftsafe.risk.models import KeyPeriod


def test_risk_operations_never_answer_5xx(world, quiet):  # noqa: F811
    recompute(trigger="fuzz")
    p = KeyPeriod.objects.create(name="fuzz", starts_at=timezone.now() + dt.timedelta(days=1), ends_at=timezone.now() + dt.timedelta(days=2))
    p.areas.set([world.district_a])
    clients = {"anonymous": Client(raise_request_exception=False)}
    for role, user in world.users.items():
        _rec, token = ApiToken.issue(user, "fuzz")
        clients[role] = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)
    ids = {"elevator_id": world.elevators["a1"].pk, "period_id": p.pk}
    ops = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/risk/")]
    assert len(ops) >= 13
    for op in ops:
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @given(case=strategy)
        @settings(max_examples=8, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            known = {k: ids[k] for k in (case.path_parameters or {}) if k in ids}
            for role, client in clients.items():
                r = send(client, case, known or None)
                assert r.status_code < 500, f"{case.method} {case.path} as {role}: HTTP {r.status_code}\n{case.query!r} {case.body!r}\n{r.content[:600]!r}"

        run()
