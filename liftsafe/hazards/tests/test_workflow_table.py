"""The hazard workflow declared once (hazards/workflow.py): for each role × state the detail page offers exactly the
transitions the user may take now; page and API use the same action names; no filing form for roles that cannot file."""
import re

import pytest
from django.urls import reverse

from liftsafe.hazards import api as hazards_api
from liftsafe.hazards import services, views
from liftsafe.hazards.models import State
from liftsafe.hazards.workflow import HAZARD_FLOW

from .helpers import file_hazard, submitted

pytestmark = pytest.mark.django_db

REG = {"lead": {"accept", "dismiss", "edit"}, "open": {"list", "stop-use", "edit"},
       "rectifying": {"list", "stop-use", "edit"}, "submitted": {"list", "stop-use", "edit", "close", "send-back"},
       "closed": set(), "dismissed": set()}
UNIT = {"lead": set(), "open": {"start", "submit"}, "rectifying": {"submit"}, "submitted": set(), "closed": set(), "dismissed": set()}
EXPECTED = {
    "regulator": REG,
    "city_regulator": REG,
    "admin": {s: REG[s] | UNIT[s] for s in REG},  # an administrator may act for the regulator and for the unit
    "use_unit": UNIT,  # the responsible unit of these hazards
}
NOTHING = {s: set() for s in REG}
# the evidence upload form: the responsible unit while rectifying; a regulator (verification record) while open
UPLOAD = {"regulator": {"open", "rectifying", "submitted"}, "city_regulator": {"open", "rectifying", "submitted"},
          "admin": {"open", "rectifying"}, "use_unit": {"open", "rectifying"}}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _in_state(world, state):
    if state in ("lead", "dismissed"):
        h = services.lead_raise(elevator=world.elevators["a1"], source="complaint", source_ref="c-1", title="投诉：异响", level="general")
        if state == "dismissed":
            services.lead_dismiss(world.users["regulator"], h, version=h.version, reason="不是隐患")
    elif state == "open":
        h = file_hazard(world)
    elif state == "rectifying":
        h = file_hazard(world)
        services.rectification_start(world.users["use_unit"], h, version=h.version)
    else:
        h = submitted(world)
        if state == "closed":
            h.refresh_from_db()
            services.hazard_close(world.users["regulator"], h, version=h.version, resume=False)
    h.refresh_from_db()
    assert h.state == state
    return h


def _offered(html: str) -> set[str]:
    return set(re.findall(r'<form [^>]*data-action="([\w-]+)"', html))


@pytest.mark.parametrize("state", [s.value for s in State])
def test_page_offers_exactly_the_allowed_transitions_per_role(client, world, state):
    h = _in_state(world, state)
    for who in ["regulator", "city_regulator", "admin", "use_unit", "maintenance_unit", "inspection_agency", "insurer", "operator"]:
        client.force_login(world.users[who])
        r = client.get(h.get_absolute_url())
        if r.status_code == 404:  # outside the role's scope: nothing to offer
            assert who not in EXPECTED
            continue
        assert r.status_code == 200
        assert _offered(r.content.decode()) == EXPECTED.get(who, NOTHING)[state], (who, state)
        assert set(r.context["actions"]) == EXPECTED.get(who, NOTHING)[state]
        assert ('id="upload"' in r.content.decode()) is (state in UPLOAD.get(who, set())), (who, state, "upload")


def test_a_transition_not_offered_is_refused_on_post(client, world):
    h = submitted(world)
    client.force_login(world.users["use_unit"])  # the responsible unit cannot close out its own hazard
    client.post(reverse("hazards:action", args=[h.pk, "close"]), {"version": h.version})
    h.refresh_from_db()
    assert h.state == State.SUBMITTED
    client.force_login(world.users["regulator"])
    r = client.get(h.get_absolute_url())
    assert {"close", "send-back"} <= _offered(r.content.decode())
    client.post(reverse("hazards:action", args=[h.pk, "send-back"]), {"version": h.version, "reason": "照片不清楚"})
    h.refresh_from_db()
    assert h.state == State.RECTIFYING and h.sent_back_count == 1


def test_page_and_api_use_the_workflow_action_names():
    names = set(HAZARD_FLOW.names)
    assert set(views.ACTIONS) == names - {"reopen"}  # reopen happens on a re-check, not by a button
    assert set(hazards_api._ACTIONS) | {"stop-use"} <= names
    for t in HAZARD_FLOW.transitions:
        assert t.sources and t.permission.startswith("hazard.")


def test_api_action_with_the_page_name(client, world):
    h = file_hazard(world)
    client.force_login(world.users["use_unit"])
    r = client.post(f"/api/hazards/hazards/{h.pk}/start", {"version": h.version}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "rectifying"


def test_old_page_action_spelling_still_accepted(client, world):
    h = submitted(world)
    client.force_login(world.users["regulator"])
    client.post(reverse("hazards:action", args=[h.pk, "send_back"]), {"version": h.version, "reason": "再整改"})
    h.refresh_from_db()
    assert h.state == State.RECTIFYING


@pytest.mark.parametrize("who,status", [("insurer", 403), ("use_unit", 403), ("operator", 403), ("regulator", 200), ("admin", 200)])
def test_filing_form_only_for_roles_that_may_file(client, world, who, status):
    """Issue 16: the hazard filing form was rendered for insurers, who could not submit it."""
    client.force_login(world.users[who])
    r = client.get(reverse("hazards:new"), {"elevator": world.elevators["a1"].pk})
    assert r.status_code == status
    assert ('name="title"' in r.content.decode()) is (status == 200)
    if status == 403:
        r = client.get(reverse("hazards:new"), {"q": "a1"})
        assert r.status_code == 403
