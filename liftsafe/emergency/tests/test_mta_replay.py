"""Replay of the real NYC MTA 2023 outage tickets against MTA units imported through the registry importer."""
import datetime as dt

import pytest

from liftsafe.emergency import mta_replay
from liftsafe.emergency.models import EmergencyCase, Milestone
from liftsafe.registry.models import Elevator

MTA_UNITS_FILE = "liftsafe/registry/data/nyc_mta_2023_opendata.csv.gz"


@pytest.fixture
def mta_units(db):
    from liftsafe.registry.importer import available_mappings, run_import

    if "mta-units" not in available_mappings():
        pytest.fail("the registry importer has no 'mta-units' mapping")
    run = run_import(MTA_UNITS_FILE, "mta-units")
    assert run.status == "done", run.error
    return Elevator.objects.filter(source_id__in=["EL739", "EL740", "EL741"])


def test_replay_counts_and_idempotency(mta_units):
    assert mta_units.count() == 3  # the only ticket units that are in the 2023 station registry
    rep = mta_replay.replay()
    assert rep.rows == {"nyc_mta_outages_2023_ele_not_subway.csv.gz": 571, "nyc_mta_outages_2023_null_station_mrn.csv.gz": 147}
    assert sum(rep.outcome.values()) == 718  # every ticket accounted for under exactly one outcome
    assert rep.outcome["planned work (not an alarm): not replayed"] == 486
    assert rep.outcome["unit not in the registry: reported"] == 181
    assert sum(rep.missing_units.values()) == 181 and len(rep.missing_units) == 28
    opened = sum(v for k, v in rep.outcome.items() if k.startswith("case opened"))
    attached = rep.outcome["attached to the unit's open case (call_attached)"]
    assert opened + attached == 51  # 45 fault reports, 4 false alarms, 2 entrapments for EL739-741
    assert EmergencyCase.objects.count() == opened
    assert EmergencyCase.objects.filter(case_type="entrapment").count() == rep.case_types["entrapment"] == 2
    assert Milestone.objects.filter(kind="call_attached").count() == attached
    # every replayed case is closed (none left on the live board) and derived the right way
    assert not EmergencyCase.objects.exclude(state__in=["completed", "false_alarm"]).exists()
    assert EmergencyCase.objects.filter(state="false_alarm").count() == rep.milestones["false_alarm"]
    iot = EmergencyCase.objects.filter(channel="iot")
    assert iot.count() == rep.channels["iot"] > 0
    # EL739's ENT ticket: created 2023-01-27 16:45, back in service 21:15 New York time (EST, UTC-5)
    ent = EmergencyCase.objects.filter(case_type="entrapment").order_by("received_at").first()
    assert ent.elevator.source_id == "EL739" and ent.details["mta"]["code"] == "ENT"
    assert ent.received_at == dt.datetime(2023, 1, 27, 21, 45, tzinfo=dt.timezone.utc)
    assert ent.milestones.get(kind="completed").at == dt.datetime(2023, 1, 28, 2, 15, tzinfo=dt.timezone.utc)
    assert [m.kind for m in ent.milestones.all()] == ["received", "dispatched", "completed"]
    # a second run records nothing twice
    again = mta_replay.replay()
    assert again.outcome["already replayed (idempotent)"] == opened + attached
    assert EmergencyCase.objects.count() == opened


def test_replayed_units_get_the_in_house_maintainer(mta_units):
    from liftsafe.registry.selectors import maintenance_unit_on

    rep = mta_replay.replay()
    assert rep.contracts_created == 3 and not rep.problems
    org = maintenance_unit_on(mta_units.get(source_id="EL739"), dt.date(2023, 6, 1))
    assert org.name == mta_replay.MTA_MAINTAINER
    assert mta_replay.replay().contracts_created == 0


def test_replay_command(mta_units):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("replay_mta", "--markdown", stdout=out)
    text = out.getvalue()
    assert "| planned work (not an alarm): not replayed | 486 |" in text
    assert "Units not in the registry (28 units, 181 tickets)" in text
    assert EmergencyCase.objects.count() == 51
