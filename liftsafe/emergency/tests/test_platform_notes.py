"""Case audit reasons and platform milestone notes are stored as kind + parameters and shown in the reader's
language (issue 16, "Mixed language"; liftsafe.core.messages)."""
import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from liftsafe.core.messages import encode, parse
from liftsafe.emergency import services

pytestmark = pytest.mark.django_db


def _client(user, lang):
    c = Client()
    c.force_login(user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return c


def test_intake_reason_and_a_simulated_note_show_in_the_readers_language(world, open_case, t0):
    rec = open_case.history.earliest("history_date")
    assert parse(rec.history_change_reason) == ("emergency.intake", {"channel": "phone_96333"})
    services.record_milestone(None, open_case, "false_alarm", t0 + dt.timedelta(minutes=3), note=encode("emergency.sim_false_alarm"))
    reg = world.users["regulator"]
    en = _client(reg, "en").get(f"/api/emergency/cases/{open_case.pk}/timeline").json()
    zh = _client(reg, "zh-hans").get(f"/api/emergency/cases/{open_case.pk}/timeline").json()
    assert [m["note"] for m in en if m["kind"] == "false_alarm"] == ["simulated: nobody trapped"]
    assert [m["note"] for m in zh if m["kind"] == "false_alarm"] == ["模拟：无人被困"]
    h_en = _client(reg, "en").get(f"/api/history/emergency/emergencycase/{open_case.pk}").json()
    h_zh = _client(reg, "zh-hans").get(f"/api/history/emergency/emergencycase/{open_case.pk}").json()
    from django.utils import translation

    from liftsafe.emergency.models import Channel

    with translation.override("en"):
        label_en = str(Channel("phone_96333").label)
    with translation.override("zh-hans"):
        label_zh = str(Channel("phone_96333").label)
    assert h_en[-1]["reason"] == f"received via {label_en}" and h_zh[-1]["reason"] == f"经{label_zh}接警"
    page = _client(reg, "zh-hans").get(f"/emergency/cases/{open_case.pk}/").content.decode()
    assert "模拟：无人被困" in page and "@emergency." not in page
