"""Regression (issue 10, defect 1): a stop-use order holds its elevator out of service on EVERY status path
(service, API, admin, registry import / bulk update); only a verified close-out of the hazard lifts it."""
from __future__ import annotations


from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from liftsafe.hazards import services
from liftsafe.hazards.models import StopUseOrder
from liftsafe.registry import holds
from liftsafe.registry.importer import report_rows, run_import
from liftsafe.registry.models import Elevator
from liftsafe.registry.services import elevator_set_status, elevator_update
from liftsafe.testing import admin_field_error, admin_form_post

from .helpers import file_hazard, today

SAMPLE = Path(__file__).resolve().parents[2] / "registry" / "tests" / "fixtures" / "cn_template_sample.csv"


def _stopped(world, key="a1"):
    h = file_hazard(world, elevator=key)
    order = services.stop_use_order(world.users["regulator"], h, reason="制动器失效")
    e = Elevator.objects.get(pk=world.elevators[key].pk)
    assert e.status == "stopped" and order.active
    return h, order, e


def _session(user):
    c = Client()
    c.force_login(user)
    return c


def test_hazards_registers_its_hold_at_start_up():
    assert holds.providers()["hazards.stop_use"] is services.stop_use_holds


def test_services_refuse_back_into_use_and_close_out_lifts(world):
    h, order, e = _stopped(world)
    reg = world.users["regulator"]
    for attempt in (lambda: elevator_update(reg, e, {"status": "in_use"}),
                    lambda: elevator_set_status(reg, e, "in_use", on=today(), reason="私自恢复")):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert "status" in exc.value.message_dict and f"#{h.pk}" in exc.value.message_dict["status"][0]
    e.status = "in_use"  # any other single save (no service) is refused too
    with pytest.raises(ValidationError):
        e.save()
    elevator_set_status(reg, Elevator.objects.get(pk=e.pk), "sealed", on=today(), reason="封存")  # out of service: allowed
    assert Elevator.objects.get(pk=e.pk).status == "sealed"


def test_api_status_and_patch_are_refused(world):
    h, order, e = _stopped(world)
    c = _session(world.users["admin"])
    r = c.post(f"/api/registry/elevators/{e.pk}/status", {"status": "in_use", "reason": "恢复"}, content_type="application/json")
    assert r.status_code == 422 and "status" in r.json()["errors"]
    r = c.patch(f"/api/registry/elevators/{e.pk}", {"status": "in_use"}, content_type="application/json")
    assert r.status_code == 422 and "status" in r.json()["errors"]
    assert Elevator.objects.get(pk=e.pk).status == "stopped"
    assert StopUseOrder.objects.get(pk=order.pk).active


def test_admin_save_does_not_lift_a_stop_use_order(world):
    h, order, e = _stopped(world)
    c = _session(world.users["admin"])
    url = f"/admin/registry/elevator/{e.pk}/change/"
    r = admin_form_post(c, url, status="in_use")
    assert r.status_code == 200 and f"#{h.pk}" in admin_field_error(r, "status")
    assert Elevator.objects.get(pk=e.pk).status == "stopped"
    r = admin_form_post(c, url, address="新地址 9 号")  # other admin edits still save (through the service)
    assert r.status_code == 302, r.content.decode()[:2000]
    e = Elevator.objects.get(pk=e.pk)
    assert e.status == "stopped" and e.address == "新地址 9 号"
    assert e.history.first().history_user == world.users["admin"]
    assert StopUseOrder.objects.get(pk=order.pk).active


def test_reimporting_the_registry_file_does_not_lift_a_stop_use_order(world):
    run_import(SAMPLE, "cn-template")
    held = Elevator.objects.get(source="cn-template", source_id="311010123201500001")
    free = Elevator.objects.get(source="cn-template", source_id="331010123201800002")
    assert held.area == world.district_a and held.status == free.status == "in_use"
    h = services.hazard_file(world.users["regulator"], elevator=held, source="inspection", title="制动器失效",
                             level="significant", responsible_unit=world.orgs[("use_unit", "a")])
    order = services.stop_use_order(world.users["regulator"], h, reason="制动器失效")
    elevator_set_status(world.users["admin"], free, "stopped", on=today(), reason="维修")  # no order: the file wins
    run = run_import(SAMPLE, "cn-template")  # the file still says 在用 (in use) for both
    held.refresh_from_db()
    free.refresh_from_db()
    assert held.status == "stopped" and StopUseOrder.objects.get(pk=order.pk).active
    assert free.status == "in_use" and run.rows_updated == 1
    report = [r for r in report_rows(run.report_csv) if r["reason"] == "status_hold"]
    assert [(r["source_id"], r["field"], r["action"]) for r in report] == [("311010123201500001", "status", "dropped")]
    assert f"#{h.pk}" in report[0]["message"]
    # the verified close-out lifts the hold; the next import then applies the file's status again
    StopUseOrder.objects.filter(pk=order.pk).update(lifted_at=timezone.now())
    run_import(SAMPLE, "cn-template")
    held.refresh_from_db()
    assert held.status == "in_use"


def test_admin_cannot_lift_or_delete_a_stop_use_order(world):
    h, order, e = _stopped(world)
    c = _session(world.users["admin"])
    url = f"/admin/hazards/stopuseorder/{order.pk}/change/"
    assert c.get(url).status_code == 200  # visible, read-only
    assert c.post(url, {"lifted_at_0": "2026-01-01", "lifted_at_1": "10:00:00"}).status_code == 403
    assert c.post(f"/admin/hazards/stopuseorder/{order.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StopUseOrder.objects.get(pk=order.pk).active


def test_a_stale_instance_cannot_lift_the_hold(world):
    stale = Elevator.objects.get(pk=world.elevators["a1"].pk)  # loaded while in use
    h, order, e = _stopped(world)  # stopped elsewhere meanwhile
    stale.floors = 12  # saving the stale copy would write "in_use" back over "stopped"
    with pytest.raises(ValidationError):
        stale.save()
    stale.refresh_from_db()
    stale.floors = 12
    stale.save()  # a fresh copy saves (still stopped)
    assert Elevator.objects.get(pk=e.pk).status == "stopped" and Elevator.objects.get(pk=e.pk).floors == 12
