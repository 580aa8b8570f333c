"""Regression (issue 10, defect 2): contract periods of one elevator never overlap, on every write path
(service, API, admin add and change, the PostgreSQL constraint for anything else)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from liftsafe.registry import services
from liftsafe.registry.models import MaintenanceContract
from liftsafe.testing import admin_field_error, admin_form_post

D = dt.date


def _admin(world):
    c = Client()
    c.force_login(world.users["admin"])
    return c


def _periods(elevator):
    return sorted((c.maintenance_unit_id, c.start_date, c.end_date) for c in MaintenanceContract.objects.filter(elevator=elevator))


def test_admin_add_of_an_overlapping_contract_is_refused(world):
    a1, unit_b = world.elevators["a1"], world.orgs[("maintenance_unit", "b")]
    c = _admin(world)
    before = _periods(a1)
    # a1 has an open contract from 2020-01-01; a fixed term inside 2019-2021 overlaps it (and is not a supersession)
    r = admin_form_post(c, "/admin/registry/maintenancecontract/add/", elevator=str(a1.pk), maintenance_unit=str(unit_b.pk),
                        start_date="2019-06-01", end_date="2021-06-30")
    assert r.status_code == 200 and admin_field_error(r, "start_date")
    assert _periods(a1) == before
    # a later start supersedes the open contract exactly as the service does (closed the day before)
    r = admin_form_post(c, "/admin/registry/maintenancecontract/add/", elevator=str(a1.pk), maintenance_unit=str(unit_b.pk),
                        start_date="2026-01-01", end_date="")
    assert r.status_code == 302, admin_field_error(r, "start_date")
    assert _periods(a1) == sorted([(world.orgs[("maintenance_unit", "a")].pk, D(2020, 1, 1), D(2025, 12, 31)),
                                   (unit_b.pk, D(2026, 1, 1), None)])
    new = MaintenanceContract.objects.get(elevator=a1, start_date=D(2026, 1, 1))
    assert new.history.first().history_user == world.users["admin"]


def test_admin_change_into_an_overlap_is_refused(world):
    b2 = world.elevators["b2"]  # 2019-01-01..2020-12-31 (unit A), 2021-01-01.. open (unit B)
    old = MaintenanceContract.objects.get(elevator=b2, end_date__isnull=False)
    c = _admin(world)
    url = f"/admin/registry/maintenancecontract/{old.pk}/change/"
    r = admin_form_post(c, url, end_date="2021-03-31")
    assert r.status_code == 200 and admin_field_error(r, "start_date")
    assert MaintenanceContract.objects.get(pk=old.pk).end_date == D(2020, 12, 31)
    r = admin_form_post(c, url, end_date="2020-06-30", contract_no="HT-1")  # a correction that keeps them apart
    assert r.status_code == 302
    old.refresh_from_db()
    assert (old.end_date, old.contract_no) == (D(2020, 6, 30), "HT-1")


def test_service_and_api_refuse_an_overlap(world):
    b2, unit_a = world.elevators["b2"], world.orgs[("maintenance_unit", "a")]
    old = MaintenanceContract.objects.get(elevator=b2, end_date__isnull=False)
    with pytest.raises(ValidationError) as exc:
        services.contract_update(world.users["admin"], old, {"end_date": None})
    assert "start_date" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.contract_update(world.users["admin"], old, {"elevator": world.elevators["a1"]})
    assert "elevator" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.contract_create(world.users["admin"], elevator=b2, maintenance_unit=unit_a, start_date=D(2020, 6, 1),
                                 end_date=D(2020, 8, 1))
    assert "start_date" in exc.value.message_dict
    c = _admin(world)
    r = c.post(f"/api/registry/elevators/{b2.pk}/contracts", {"maintenance_unit": unit_a.pk, "start_date": "2020-12-31",
               "end_date": "2021-01-01"}, content_type="application/json")
    assert r.status_code == 422 and "start_date" in r.json()["errors"]
    assert MaintenanceContract.objects.filter(elevator=b2).count() == 2


def test_postgresql_exclusion_constraint_refuses_any_overlap(world):
    from liftsafe.conftest import postgresql_only

    postgresql_only()
    a1, unit_b = world.elevators["a1"], world.orgs[("maintenance_unit", "b")]
    with pytest.raises(IntegrityError, match="contract_no_overlap"), transaction.atomic():
        MaintenanceContract.objects.create(elevator=a1, maintenance_unit=unit_b, start_date=D(2024, 1, 1), end_date=D(2024, 2, 1))
    with pytest.raises(IntegrityError, match="contract_no_overlap"), transaction.atomic():
        MaintenanceContract.objects.bulk_create([MaintenanceContract(elevator=a1, maintenance_unit=unit_b, start_date=D(2019, 1, 1),
                                                                     end_date=D(2020, 1, 1))])  # touching day counts
    MaintenanceContract.objects.create(elevator=a1, maintenance_unit=unit_b, start_date=D(2019, 1, 1), end_date=D(2019, 12, 31))
    assert MaintenanceContract.objects.filter(elevator=a1).count() == 2


def test_admin_adds_an_elevator_through_the_service(world):
    from liftsafe.registry.models import Elevator

    c = _admin(world)
    r = admin_form_post(c, "/admin/registry/elevator/add/", source="admin", source_id="ADM-1", jurisdiction="320000",
                        category="3110", area=str(world.district_a.pk), status="in_use", address="admin road 1",
                        **{"extra": "{}"})
    assert r.status_code == 302, r.content.decode()[-3000:]
    e = Elevator.objects.get(source="admin", source_id="ADM-1")
    assert e.search_address == "ADMIN ROAD 1" and e.history.first().history_user == world.users["admin"]
