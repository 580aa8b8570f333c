"""The one page error helper on every page that calls a service (issue 10 / 16 leftover): a refused filter, a
refused device binding, a refused publication show the field's LABEL in the user's language, never its code,
and never a 500."""
from django.test import Client


def _messages(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def test_registry_list_bad_filter_named_by_label(world):
    c = Client()
    c.force_login(world.users["regulator"])
    r = c.get("/registry/elevators/", {"place_type": "abc"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200
    msgs = _messages(r)
    assert msgs and all(not m.startswith("place_type") for m in msgs), msgs


def test_monitoring_bind_refusal_named_by_label(world):
    c = Client()
    c.force_login(world.users["maintenance_unit"])
    e = world.elevators["a1"]
    r = c.post(f"/monitoring/elevators/{e.pk}/devices/bind/", {"device_id": ""}, follow=True)
    assert r.status_code == 200
    msgs = _messages(r)
    assert msgs and all(not m.startswith("device_id:") for m in msgs), msgs


def test_report_publish_twice_named_by_label(world):
    from liftsafe.reports import services

    reg = world.users["regulator"]
    report = services.generate_report(reg, area_code=world.district_a.code, period="2024-01")
    services.publish_report(reg, report)
    c = Client()
    c.force_login(reg)
    r = c.post(f"/reports/{report.pk}/publish/", follow=True)
    assert r.status_code == 200
    msgs = _messages(r)
    assert msgs and all(not m.startswith("status:") for m in msgs), msgs
