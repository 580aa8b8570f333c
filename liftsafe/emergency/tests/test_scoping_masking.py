"""Who sees which case, and who sees the caller's phone number."""
import datetime as dt

import pytest
from django.http import Http404

from liftsafe.emergency import selectors, services

S = dt.timedelta(seconds=1)


@pytest.fixture
def cases(world, t0):
    op = world.users["operator"]
    a = services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment", received_at=t0, actor=op,
                              caller_phone="13812345678", trapped_count=1, details={"caller_name": "李四", "floor": "5"}).case
    services.dispatch_case(op, a, 1, at=t0 + S)
    b = services.intake_alarm(world.elevators["b1"], channel="iot", case_type="entrapment", received_at=t0, caller_phone="13999998888").case
    return a, b


def ids(user):
    return set(selectors.cases_for(user).values_list("pk", flat=True))


def test_visibility_by_role(world, cases):
    a, b = cases
    u = world.users
    assert ids(u["admin"]) == {a.pk, b.pk}
    assert ids(u["city_regulator"]) == {a.pk, b.pk}
    assert ids(u["regulator"]) == ids(u["operator"]) == {a.pk}
    assert ids(u["maintenance_unit"]) == {a.pk}  # dispatched to it
    assert ids(u["rescue_station"]) == set()  # not dispatched (yet)
    assert ids(u["use_unit"]) == {a.pk}
    assert ids(u["nobody"]) == set()
    with pytest.raises(Http404):
        selectors.case_get(u["operator"], b.pk)
    services.dispatch_case(u["operator"], a, 2)
    assert ids(u["rescue_station"]) == {a.pk}


def test_personal_data_masked_except_for_operators_and_dispatched_responders(world, cases):
    a, _ = cases
    u = world.users
    for name in ("operator", "admin", "maintenance_unit"):
        c = selectors.case_get(u[name], a.pk)
        assert c.caller_phone == "13812345678" and c.details["caller_name"] == "李四"
    for name in ("regulator", "city_regulator", "use_unit"):
        c = selectors.case_get(u[name], a.pk)
        assert c.caller_phone == "138****5678"
        assert c.details["caller_name"] == "***" and c.details["floor"] == "5"
        assert all(x.caller_phone == "138****5678" for x in selectors.cases_for(u[name]).filter(pk=a.pk))
        with pytest.raises(RuntimeError):
            c.save()  # a masked copy can never overwrite the real number


def test_timeline_masks_attached_call_phone(world, cases, t0):
    a, _ = cases
    services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment",
                          received_at=t0 + 5 * S, caller_phone="15011112222")
    reg = [r for r in selectors.case_timeline(world.users["regulator"], a) if r["kind"] == "call_attached"][0]
    op = [r for r in selectors.case_timeline(world.users["operator"], a) if r["kind"] == "call_attached"][0]
    assert reg["data"]["caller_phone"] == "150****2222" and op["data"]["caller_phone"] == "15011112222"
    with pytest.raises(Http404):
        selectors.case_timeline(world.users["rescue_station"], a)


def test_mask_phone_shapes():
    assert selectors.mask_phone("13812345678") == "138****5678"
    assert selectors.mask_phone("96333") == "***33"
    assert selectors.mask_phone("") == ""


def test_board_delta_is_compact_and_incremental(world, cases, t0):
    op = world.users["operator"]
    full = selectors.board_delta(op)
    assert [r["id"] for r in full["cases"]] == [cases[0].pk]
    since = dt.datetime.fromisoformat(full["cursor"]) + dt.timedelta(seconds=5)
    assert selectors.board_delta(op, since)["cases"] == []
    services.record_milestone(op, cases[0], "false_alarm")
    d = selectors.board_delta(op, since - dt.timedelta(seconds=5))
    assert d["cases"] == [] and d["closed"] == [cases[0].pk]


def test_board_delta_payload_is_small(world, t0):
    import json

    from liftsafe.testing import make_elevator

    for i in range(60):
        e = make_elevator(f"A-{i:03d}", world.district_a, address=f"{i} 南京市玄武区中山路 {i} 号 Some Long Building Name Tower")
        services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0, dispatch=False)
    d = selectors.board_delta(world.users["operator"], t0)
    size = len(json.dumps(d, ensure_ascii=False).encode())
    assert len(d["cases"]) == 60 and size < 20_000, size  # 60 changed cases in one update stay under 20 KB
