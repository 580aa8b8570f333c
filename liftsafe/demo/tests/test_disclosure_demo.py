"""The demo's disclosure data on the small test world: codes for every lift, reports in every state, idempotent."""
from liftsafe.demo import disclosure as demo
from liftsafe.disclosure.models import PublicCode, PublicReport, ReportState
from liftsafe.registry.models import Elevator
from liftsafe.testing import make_elevator


def test_demo_seed_every_state_and_idempotent(world, settings, tmp_path):
    dw = world
    settings.MEDIA_ROOT = str(tmp_path)
    from liftsafe.registry.models import MaintenanceContract

    unit_a, mu_a = dw.orgs[("use_unit", "a")], dw.orgs[("maintenance_unit", "a")]
    for i in range(8):
        e = make_elevator(f"D{i}", dw.district_a, use_unit=unit_a, rescue_code=f"2000{i:02d}")
        MaintenanceContract.objects.create(elevator=e, maintenance_unit=mu_a, start_date="2024-01-01")
    out = demo.seed(log=lambda *a: None)
    assert "generated public reports: 9" in out
    assert PublicCode.objects.count() == Elevator.objects.count()
    states = set(PublicReport.objects.values_list("state", flat=True))
    assert states == set(ReportState.values)
    assert all(t.startswith(demo.MARK) for t in PublicReport.objects.values_list("text", flat=True))
    assert "already present" in demo.seed(log=lambda *a: None)
    assert PublicReport.objects.count() == 9
