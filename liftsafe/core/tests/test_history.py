"""Generic audit history (liftsafe.core.history): who and why on each save, one scoped page and one API route
for any model with history."""
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from liftsafe.core.history import history_rows, save_with_history, stamp
from liftsafe.hazards import services as hz
from liftsafe.hazards.tests.helpers import file_hazard

pytestmark = pytest.mark.django_db


def test_save_with_history_records_who_and_why(world):
    e = world.own()
    e.address = "1 New Road"
    save_with_history(e, world.users["regulator"], "address corrected " + "x" * 200)
    rec = e.history.order_by("-history_id").first()
    assert rec.history_user == world.users["regulator"]
    assert rec.history_change_reason.startswith("address corrected") and len(rec.history_change_reason) == 100
    e = type(e).objects.get(pk=e.pk)
    stamp(e, None, "")  # nobody, no reason: keeps simple-history's defaults
    e.save()
    rec = e.history.order_by("-history_id").first()
    assert rec.history_user is None and rec.history_change_reason is None


def test_services_record_the_acting_user_and_reason(world):
    h = file_hazard(world)
    hz.rectification_start(world.users["use_unit"], h, version=h.version)
    with translation.override("en"):  # reasons are stored as kinds (liftsafe.core.messages), shown translated
        rows = history_rows(h)
    assert [r.reason for r in rows] == ["rectification started", "filed"]
    assert [r.user for r in rows] == ["use_unit", "regulator"]
    state = next(c for c in rows[0].changes if c.field == "state")
    from liftsafe.hazards.models import State

    with translation.override("en"):
        assert (state.old, state.new) == (str(State.OPEN.label), str(State.RECTIFYING.label))  # choice labels, not codes


@pytest.mark.parametrize("who,side,status", [("regulator", "a", 200), ("city_regulator", "a", 200), ("admin", "a", 200),
                                             ("use_unit", "a", 200), ("nobody", "a", 404), ("regulator", "b", 404),
                                             ("use_unit", "b", 404), ("city_regulator", "b", 200)])
def test_history_page_is_scoped_like_the_object(client, world, who, side, status):
    if side == "a":
        h = file_hazard(world)
        hz.rectification_start(world.users["use_unit"], h, version=h.version)
    else:  # district B's hazard, filed by the city regulator
        h = file_hazard(world, elevator="b1", unit=("use_unit", "b"), user="city_regulator")
    client.force_login(world.users[who])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.get(reverse("history", args=["hazards", "hazard", h.pk]))
    assert r.status_code == status
    if status == 200:
        html = r.content.decode()
        assert "filed" in html and html.count('class="history-row"') == (2 if side == "a" else 1)
        if side == "a":
            assert "rectification started" in html and "use_unit" in html


def test_history_page_for_any_model_with_history_and_404_otherwise(client, world):
    client.force_login(world.users["maintenance_unit"])
    own, other = world.own(), world.other()
    assert client.get(reverse("history", args=["registry", "elevator", own.pk])).status_code == 200
    assert client.get(reverse("history", args=["registry", "elevator", other.pk])).status_code == 404  # out of scope
    assert client.get(reverse("history", args=["registry", "elevator", 999999])).status_code == 404
    assert client.get(reverse("history", args=["registry", "elevator", "abc"])).status_code == 404  # bad id: no 500
    assert client.get(reverse("history", args=["core", "apitoken", 1])).status_code == 404  # no history
    assert client.get(reverse("history", args=["nope", "thing", 1])).status_code == 404
    client.logout()
    assert client.get(reverse("history", args=["registry", "elevator", own.pk])).status_code == 302


def test_history_api_same_rows_same_scope(client, world):
    h = file_hazard(world)
    hz.rectification_start(world.users["use_unit"], h, version=h.version)
    client.force_login(world.users["regulator"])
    r = client.get(f"/api/history/hazards/hazard/{h.pk}")  # default language zh-Hans
    assert r.status_code == 200, r.content
    rows = r.json()
    assert [x["reason"] for x in rows] == ["开始整改", "建档"] and rows[0]["user"] == "use_unit"
    assert any(c["field"] == "state" for c in rows[0]["changes"])
    client.force_login(world.users["nobody"])
    assert client.get(f"/api/history/hazards/hazard/{h.pk}").status_code == 404
    client.force_login(world.users["maintenance_unit"])
    assert client.get(f"/api/history/registry/elevator/{world.other().pk}").status_code == 404
