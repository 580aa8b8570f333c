"""The real MTA 2023 planned-work tickets imported as maintenance visits (liftsafe/maintenance/mta_planned.py)."""
import datetime as dt
import io

import pytest
from django.core.management import call_command

from liftsafe.emergency import mta_replay
from liftsafe.maintenance.models import Visit
from liftsafe.maintenance.mta_planned import import_planned_work

MTA_UNITS_FILE = "liftsafe/registry/data/nyc_mta_2023_opendata.csv.gz"


@pytest.fixture
def mta_units(db):
    from liftsafe.registry.importer import available_mappings, run_import
    from liftsafe.registry.models import Elevator

    if "mta-units" not in available_mappings():
        pytest.fail("the registry importer has no 'mta-units' mapping")
    run_import(MTA_UNITS_FILE, "mta-units")
    return Elevator.objects.filter(source="nyc-mta")


def _planned_of(unit: str) -> list[dict]:
    return [t for p in mta_replay.DEFAULT_FILES for t in mta_replay.read_tickets(p)
            if mta_replay.classify(t) == "planned" and t["Common Name"].strip() == unit]


def test_planned_tickets_become_visits_with_their_real_times(mta_units):
    units = list(mta_units.values_list("source_id", flat=True))
    rep = import_planned_work()
    assert rep.planned == 486 and rep.created > 0
    assert rep.created + sum(rep.skipped.values()) == rep.planned
    assert Visit.objects.count() == rep.created
    expected = sum(1 for u in units for t in _planned_of(u) if t["Actual Return to Service Date"].strip())
    assert rep.created <= expected and rep.skipped["unit not in the registry"] > 0
    v = Visit.objects.order_by("checked_in_at").first()
    ticket = next(t for u in units for t in _planned_of(u) if f"mta:{t['Outage'].strip()}" == v.client_id)
    assert v.checked_in_at == mta_replay.parse_time(ticket["Out of Service Date"])
    assert v.checked_out_at == mta_replay.parse_time(ticket["Actual Return to Service Date"])
    assert v.state == "checked_out" and not v.generated and v.maintenance_unit.name == mta_replay.MTA_MAINTAINER
    assert v.planned_date == v.checked_in_at.astimezone(mta_replay.NY).date() and v.planned_date.year == 2023
    assert set(Visit.objects.values_list("tier", flat=True)) <= {"half_monthly", "yearly"}
    assert v.history.count() == 1


def test_import_is_idempotent_and_has_a_command(mta_units):
    first = import_planned_work()
    again = import_planned_work()
    assert again.created == 0 and again.existing == first.created
    out = io.StringIO()
    call_command("maintenance_import_mta", "--source", "nyc-mta", stdout=out)
    assert f"0 visits created, {first.created} already imported" in out.getvalue()
    assert Visit.objects.count() == first.created


def test_visits_count_for_the_units_last_maintenance(mta_units):
    """A unit's imported visits are completed visits: the last one is its last maintenance (overdue is measured from it)."""
    import_planned_work()
    from django.db.models import Max

    last = Visit.objects.values("elevator").annotate(m=Max("checked_out_at"))
    assert all(r["m"].date() <= dt.date(2024, 1, 1) for r in last)
