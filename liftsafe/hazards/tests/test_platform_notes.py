"""The hazard's audit reasons are stored as kind + parameters (liftsafe.core.messages) and its page shows them in the
reader's language, old short codes included (issue 16, "Mixed language")."""
import pytest
from django.conf import settings
from django.urls import reverse

from liftsafe.core.messages import parse
from liftsafe.hazards import services
from liftsafe.hazards.tests.helpers import file_hazard

pytestmark = pytest.mark.django_db


def _page(client, h, lang):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client.get(reverse("hazards:detail", args=[h.pk])).content.decode()


def test_hazard_reasons_are_kinds_and_show_translated(client, world):
    h = file_hazard(world)
    h = services.rectification_start(world.users["use_unit"], h, version=h.version)
    reasons = [parse(r.history_change_reason) for r in h.history.order_by("history_date", "history_id")]
    assert reasons == [("hazards.filed", {}), ("hazards.rectifying", {})]
    h.history.filter(history_type="+").update(history_change_reason="filed")  # an old row, stored before kinds
    client.force_login(world.users["regulator"])
    zh, en = _page(client, h, "zh-hans"), _page(client, h, "en")
    assert "建档" in zh and "开始整改" in zh and "rectification started" in en and ">filed<" in en
    assert "@hazards." not in zh and "@hazards." not in en
