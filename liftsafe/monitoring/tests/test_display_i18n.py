"""What the monitoring pages show, in zh-Hans (default) and English: alarm details and clear reasons
(stored language-neutral, translated at display, old rows too), labelled status fields, the coverage rate."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings as dj_settings
from django.utils import timezone, translation

from liftsafe.testing import PASSWORD
from liftsafe.monitoring import codes, selectors, services
from liftsafe.monitoring.codes import AlarmType
from liftsafe.monitoring.models import Alarm

from .helpers import msg


@pytest.fixture
def dev(world):
    return services.bind_device(world.elevators["a1"], "D-a1")


def _get(client, url, user, lang=None):
    client.login(username=user, password=PASSWORD)
    if lang:
        client.cookies[dj_settings.LANGUAGE_COOKIE_NAME] = lang
    else:
        client.cookies.pop(dj_settings.LANGUAGE_COOKIE_NAME, None)
    r = client.get(url)
    assert r.status_code == 200
    return r.content.decode()


def test_alarm_texts_are_stored_language_neutral_and_shown_translated(client, world, dev, settings):
    now = timezone.now()
    trapped = {"mode": 1, "running": 0, "door_zone": 1, "floor": 3, "door": 1, "passenger": 1, "power": 1}
    with translation.override("zh-hans"):  # the stored text never depends on the active language
        for s in (0, 30):
            at = now + dt.timedelta(seconds=s)
            services.process_batch([services.RawMessage(msg("D-a1", "status", trapped, ts=at), transport="http")], now=at)
    a = Alarm.objects.get(type=AlarmType.ENTRAPMENT)
    assert a.detail == "passenger trapped at a landing"
    settings.LIFTSAFE_RULES = {"iot_offline_after_s": 1}
    assert services.detect_offline(now + dt.timedelta(seconds=600)) == 1
    off = Alarm.objects.get(type=AlarmType.OFFLINE)
    assert off.detail.startswith("no message since 20")
    # an older row's text (earlier versions) and a person's own words stay readable
    legacy = Alarm.objects.create(elevator=world.elevators["a1"], type=AlarmType.DOOR_FAULT, code="status.x",
                                  detail="passenger trapped away from a landing (非平层关人)", raised_at=now, last_occurred_at=now,
                                  cleared_at=now, cleared_reason="power normal")
    own = Alarm.objects.create(elevator=world.elevators["a1"], type=AlarmType.POWER_LOSS, code="x", detail="something odd",
                               raised_at=now, last_occurred_at=now, cleared_at=now, cleared_reason="false alarm, checked")

    zh = _get(client, "/monitoring/", "operator")
    assert "平层关人" in zh and "passenger trapped" not in zh
    assert "自 " in zh and "起未收到消息" in zh and "no message since" not in zh
    zh_e = _get(client, f"/monitoring/elevators/{world.elevators['a1'].pk}/", "operator")
    assert "非平层关人" in zh_e and "(供电恢复正常)" in zh_e and "power normal" not in zh_e
    assert "something odd" in zh_e and "(false alarm, checked)" in zh_e

    en = _get(client, "/monitoring/", "operator", "en")
    assert "passenger trapped at a landing" in en and "no message since " in en and "平层关人" not in en
    en_e = _get(client, f"/monitoring/elevators/{world.elevators['a1'].pk}/", "operator", "en")
    assert "passenger trapped away from a landing" in en_e and "(power normal)" in en_e and "非平层关人" not in en_e
    assert legacy.pk and own.pk


@pytest.mark.parametrize("key,params", [(k, {"speed": 2.5, "ratio": "1.2", "rated": 2.0, "since": "2026-11-29T10:00:00+00:00",
                                              "window": 20, "limit": "3.00", "samples": 40, "hz": "4", "peak": "5.1",
                                              "seconds": "10"}) for k in codes.ALARM_TEXTS])
def test_every_alarm_text_has_a_chinese_label(key, params):
    stored = codes.alarm_text(key, **params)
    with translation.override("zh-hans"):
        shown = codes.detail_label("", stored)
    with translation.override("en"):
        assert codes.detail_label("", stored) == str(codes.ALARM_TEXTS[key][1]) % {
            k: codes._param_display(k, str(v)) for k, v in params.items()}
    assert shown != stored and any("\u4e00" <= ch <= "\u9fff" for ch in shown), (key, shown)


def test_device_page_shows_labelled_translated_status_fields(client, world, dev):
    now = timezone.now()
    services.process_batch([services.RawMessage(m, transport="http") for m in (
        msg("D-a1", "status", {"mode": 2, "running": 0, "dir": 1, "door_zone": 2, "floor": 7, "door": 1, "passenger": 1,
                               "power": 1, "speed": 0.0}, ts=now, mid="s1"),
        msg("D-a1", "stats", {"run_hours": 1234.5, "humidity": 40}, ts=now, mid="s2"))])
    url = f"/monitoring/elevators/{world.elevators['a1'].pk}/"
    zh = _get(client, url, "maintenance_unit")
    for text in ("服务模式: 检修", "门区: 门区外", "乘客: 有人", "门状态: 关门到位", "运行方向: 上行", "楼层: 7",
                 "速度: 0 m/s", "累计运行时间: 1,234.5 h", "湿度: 40%"):
        assert text in zh, text
    text_only = re.sub(r'\s(?:href|action|src)="[^"]*"', "", zh)  # URLs (the nav's /inspection/) are not shown text
    for raw in ("mode=", "door_zone=", "passenger=", "door_zone:", "inspection"):
        assert raw not in text_only, raw
    en = _get(client, url, "maintenance_unit", "en")
    for text in ("Service mode: inspection", "Door zone: outside the door zone", "Passenger: occupied", "Floor: 7",
                 "Running time: 1,234.5 h"):
        assert text in en, text
    assert "检修" not in en


def test_status_rows_use_one_mapping_for_wire_and_snapshot_names():
    with translation.override("zh-hans"):
        wire = codes.status_rows({"mode": 0, "passenger": 2, "power": 2, "floor": None, "extra": "x"})
        snap = codes.status_rows({"service_mode": 0, "passenger_status": 2, "power_status": 2, "car_position": None})
    assert [(r["label"], r["value"]) for r in wire] == [("服务模式", "停止服务"), ("乘客", "无人"), ("电源", "停电"), ("extra", "x")]
    assert [(r["label"], r["value"]) for r in snap] == [("服务模式", "停止服务"), ("乘客", "无人"), ("电源", "停电")]
    with translation.override("en"):
        assert codes.status_rows({"mode": 9})[0]["value"] == "9"  # a code outside the known ones shows as sent
        # escalators have their own service-mode codes (docs/domain §4.1): 3 is "unknown" there, "fire return" on a lift
        assert codes.status_rows({"mode": 3}, escalator=True)[0]["value"] == "unknown"
        assert codes.status_rows({"mode": 3})[0]["value"] == "fire return"
        assert codes.status_rows({"mode": 0}, escalator=True)[0]["value"] == "stopped"
        assert codes.status_rows({"mode": 2}, escalator=True)[0]["value"] == codes.status_rows({"mode": 2})[0]["value"]


def test_coverage_shows_small_rates_with_significant_digits(client, world, dev, monkeypatch):
    html = _get(client, "/monitoring/", "regulator")
    assert '<td class="coverage">50%</td>' in html  # 1 of the district's 2 elevators
    real = selectors.coverage_by_area(world.users["regulator"])
    monkeypatch.setattr(selectors, "coverage_by_area",
                        lambda user: [{**real[0], "elevators": 43968, "monitored": 12, "online": 12, "offline": 0}])
    html = _get(client, "/monitoring/", "regulator")
    assert '<td class="coverage">0.027%</td>' in html and '<td class="coverage">0%</td>' not in html
