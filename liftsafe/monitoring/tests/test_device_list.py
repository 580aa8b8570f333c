"""The device list page /monitoring/devices/: scoped rows per role, online/offline filter, prefix search,
offline-first order, pagination (50 a page), zh-Hans labels, a bounded number of queries."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.conf import settings as dj_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liftsafe.testing import PASSWORD
from liftsafe.monitoring import selectors, services
from liftsafe.monitoring.models import MonitoringDevice

URL = "/monitoring/devices/"


@pytest.fixture
def devs(world):
    """D-a1 online (seen now), D-b1 offline (seen 2 h ago), D-b2 offline never seen (unit A's contract on b2 expired)."""
    out = {k: services.bind_device(world.elevators[k], f"D-{k}", vendor=f"V{k}") for k in ("a1", "b1", "b2")}
    now = timezone.now()
    MonitoringDevice.objects.filter(pk=out["a1"].pk).update(online=True, last_seen=now, messages_accepted=1234)
    MonitoringDevice.objects.filter(pk=out["b1"].pk).update(online=False, last_seen=now - dt.timedelta(hours=2))
    return out


def _get(client, user, query="", lang="en", **headers):
    client.login(username=user.username, password=PASSWORD)
    client.cookies[dj_settings.LANGUAGE_COOKIE_NAME] = lang
    r = client.get(URL + query, **headers)
    assert r.status_code == 200, r.status_code
    return r.content.decode()


def _shown(body):
    return {d for d in ("D-a1", "D-b1", "D-b2") if d in body}


def test_url_name():
    assert reverse("monitoring:devices") == URL


@pytest.mark.parametrize("role,expected", [
    ("admin", {"D-a1", "D-b1", "D-b2"}),
    ("maintenance_unit", {"D-a1"}),  # its current contracts only: not b1, not b2 (contract expired)
    ("regulator", {"D-a1"}),  # district A only
    ("city_regulator", {"D-a1", "D-b1", "D-b2"}),
    ("use_unit", {"D-a1"}),
    ("nobody", set()),
])
def test_rows_are_scoped_per_role(client, world, devs, role, expected):
    assert _shown(_get(client, world.users[role])) == expected


def test_anonymous_is_sent_to_login(client, devs):
    r = client.get(URL)
    assert r.status_code == 302 and "login" in r["Location"]


def test_columns_and_link_to_elevator_page(client, world, devs):
    body = _get(client, world.users["admin"])
    e = world.elevators["a1"]
    assert reverse("monitoring:elevator", args=[e.pk]) in body
    assert e.display_code in body and e.address in body
    assert "Va1" in body and "1,234" in body
    assert timezone.localtime(MonitoringDevice.objects.get(device_id="D-b1").last_seen).strftime("%Y-%m-%d %H:%M:%S") in body


def test_offline_first_then_by_last_seen(world, devs):
    order = list(selectors.device_list(world.users["admin"]).values_list("device_id", flat=True))
    assert order == ["D-b1", "D-b2", "D-a1"]


@pytest.mark.parametrize("state,expected", [("online", {"D-a1"}), ("offline", {"D-b1", "D-b2"}), ("all", {"D-a1", "D-b1", "D-b2"}),
                                            ("", {"D-a1", "D-b1", "D-b2"})])
def test_state_filter(client, world, devs, state, expected):
    assert _shown(_get(client, world.users["admin"], f"?state={state}")) == expected


def test_unknown_state_is_a_clear_error_and_shows_all(client, world, devs):
    body = _get(client, world.users["admin"], "?state=sideways")
    assert "must be one of all, online, offline" in body
    assert _shown(body) == {"D-a1", "D-b1", "D-b2"}
    with pytest.raises(ValidationError) as e:
        selectors.device_list(world.users["admin"], state="sideways")
    assert set(e.value.message_dict) == {"state"}


def test_the_api_filters_through_the_same_declaration(client, world, devs):
    """Page and API read the device list through one function: same rows for the same q/state, same refusal."""
    admin = world.users["admin"]
    client.force_login(admin)
    for qs in ("?state=offline", "?state=online", "?q=D-b", "?q=D-b&state=offline", ""):
        api = {d["device_id"] for d in client.get(f"/api/monitoring/devices{qs}").json()}
        assert api == _shown(_get(client, admin, qs)), qs
    r = client.get("/api/monitoring/devices?state=sideways")
    assert r.status_code == 422 and "state" in r.json()["errors"]


def test_search_prefix_on_device_id_and_elevator_code(client, world, devs):
    admin = world.users["admin"]
    assert _shown(_get(client, admin, "?q=d-B")) == {"D-b1", "D-b2"}
    assert _shown(_get(client, admin, "?q=D-b1")) == {"D-b1"}
    assert _shown(_get(client, admin, "?q=-b1")) == set()  # prefix, not substring
    assert _shown(_get(client, admin, f"?q={world.elevators['b2'].source_id}")) == {"D-b2"}
    assert _shown(_get(client, admin, f"?q={world.elevators['a1'].rescue_code}")) == {"D-a1"}
    assert _shown(_get(client, admin, "?q=D-b&state=offline")) == {"D-b1", "D-b2"}


def test_search_never_widens_scope(client, world, devs):
    assert _shown(_get(client, world.users["regulator"], "?q=D-b")) == set()


def test_htmx_answers_the_results_fragment(client, world, devs):
    body = _get(client, world.users["admin"], "?q=D-a", HTTP_HX_REQUEST="true")
    assert "device-table" in body and "<form" not in body and _shown(body) == {"D-a1"}


def test_pagination_50_a_page(client, world):
    e = world.elevators["a1"]
    MonitoringDevice.objects.bulk_create([MonitoringDevice(device_id=f"P-{i:03d}", elevator=e) for i in range(120)])
    admin = world.users["admin"]
    first = _get(client, admin)
    assert first.count('id="devrow-') == 50 and "P-000" in first and "P-050" not in first
    third = _get(client, admin, "?page=3")
    assert third.count('id="devrow-') == 20 and "P-119" in third and "P-099" not in third
    assert "120 devices" in first and 'rel="next"' in first and 'rel="next"' not in third
    filtered = _get(client, admin, "?q=P-&state=offline")
    assert "q=P-&amp;state=offline&amp;page=2" in filtered


def test_query_count_is_bounded(client, world):
    e, b = world.elevators["a1"], world.elevators["a2"]
    user = world.users["maintenance_unit"]
    client.login(username=user.username, password=PASSWORD)

    def count(n):
        MonitoringDevice.objects.all().delete()
        MonitoringDevice.objects.bulk_create([MonitoringDevice(device_id=f"Q-{i:03d}", elevator=(e if i % 2 else b)) for i in range(n)])
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(URL)
        assert r.status_code == 200 and r.content.decode().count('id="devrow-') == min(n, 50)
        return len(ctx.captured_queries)

    small, large = count(2), count(60)
    assert small == large, (small, large)
    assert large <= 10


def test_zh_hans_labels(client, world, devs):
    body = _get(client, world.users["admin"], lang="zh-hans")
    for zh in ("监测设备", "连接状态", "最后报文时间", "已接收报文数", "共 3 台设备", "在线", "离线"):
        assert zh in body, zh
    assert "Messages accepted" not in body
    r = client.get("/monitoring/")  # the overview links the list, in zh-Hans
    assert 'href="/monitoring/devices/"' in r.content.decode() and "全部设备" in r.content.decode()
