"""The exchange pages show record types, adapters and transport errors as translated labels, not internal names."""
from __future__ import annotations

import re

import pytest
from django.conf import settings as dj_settings
from django.test import Client
from django.utils import timezone

from liftsafe.exchange.models import Batch, BatchItem, Destination, OutboxRecord, SendLog, record_type_label

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(world):
    d = Destination.objects.create(name="nat", kind="national", adapter="national", endpoint_url="https://nat.invalid/up",
                                   record_types=["case", "elevator"])
    rec = OutboxRecord.objects.create(destination=d, record_type="elevator", object_id=world.elevators["a1"].pk,
                                      record_key="REG-1", payload={}, idempotency_key="elevator:1:1")
    b = Batch.objects.create(destination=d, idempotency_key="b-1", record_type="elevator")
    BatchItem.objects.create(batch=b, record=rec)
    SendLog.objects.create(batch=b, destination=d, attempt=1, started_at=timezone.now(), duration_ms=5, error_class="timeout",
                           records=1)
    return d, b


def _pages(world, lang, d):
    c = Client()
    c.force_login(world.users["admin"])
    if lang:
        c.cookies[dj_settings.LANGUAGE_COOKIE_NAME] = lang
    return {url: c.get(url).content.decode() for url in
            ("/exchange/", f"/exchange/destinations/{d.pk}/", "/exchange/outbox/", "/exchange/log/")}


def _cells(html):
    return re.findall(r"<td>([^<]*)</td>", html)


def test_record_types_adapters_and_errors_are_labelled_in_zh_hans_and_english(world, rows):
    d, _b = rows
    zh = _pages(world, None, d)
    assert "电梯档案" in zh[f"/exchange/destinations/{d.pk}/"] and "应急处置单（故障 / 工单）, 电梯档案" in zh[f"/exchange/destinations/{d.pk}/"]
    assert "电梯档案" in _cells(zh["/exchange/outbox/"]) and "elevator" not in _cells(zh["/exchange/outbox/"])
    assert "电梯档案" in _cells(zh[f"/exchange/destinations/{d.pk}/"])  # the batches table
    assert "国家平台（docs/domain §3.5 JSON）" in _cells(zh["/exchange/"]) and "national" not in _cells(zh["/exchange/"])  # adapter label
    assert ">超时</span>" in zh["/exchange/log/"] and ">timeout</span>" not in zh["/exchange/log/"]
    en = _pages(world, "en", d)
    assert "Emergency case (fault / work order), Elevator register entry" in en[f"/exchange/destinations/{d.pk}/"]
    assert "Elevator register entry" in _cells(en["/exchange/outbox/"])
    assert ">timeout</span>" in en["/exchange/log/"] and "National platform (docs/domain §3.5 JSON)" in _cells(en["/exchange/"])


def test_unknown_values_show_as_stored():
    assert record_type_label("hazard") == "hazard"
    assert SendLog(error_class="HTTP 503").error_label == "HTTP 503"
    assert Destination(adapter="gone").adapter_label == "gone"


def test_reply_code_error_classes_are_labelled():
    """Review fix: the busy / refused reply-code classes of a 200 reply are translated like the transport errors."""
    from django.utils import translation

    from liftsafe.exchange import services
    from liftsafe.exchange.models import Batch, send_error_label

    busy, refused = services.BUSY.format(code=503), services.REFUSED.format(code=401)
    with translation.override("zh-hans"):
        assert send_error_label(busy) == "接收方繁忙（回复代码 503）"
        assert SendLog(error_class=refused).error_label == "接收方拒绝（回复代码 401）"
        assert Batch(last_error=busy).last_error_label == "接收方繁忙（回复代码 503）"
        assert send_error_label("2 rejected") == "2 条被拒收" and send_error_label("") == ""
    with translation.override("en"):
        assert send_error_label(busy) == "receiver busy (reply code 503)"


def test_batch_page_shows_the_last_error_label(world, rows):
    _d, b = rows
    Batch.objects.filter(pk=b.pk).update(last_error="busy (reply code 503)")
    c = Client()
    c.force_login(world.users["admin"])
    html = c.get(b.get_absolute_url()).content.decode()
    assert "接收方繁忙（回复代码 503）" in html and ">busy (reply code 503)<" not in html
