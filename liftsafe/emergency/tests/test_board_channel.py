"""The live board shows each case's channel (phone / car alarm / IoT / QR page) as its translated label; the
case page's "call attached" line too."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from liftsafe.emergency import services

pytestmark = pytest.mark.django_db


def _case(world, key, channel, minutes_ago=1):
    return services.intake_alarm(world.elevators[key], channel=channel, case_type="entrapment", trapped_count=1,
                                 received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
                                 actor=world.users["admin"]).case


def _row(html, case):
    start = html.index(f'id="case-{case.pk}"')
    return html[start:html.index("</tr>", start)]


@pytest.mark.parametrize("lang,header,labels", [
    ("zh-hans", "<th>报警渠道</th>", {"phone_96333": "96333 电话", "iot": "物联网自动报警", "qr_report": "扫码报警"}),
    ("en", "<th>Channel</th>", {"phone_96333": "96333 phone call", "iot": "IoT auto-alarm", "qr_report": "Public QR report"}),
])
def test_board_has_a_translated_channel_column(client, world, lang, header, labels):
    cases = {ch: _case(world, key, ch) for ch, key in (("phone_96333", "a1"), ("iot", "a2"))}
    client.force_login(world.users["admin"])
    cases["qr_report"] = _case(world, "b1", "qr_report")
    client.cookies["django_language"] = lang
    html = client.get(reverse("emergency:board")).content.decode()
    assert header in html
    for ch, case in cases.items():
        assert f'<td class="ch-{ch}">{labels[ch]}</td>' in _row(html, case), ch
    delta = client.get(reverse("emergency:board_delta")).content.decode()  # the polled rows carry it too
    assert f'<td class="ch-iot">{labels["iot"]}</td>' in _row(delta, cases["iot"])
    assert "phone_96333<" not in html and ">iot<" not in html


def test_case_page_shows_the_attached_calls_channel_label(client, world):
    case = _case(world, "a1", "iot")
    second = services.intake_alarm(world.elevators["a1"], channel="car_alarm", case_type="entrapment",
                                   received_at=timezone.now(), actor=world.users["operator"])
    assert second.case.pk == case.pk
    client.force_login(world.users["operator"])
    html = client.get(reverse("emergency:case_detail", args=[case.pk])).content.decode()
    assert "轿厢报警按钮" in html and " · car_alarm" not in html
