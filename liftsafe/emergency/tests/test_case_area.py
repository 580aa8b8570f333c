"""The case's area (where it happened): set at intake, backfilled by migration 0004, and the migration reverses."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase

m0004 = importlib.import_module("liftsafe.emergency.migrations.0004_case_area")


def test_intake_sets_the_elevators_area(world, t0):
    a1, b1 = world.elevators["a1"], world.elevators["b1"]
    ca = services.intake_alarm(a1, channel="qr_report", case_type="fault_report", received_at=t0).case
    cb = services.intake_alarm(b1, channel="iot", case_type="entrapment", received_at=t0, dispatch=True).case
    assert (ca.area_id, cb.area_id) == (world.district_a.pk, world.district_b.pk)
    ca.refresh_from_db()
    assert ca.area_id == world.district_a.pk
    assert ca.history.earliest().area_id == world.district_a.pk  # the audit history has it from the first row


def _updates(ctx, table: str) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE") and table in q["sql"].split("SET")[0])


@pytest.mark.parametrize("chunk", [2, 1_000_000])
def test_backfill_sets_missing_areas_set_based_per_chunk(world, t0, monkeypatch, chunk):
    cases = [services.intake_alarm(e, channel="iot", case_type="entrapment", received_at=t0).case
             for e in (world.elevators[k] for k in ("a1", "a2", "b1", "b2"))]
    # three cases recorded before the column existed (null), and one whose area was set at intake to an area its
    # elevator no longer has: the backfill fills the first three from the elevator and leaves the fourth alone
    EmergencyCase.objects.filter(pk__in=[c.pk for c in cases[:3]]).update(area=None)
    History = EmergencyCase.history.model
    History.objects.update(area=None)
    EmergencyCase.objects.filter(pk=cases[3].pk).update(area=world.district_a)
    monkeypatch.setattr(m0004, "CHUNK", chunk)
    ids = sorted(c.pk for c in cases[:3])
    hids = sorted(History.objects.values_list("history_id", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        m0004.backfill(django_apps, connection.schema_editor())
    # one UPDATE statement per chunk of primary keys (never one per row)
    assert _updates(ctx, EmergencyCase._meta.db_table) == len(range(ids[0], ids[-1] + 1, chunk))
    assert _updates(ctx, History._meta.db_table) == len(range(hids[0], hids[-1] + 1, chunk))
    got = dict(EmergencyCase.objects.values_list("pk", "area_id"))
    assert got == {cases[0].pk: world.district_a.pk, cases[1].pk: world.district_a.pk, cases[2].pk: world.district_b.pk,
                   cases[3].pk: world.district_a.pk}
    assert not History.objects.filter(area__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_migration_0004_backfills_and_reverses(world, t0):
    from django.db.migrations.executor import MigrationExecutor

    case = services.intake_alarm(world.elevators["b1"], channel="iot", case_type="entrapment", received_at=t0).case
    executor = MigrationExecutor(connection)
    # every app's leaves: going back to emergency 0003 also unapplies the migrations of apps that depend on a later
    # emergency migration (insurance, risk …); restoring only emergency's leaf would leave their tables missing
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("emergency", "0003_case_time_cache")])
        with connection.cursor() as cur:
            cols = [c.name for c in connection.introspection.get_table_description(cur, EmergencyCase._meta.db_table)]
        assert "area_id" not in cols
        executor = MigrationExecutor(connection)
        executor.migrate([("emergency", "0004_case_area")])
        assert EmergencyCase.objects.get(pk=case.pk).area_id == world.district_b.pk
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
