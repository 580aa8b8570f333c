"""Who may bind/unbind devices, submit messages over HTTP, acknowledge and clear alarms (docs/monitoring.md "Roles").

Refused writes leave nothing behind: no device, no ledger row, no dead letter, no acknowledgement.
"""
from __future__ import annotations

import pytest
from django.utils import timezone

from liftsafe.core.models import ApiToken
from liftsafe.testing import PASSWORD
from liftsafe.monitoring import services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm, DeadLetter, MonitoringDevice, ProcessedMessage

from .helpers import msg


@pytest.fixture
def devs(world):
    return {k: services.bind_device(world.elevators[k], f"D-{k}") for k in ("a1", "b1")}


def _h(user):
    _rec, tok = ApiToken.issue(user, "t")
    return {"HTTP_AUTHORIZATION": f"Bearer {tok}"}


def _post(client, url, body, user):
    return client.post(url, body, content_type="application/json", **_h(user))


@pytest.mark.parametrize("role", ["regulator", "city_regulator", "operator", "use_unit", "inspection_agency", "insurer",
                                  "rescue_station", "nobody"])
def test_only_integrators_submit_and_a_refusal_stores_nothing(client, world, devs, role):
    body = {"messages": [msg("D-a1", "event", {"code": "01"}, mid="r1"), msg("D-a1", "heartbeat", mid="r2"), "junk"]}
    r = _post(client, "/api/monitoring/messages", body, world.users[role])
    assert r.status_code == 403, r.content
    assert not ProcessedMessage.objects.exists() and not DeadLetter.objects.exists() and not Alarm.objects.exists()
    d = MonitoringDevice.objects.get(device_id="D-a1")
    assert d.last_seen is None and d.messages_accepted == 0


def test_integrator_cannot_claim_another_devices_message_ids(client, world, devs):
    """A maintenance unit's message for a device it does not maintain is dead-lettered without a ledger entry,
    so the real device's message with the same id is still accepted afterwards."""
    now = timezone.now()
    forged = msg("D-b1", "event", {"code": "01"}, ts=now, mid="same-id")
    r = _post(client, "/api/monitoring/messages", {"messages": [forged, msg("D-a1", "heartbeat", ts=now, mid="ok1")]},
              world.users["maintenance_unit"])
    assert r.json()["outcomes"] == ["dead:unknown_device", "accepted"]
    assert r.json()["dead"] == {"unknown_device": 1}
    assert not ProcessedMessage.objects.filter(device_key="D-b1").exists()
    assert DeadLetter.objects.get(device_key="D-b1").reason == "unknown_device"
    assert not Alarm.objects.filter(elevator=world.elevators["b1"]).exists()
    # the device's own integrator (here the admin) sends the genuine message with that id: accepted, alarm raised
    r = _post(client, "/api/monitoring/messages", {"messages": [forged]}, world.users["admin"])
    assert r.json()["outcomes"] == ["accepted"] and r.json()["alarms_raised"] == 1


def test_maintenance_unit_binds_and_unbinds_only_its_elevators(client, world, devs):
    mu = world.users["maintenance_unit"]
    a2, b2 = world.elevators["a2"], world.elevators["b2"]
    r = _post(client, "/api/monitoring/devices", {"elevator_id": a2.pk, "device_id": "MU-1", "vendor": "acme"}, mu)
    assert r.status_code == 201
    # b2: A's maintenance unit's contract there expired → out of scope
    assert _post(client, "/api/monitoring/devices", {"elevator_id": b2.pk, "device_id": "MU-2"}, mu).status_code == 404
    assert not MonitoringDevice.objects.filter(device_id="MU-2").exists()
    # a device id active on an elevator it does not maintain cannot be moved to its own
    r = _post(client, "/api/monitoring/devices", {"elevator_id": a2.pk, "device_id": "D-b1"}, mu)
    assert r.status_code == 422 and "device_id" in r.json()["errors"]
    assert MonitoringDevice.objects.get(device_id="D-b1").elevator_id == world.elevators["b1"].pk
    # unbind: own device yes (offline alarm cleared), other district's no (404), regulator no (403)
    dev = MonitoringDevice.objects.get(device_id="D-a1")
    off, _ = services.raise_alarm(dev.elevator, AlarmType.OFFLINE, device=dev)
    assert _post(client, f"/api/monitoring/devices/{dev.pk}/unbind", {}, world.users["regulator"]).status_code == 403
    assert MonitoringDevice.objects.get(pk=dev.pk).active
    other = MonitoringDevice.objects.get(device_id="D-b1")
    assert _post(client, f"/api/monitoring/devices/{other.pk}/unbind", {}, mu).status_code == 404
    r = _post(client, f"/api/monitoring/devices/{dev.pk}/unbind", {}, mu)
    assert r.status_code == 200 and r.json()["active"] is False
    off.refresh_from_db()
    assert off.cleared_at is not None and off.cleared_reason == "device unbound"
    assert MonitoringDevice.objects.get(pk=other.pk).active


def test_acknowledge_and_clear_roles(client, world, devs):
    a1 = world.elevators["a1"]
    alarm, _ = services.raise_alarm(a1, AlarmType.DOOR_FAULT, device=devs["a1"], code="02")
    url = f"/api/monitoring/alarms/{alarm.pk}"
    for role in ("regulator", "city_regulator", "use_unit", "inspection_agency", "insurer", "rescue_station"):
        assert _post(client, url + "/acknowledge", {}, world.users[role]).status_code == 403, role
        assert _post(client, url + "/clear", {"reason": "x"}, world.users[role]).status_code == 403, role
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None and alarm.cleared_at is None
    r = _post(client, url + "/clear", {"reason": "  "}, world.users["operator"])
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    r = _post(client, url + "/clear", {"reason": "x" * 65}, world.users["operator"])
    assert r.status_code == 422
    alarm.refresh_from_db()
    assert alarm.cleared_at is None
    r = _post(client, url + "/acknowledge", {}, world.users["maintenance_unit"])
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    r = _post(client, url + "/clear", {"reason": "false alarm, checked on site"}, world.users["operator"])
    assert r.status_code == 200 and r.json()["cleared_reason"] == "false alarm, checked on site"
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == world.users["maintenance_unit"]  # first acknowledgement wins
    assert alarm.history.filter(history_user=world.users["operator"]).exists()
    # the slot is free again: the next occurrence is a new alarm
    again, created = services.raise_alarm(a1, AlarmType.DOOR_FAULT, device=devs["a1"], code="02")
    assert created and again.pk != alarm.pk


def test_elevator_page_shows_device_state_history_and_forms_by_role(client, world, devs):
    now = timezone.now()
    services.process_batch([services.RawMessage(m, transport="http") for m in (
        msg("D-a1", "status", {"mode": 1, "running": 0, "door_zone": 1, "floor": 7, "door": 2, "passenger": 2, "power": 1},
            ts=now, mid="st-1"),
        msg("D-a1", "stats", {"run_count": 4242, "door_cycles": 99}, ts=now, mid="st-2"),
        msg("D-a1", "event", {"code": "02"}, ts=now, mid="st-3"))])
    url = f"/monitoring/elevators/{world.elevators['a1'].pk}/"
    client.login(username="maintenance_unit", password=PASSWORD)
    html = client.get(url).content.decode()
    for text in ("D-a1", "st-3", "楼层: 7", "累计运行次数: 4,242", 'id="bind-form"', "/unbind/", "/clear/"):
        assert text in html, text
    assert "online" in html or "在线" in html
    client.login(username="regulator", password=PASSWORD)
    html = client.get(url).content.decode()
    assert "st-3" in html and "累计运行次数: 4,242" in html
    assert 'id="bind-form"' not in html and "/unbind/" not in html and "/clear/" not in html and "/acknowledge/" not in html
    # page refusal: a regulator posting anyway gets a message, nothing changes
    r = client.post(f"/monitoring/elevators/{world.elevators['a1'].pk}/devices/bind/", {"device_id": "REG-1"}, follow=True)
    assert r.status_code == 200 and not MonitoringDevice.objects.filter(device_id="REG-1").exists()
    client.login(username="maintenance_unit", password=PASSWORD)
    client.post(f"/monitoring/elevators/{world.elevators['a1'].pk}/devices/bind/", {"device_id": "MU-PAGE", "vendor": "v"})
    assert MonitoringDevice.objects.get(device_id="MU-PAGE").elevator_id == world.elevators["a1"].pk


def test_overview_shows_incident_with_its_cases_coverage_and_offline(client, world, devs, settings):
    from liftsafe.monitoring.services import detect_offline

    now = timezone.now()
    a2 = services.bind_device(world.elevators["a2"], "D-a2")
    status_cut = {"mode": 1, "running": 0, "door_zone": 2, "floor": 3, "door": 1, "passenger": 1, "power": 2}
    services.process_batch([services.RawMessage(msg(d, "status", status_cut, ts=now), transport="http") for d in ("D-a1", "D-a2")],
                           now=now)
    services.process_batch([services.RawMessage(msg(d, "event", {"code": "90"}, ts=now), transport="http") for d in ("D-a1",)],
                           now=now)
    inc = Alarm.objects.get(elevator=world.elevators["a1"], type=AlarmType.POWER_LOSS).incident
    assert inc is not None and Alarm.objects.get(device=a2, type=AlarmType.POWER_LOSS).incident_id == inc.pk
    trapped = Alarm.objects.get(elevator=world.elevators["a1"], type=AlarmType.ENTRAPMENT)
    assert trapped.incident_id == inc.pk and trapped.case_id
    settings.LIFTSAFE_RULES = {"iot_offline_after_s": 1}
    assert detect_offline(now + timezone.timedelta(seconds=5)) == 2
    client.login(username="regulator", password=PASSWORD)
    html = client.get("/monitoring/").content.decode()
    assert f'id="incident-{inc.pk}"' in html and f"/emergency/cases/{trapped.case_id}/" in html
    assert "D-a2" in html  # offline list
    assert "D-b1" not in html
