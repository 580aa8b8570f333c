"""Emergency pages with the Django test client: each page per role, scoping (404), responder rights, idempotency."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase, Milestone

pytestmark = pytest.mark.django_db


def login(client, world, who):
    client.force_login(world.users[who])
    return client


def open_case(world, key="a1", minutes_ago=1, **kw):
    params = dict(channel="phone_96333", case_type="entrapment", trapped_count=2, caller_phone="13812345678")
    params.update(kw)
    return services.intake_alarm(world.elevators[key], received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
                                 actor=world.users["operator"], **params).case


def dispatched_case(world, key="a1", **kw):
    case = open_case(world, key, **kw)
    return services.dispatch_case(world.users["operator"], case, 1)


# --------------------------------------------------------------------------- role access

PAGES = {
    "emergency:console": {"operator": 200, "admin": 200, "regulator": 403, "maintenance_unit": 403, "nobody": 403, "insurer": 403},
    "emergency:board": {"operator": 200, "admin": 200, "regulator": 200, "maintenance_unit": 403, "nobody": 403, "use_unit": 403},
    "emergency:responder": {"maintenance_unit": 200, "rescue_station": 200, "operator": 403, "regulator": 403, "nobody": 403},
    "emergency:regulator": {"regulator": 200, "city_regulator": 200, "admin": 200, "operator": 403, "maintenance_unit": 403, "nobody": 403},
}


@pytest.mark.parametrize("page,who,status", [(p, w, s) for p, d in PAGES.items() for w, s in d.items()])
def test_page_access_by_role(client, world, page, who, status):
    login(client, world, who)
    assert client.get(reverse(page)).status_code == status


@pytest.mark.parametrize("page", list(PAGES))
def test_anonymous_redirected_to_login(client, page):
    r = client.get(reverse(page))
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_nav_link_only_for_roles_that_can_use_it(client, world):
    login(client, world, "operator")
    assert reverse("emergency:console") in client.get(reverse("registry:elevator_list")).content.decode()
    client.force_login(world.users["maintenance_unit"])
    html = client.get(reverse("registry:elevator_list")).content.decode()
    assert reverse("emergency:responder") in html and f'href="{reverse("emergency:console")}"' not in html
    client.force_login(world.users["insurer"])
    assert "/emergency/" not in client.get(reverse("registry:elevator_list")).content.decode()


# --------------------------------------------------------------------------- console: identify, intake

def test_console_identifies_by_rescue_code(client, world):
    login(client, world, "operator")
    r = client.get(reverse("emergency:console"), {"q": "100001"})
    html = r.content.decode()
    assert r.status_code == 200
    assert reverse("emergency:intake", args=[world.elevators["a1"].pk]) in html
    assert reverse("emergency:intake", args=[world.elevators["a2"].pk]) not in html


def test_console_htmx_partial_and_unknown_code(client, world):
    login(client, world, "operator")
    r = client.get(reverse("emergency:console"), {"q": "999999", "partial": "1"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "<html" not in html and "999999" in html and "em-result-not_found" in html


def test_console_out_of_scope_code_not_offered(client, world):
    login(client, world, "operator")
    html = client.get(reverse("emergency:console"), {"q": "100003"}).content.decode()  # B1
    assert reverse("emergency:intake", args=[world.elevators["b1"].pk]) not in html


def test_intake_out_of_scope_elevator_404(client, world):
    login(client, world, "operator")
    assert client.get(reverse("emergency:intake", args=[world.elevators["b1"].pk])).status_code == 404
    r = client.post(reverse("emergency:intake", args=[world.elevators["b1"].pk]), {"channel": "phone_96333", "case_type": "entrapment"})
    assert r.status_code == 404 and not EmergencyCase.objects.exists()


def test_intake_creates_case_with_checklist(client, world):
    login(client, world, "operator")
    a1 = world.elevators["a1"]
    page = client.get(reverse("emergency:intake", args=[a1.pk])).content.decode()
    assert "Do not try to force the doors" in page or "不要" in page  # reassure script (either language)
    r = client.post(reverse("emergency:intake", args=[a1.pk]), {
        "channel": "phone_96333", "case_type": "entrapment", "trapped_count": "3", "injured_count": "1",
        "car_position": "5F", "caller_phone": "138 1234 5678", "special_circumstances": "elderly passenger",
        "idempotency_key": "k-intake-1"})
    case = EmergencyCase.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("emergency:case_detail", args=[case.pk])
    assert (case.trapped_count, case.injured_count, case.car_position, case.caller_phone, case.special_circumstances) == (
        3, 1, "5F", "13812345678", "elderly passenger")
    assert case.created_by == world.users["operator"]


def test_intake_double_submit_is_idempotent(client, world):
    login(client, world, "operator")
    a1 = world.elevators["a1"]
    data = {"channel": "phone_96333", "case_type": "entrapment", "trapped_count": "1", "idempotency_key": "same-key"}
    client.post(reverse("emergency:intake", args=[a1.pk]), data)
    client.post(reverse("emergency:intake", args=[a1.pk]), data)
    case = EmergencyCase.objects.get()
    assert case.milestones.count() == 1  # one received, no attached duplicate


def test_intake_bad_input_names_field(client, world):
    login(client, world, "operator")
    r = client.post(reverse("emergency:intake", args=[world.elevators["a1"].pk]),
                    {"channel": "phone_96333", "case_type": "entrapment", "trapped_count": "-2"})
    assert r.status_code == 200 and not EmergencyCase.objects.exists()
    assert r.context["form"].errors["trapped_count"]


def test_second_call_attaches_to_open_case(client, world):
    case = open_case(world)
    login(client, world, "operator")
    page = client.get(reverse("emergency:intake", args=[world.elevators["a1"].pk])).content.decode()
    assert case.order_number in page
    r = client.post(reverse("emergency:intake", args=[world.elevators["a1"].pk]),
                    {"channel": "car_alarm", "case_type": "entrapment", "idempotency_key": "second"})
    assert r["Location"] == reverse("emergency:case_detail", args=[case.pk])
    assert EmergencyCase.objects.count() == 1
    assert case.milestones.filter(kind=Milestone.Kind.CALL_ATTACHED).count() == 1


# --------------------------------------------------------------------------- case page, dispatch

def test_case_page_shows_dispatch_options_level1_preselected(client, world):
    case = open_case(world)
    login(client, world, "operator")
    r = client.get(reverse("emergency:case_detail", args=[case.pk]))
    opts = r.context["dispatch_options"]
    assert [o["level"] for o in opts] == [1, 2, 3]
    assert opts[0]["selected"] and opts[0]["org"] == world.orgs[("maintenance_unit", "a")]
    assert opts[1]["org"].kind == "rescue_station" and opts[2]["org"].kind == "fire_brigade"
    assert world.orgs[("maintenance_unit", "a")].name in r.content.decode()


def test_dispatch_level1(client, world):
    case = open_case(world)
    login(client, world, "operator")
    r = client.post(reverse("emergency:case_dispatch", args=[case.pk]), {"level": "1"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == "dispatched" and case.level == 1 and case.responder == world.orgs[("maintenance_unit", "a")]


def test_dispatch_by_non_operator_forbidden(client, world):
    case = open_case(world)
    login(client, world, "regulator")
    assert client.post(reverse("emergency:case_dispatch", args=[case.pk]), {"level": "1"}).status_code == 403
    case.refresh_from_db()
    assert case.state == "received"


def test_case_out_of_scope_404(client, world):
    case = open_case(world, "b1", actor=None) if False else services.intake_alarm(
        world.elevators["b1"], channel="iot", case_type="entrapment", received_at=timezone.now()).case
    for who in ("operator", "regulator", "maintenance_unit", "insurer"):
        login(client, world, who)
        assert client.get(reverse("emergency:case_detail", args=[case.pk])).status_code == 404, who
    login(client, world, "city_regulator")
    assert client.get(reverse("emergency:case_detail", args=[case.pk])).status_code == 200


def test_phone_masked_for_regulator_visible_for_operator(client, world):
    case = open_case(world)
    login(client, world, "operator")
    assert "13812345678" in client.get(reverse("emergency:case_detail", args=[case.pk])).content.decode()
    login(client, world, "regulator")
    html = client.get(reverse("emergency:case_detail", args=[case.pk])).content.decode()
    assert "13812345678" not in html and "138****5678" in html


def test_operator_completes_case(client, world):
    case = dispatched_case(world)
    login(client, world, "operator")
    client.post(reverse("emergency:case_close", args=[case.pk]), {"kind": "completed", "note": "confirmed by caller"})
    case.refresh_from_db()
    assert case.state == "completed"


# --------------------------------------------------------------------------- board

def test_board_full_and_delta(client, world):
    c1 = dispatched_case(world, "a1")
    # last changed a minute ago (the delta re-sends a 2 s overlap, so "just now" would come again)
    EmergencyCase.objects.filter(pk=c1.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=1))
    login(client, world, "operator")
    r = client.get(reverse("emergency:board"))
    html = r.content.decode()
    assert f'id="case-{c1.pk}"' in html and c1.order_number in html
    cursor = r["X-Board-Version"]
    # nothing changed → no rows
    d = client.get(reverse("emergency:board_delta"), {"since": cursor})
    assert "<tr" not in d.content.decode()
    # a new case and a progress change → exactly those rows
    c2 = open_case(world, "a2")
    services.record_milestone(world.users["maintenance_unit"], c1, "responded")
    d = client.get(reverse("emergency:board_delta"), {"since": cursor}).content.decode()
    assert f'id="case-{c2.pk}"' in d and f'id="case-{c1.pk}"' in d and 'data-st="responded"' in d
    cursor2 = client.get(reverse("emergency:board_delta"), {"since": cursor})["X-Board-Version"]
    services.record_milestone(world.users["operator"], c2, "cancelled")
    d = client.get(reverse("emergency:board_delta"), {"since": cursor2}).content.decode()
    assert f'data-closed="{c2.pk}"' in d


def test_board_scoped(client, world):
    other = services.intake_alarm(world.elevators["b1"], channel="iot", case_type="entrapment", received_at=timezone.now()).case
    login(client, world, "operator")
    assert other.order_number not in client.get(reverse("emergency:board")).content.decode()
    assert other.order_number not in client.get(reverse("emergency:board_delta")).content.decode()


def test_board_timer_colours(client, world):
    case = open_case(world, minutes_ago=10)
    services.dispatch_case(world.users["operator"], case, 1, at=timezone.now() - dt.timedelta(minutes=5))
    login(client, world, "operator")
    rows = client.get(reverse("emergency:board")).context["rows"]
    row = next(r for r in rows if r["id"] == case.pk)
    assert row["ld_cls"] == "t-late" and row["row_cls"] == "late"  # 5 min > 3 min response limit
    assert row["rc_cls"] == "t-ok"  # 10 min of the 30 min arrival limit


# --------------------------------------------------------------------------- responder

def test_responder_sees_only_cases_dispatched_to_it(client, world):
    mine = dispatched_case(world, "a1")
    undispatched = open_case(world, "a2")
    login(client, world, "maintenance_unit")
    html = client.get(reverse("emergency:responder")).content.decode()
    assert mine.order_number in html and undispatched.order_number not in html
    login(client, world, "rescue_station")
    assert mine.order_number not in client.get(reverse("emergency:responder")).content.decode()


def test_responder_flow_respond_arrive_release_cause(client, world):
    case = dispatched_case(world, trapped_count=2)
    login(client, world, "maintenance_unit")
    url = reverse("emergency:responder_milestone", args=[case.pk])
    client.post(url, {"kind": "responded", "idempotency_key": "r1"})
    client.post(url, {"kind": "responded", "idempotency_key": "r1"})  # double tap
    client.post(url, {"kind": "arrived", "idempotency_key": "a1"})
    r = client.post(url, {"kind": "released", "released_count": "3", "idempotency_key": "x1"})  # more than trapped
    case.refresh_from_db()
    assert case.state == "arrived"
    client.post(url, {"kind": "released", "released_count": "2", "idempotency_key": "x2"})
    client.post(reverse("emergency:responder_cause", args=[case.pk]), {"cause_class": "external", "cause_item": "external:power_cut"})
    case.refresh_from_db()
    assert case.state == "released" and case.released_count == 2
    assert (case.cause_class, case.cause_item) == ("external", "power_cut")
    assert case.milestones.filter(kind="responded").count() == 1
    assert r.status_code == 302


def test_fault_report_is_closed_not_released_by_the_responder(client, world):
    """Nobody is trapped in a fault report: after arrival the responder gets "close the case", not "released";
    the service refuses a release for it (naming the field) and the case stays arrived."""
    case = dispatched_case(world, case_type="fault_report", trapped_count=None)
    login(client, world, "maintenance_unit")
    url = reverse("emergency:responder_milestone", args=[case.pk])
    client.post(url, {"kind": "responded", "idempotency_key": "f1"})
    client.post(url, {"kind": "arrived", "idempotency_key": "f2"})
    page = client.get(reverse("emergency:responder"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="completed"' in page and 'value="released"' not in page
    with pytest.raises(services.ValidationError) as exc:
        services.record_milestone(world.users["maintenance_unit"], case, "released", released_count=0)
    assert "kind" in exc.value.message_dict
    case.refresh_from_db()
    assert case.state == "arrived"
    client.post(url, {"kind": "completed", "idempotency_key": "f3"})
    case.refresh_from_db()
    assert case.state == "completed"


def test_cause_item_must_belong_to_class(client, world):
    case = dispatched_case(world)
    login(client, world, "maintenance_unit")
    client.post(reverse("emergency:responder_cause", args=[case.pk]), {"cause_class": "human", "cause_item": "external:power_cut"})
    case.refresh_from_db()
    assert case.cause_class == ""


def test_responder_cannot_act_on_another_organisations_case(client, world):
    case = dispatched_case(world)
    login(client, world, "rescue_station")  # not dispatched to it
    r = client.post(reverse("emergency:responder_milestone", args=[case.pk]), {"kind": "responded"})
    assert r.status_code == 404
    case.refresh_from_db()
    assert case.state == "dispatched"


def test_responder_after_escalation_can_no_longer_act(client, world):
    case = dispatched_case(world)
    services.dispatch_case(world.users["operator"], case, 2)
    login(client, world, "maintenance_unit")
    r = client.post(reverse("emergency:responder_milestone", args=[case.pk]), {"kind": "responded"})
    assert r.status_code == 403
    assert not case.milestones.filter(kind="responded").exists()


def test_operator_cannot_use_responder_actions(client, world):
    case = dispatched_case(world)
    login(client, world, "operator")
    assert client.post(reverse("emergency:responder_milestone", args=[case.pk]), {"kind": "responded"}).status_code == 403


# --------------------------------------------------------------------------- regulator

def test_regulator_view_late_and_escalations(client, world):
    case = open_case(world, minutes_ago=20)
    services.dispatch_case(world.users["operator"], case, 1, at=timezone.now() - dt.timedelta(minutes=19))
    services.dispatch_case(world.users["operator"], case, 2, reason="no response")
    login(client, world, "regulator")
    r = client.get(reverse("emergency:regulator"))
    ctx = r.context
    mu = next(x for x in ctx["responders"] if x["org"] == world.orgs[("maintenance_unit", "a")])
    assert mu["dispatches"] == 1 and mu["late_response"] == 1
    assert case.order_number in r.content.decode()
    # regulator can read the full timeline, but sees no dispatch form
    page = client.get(reverse("emergency:case_detail", args=[case.pk]))
    assert page.status_code == 200 and "dispatch_form" not in page.context and len(page.context["timeline"]) == 3


def test_console_flags_candidate_with_open_case(client, world):
    case = open_case(world)
    login(client, world, "operator")
    html = client.get(reverse("emergency:console"), {"q": "100001"}).content.decode()
    assert case.order_number in html and reverse("emergency:case_detail", args=[case.pk]) in html


@pytest.mark.parametrize("lang,expected,absent", [("zh-hans", "实时警情", "Live board"), ("en", "Live board", "实时警情")])
def test_board_language(client, world, lang, expected, absent):
    login(client, world, "operator")
    client.cookies["django_language"] = lang
    html = client.get(reverse("emergency:board")).content.decode()
    assert expected in html and absent not in html


def test_delta_payload_small(client, world):
    cases = [open_case(world, k) for k in ("a1", "a2")]
    login(client, world, "operator")
    since = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    r = client.get(reverse("emergency:board_delta"), {"since": since})
    body = r.content.decode()
    assert all(f'id="case-{c.pk}"' in body for c in cases)
    assert len(r.content) < 20_000 and "<html" not in body and "13812345678" not in body


def test_level1_unit_reports_cause_after_escalation(client, world):
    case = dispatched_case(world, trapped_count=1)
    services.dispatch_case(world.users["operator"], case, 2)  # the rescue station takes over
    rs = world.users["rescue_station"]
    for kind in ("responded", "arrived"):
        services.record_milestone(rs, case, kind)
    services.record_milestone(rs, case, "released", released_count=1)
    login(client, world, "maintenance_unit")
    page = client.get(reverse("emergency:responder"))
    card = next(c for c in page.context["cards"] if c["case"].pk == case.pk)
    assert card["can_cause"] and not card["can_respond"] and not card["can_release"]
    client.post(reverse("emergency:responder_cause", args=[case.pk]), {"cause_class": "human", "cause_item": "human:overload"})
    case.refresh_from_db()
    assert (case.cause_class, case.cause_item) == ("human", "overload")


def test_board_undispatched_first_and_late_counter_matches_red_rows(client, world, settings):
    """Undispatched cases sort to the top (then by received time) and turn red after dispatch_delay_warning_s;
    the "late" counter counts exactly the rows shown red (any case type, undispatched included)."""
    from liftsafe.testing import make_elevator

    for i in range(3):
        world.elevators[f"x{i}"] = make_elevator(f"X{i}", world.district_a)
    now = timezone.now()
    ago = lambda s: now - dt.timedelta(seconds=s)  # noqa: E731
    op = world.users["operator"]
    d_late = open_case(world, "a1", minutes_ago=10)  # entrapment, dispatched 5 min ago → red (response 3 min)
    services.dispatch_case(op, d_late, 1, at=ago(300))
    d_fault = open_case(world, "a2", minutes_ago=9, case_type="fault_report", trapped_count=None)
    services.dispatch_case(op, d_fault, 1, at=ago(290))  # fault report late too: same red rule
    d_ok = open_case(world, "x0", minutes_ago=8)
    services.dispatch_case(op, d_ok, 2, at=ago(30))  # no contract on X0: rescue station
    u_old = open_case(world, "x1", minutes_ago=2)  # nobody dispatched for 2 min → red (60 s default)
    u_new = open_case(world, "x2", minutes_ago=0.5)  # 30 s → not yet red
    login(client, world, "operator")
    r = client.get(reverse("emergency:board"))
    rows = r.context["rows"]
    assert [row["id"] for row in rows] == [u_old.pk, u_new.pk, d_late.pk, d_fault.pk, d_ok.pk]
    by_id = {row["id"]: row for row in rows}
    assert by_id[u_old.pk]["rc_cls"] == "t-late" and by_id[u_old.pk]["row_cls"] == "late"
    assert by_id[u_new.pk]["rc_cls"] == "t-ok" and by_id[u_new.pk]["row_cls"] == "undispatched"
    red = {row["id"] for row in rows if row["row_cls"] == "late"}
    assert red == {u_old.pk, d_late.pk, d_fault.pk}
    assert r.context["counts"]["late"] == len(red) == 3
    html = r.content.decode()
    assert f'id="case-{u_old.pk}" class="late"' in html and 'data-rl="60"' in html
    # the threshold is a rule: at 20 s the 30 s-old undispatched case is red too, and counted
    settings.LIFTSAFE_RULES = {"dispatch_delay_warning_s": 20}
    d = client.get(reverse("emergency:board_delta"))
    red = {row["id"] for row in d.context["rows"] if row["row_cls"] == "late"}
    assert u_new.pk in red and d.context["counts"]["late"] == len(red) == 4


@pytest.mark.parametrize("lang,expected,absent", [
    ("zh-hans", ["人为原因", "生活/装修垃圾卡阻门", "门系统原因", "DB32/T 4130-2021 §5.3"], ["(human)", "Human causes", "Rubbish blocking", "FACTS"]),
    ("en", ["Human causes", "Rubbish blocking the doors", "Door system", "DB32/T 4130-2021 §5.3"], ["人为原因", "生活/装修垃圾卡阻门", "FACTS"]),
])
def test_cause_labels_and_close_hint_in_one_language(client, world, lang, expected, absent):
    """Cause options (responder page) and the reported cause / close hint (case page) are all in the UI language."""
    case = dispatched_case(world, trapped_count=1)
    mu = world.users["maintenance_unit"]
    for kind in ("responded", "arrived"):
        services.record_milestone(mu, case, kind)
    services.record_milestone(mu, case, "released", released_count=1)
    client.cookies["django_language"] = lang
    login(client, world, "maintenance_unit")
    responder = client.get(reverse("emergency:responder")).content.decode()
    assert expected[0] in responder and expected[1] in responder and absent[0] not in responder
    services.report_cause(mu, case, "human", "rubbish_blocking_doors")
    login(client, world, "operator")
    page = client.get(reverse("emergency:case_detail", args=[case.pk])).content.decode()
    for text in (expected[0], expected[1], expected[3]):  # cause class → item, close hint
        assert text in page, text
    for text in absent:
        assert text not in page, text
    assert expected[2] in responder


def test_trapped_count_not_applicable_outside_entrapments(client, world):
    import re

    fault = open_case(world, "a1", case_type="fault_report", trapped_count=None)
    unknown = open_case(world, "a2", case_type="entrapment", trapped_count=None)
    login(client, world, "operator")
    html = client.get(reverse("emergency:board")).content.decode()

    def cell(case):
        row = re.search(rf'<tr id="case-{case.pk}".*?</tr>', html, re.S).group(0)
        return re.search(r'<td class="num">(.*?)</td>', row).group(1)

    assert cell(fault) == "—" and cell(unknown) == "?"
    assert '<span class="em-pill" id="board-tab-count">2</span>' in html  # the tab badge the delta poll updates
    for case, shown in ((fault, "—"), (unknown, "?")):
        page = client.get(reverse("emergency:case_detail", args=[case.pk])).content.decode()
        assert f'<dd class="em-big">{shown}</dd>' in page


def test_responder_closed_list_excludes_case_escalated_away_but_still_open(client, world):
    """Issue 16: a case escalated from the maintenance unit to the rescue station and still open is not 'closed'."""
    case = dispatched_case(world)
    services.dispatch_case(world.users["operator"], case, 2, reason="no response")
    case.refresh_from_db()
    assert case.is_open and case.level == 2
    login(client, world, "maintenance_unit")
    page = client.get(reverse("emergency:responder"))
    assert case not in page.context["closed"]
    assert case in page.context["handed_over"]
    html = page.content.decode()
    closed_part = html.split('class="em-closed"')[1].split("</ul>")[0] if 'class="em-closed"' in html else ""
    assert case.order_number not in closed_part
    assert case.order_number in html.split('class="em-handed-over"')[1].split("</ul>")[0]
    # once completed, it is listed as closed
    rs = world.users["rescue_station"]
    services.record_milestone(rs, case, "responded")
    services.record_milestone(rs, case, "completed")
    services.report_cause(rs, case, "human", "overload")
    page = client.get(reverse("emergency:responder"))
    assert case in page.context["closed"] and case not in page.context["handed_over"]


def _close_buttons(html: str) -> set[str]:
    import re

    if 'class="card em-close"' not in html:
        return set()
    form = html.split('class="card em-close"', 1)[1].split("</form>", 1)[0]
    return set(re.findall(r'name="kind" value="(\w+)"', form))


def test_operator_close_buttons_follow_the_case_workflow(client, world):
    """Issue 16: 'completed' was offered on an entrapment before dispatch; the page offers only the close
    transitions of emergency/workflow.py the user may take now, and uses the API's milestone names."""
    from liftsafe.emergency.workflow import CASE_FLOW, CLOSE_TRANSITIONS

    assert set(CLOSE_TRANSITIONS) <= set(CASE_FLOW.names)
    case = open_case(world)  # received entrapment
    login(client, world, "operator")
    url = reverse("emergency:case_detail", args=[case.pk])
    assert _close_buttons(client.get(url).content.decode()) == {"false_alarm", "cancelled"}
    r = client.post(reverse("emergency:case_close", args=[case.pk]), {"kind": "completed"})
    case.refresh_from_db()
    assert case.state == "received"  # refused by the service too
    services.dispatch_case(world.users["operator"], case, 1)
    assert _close_buttons(client.get(url).content.decode()) == {"completed", "false_alarm", "cancelled"}
    mu = world.users["maintenance_unit"]
    services.record_milestone(mu, case, "responded")
    services.record_milestone(mu, case, "arrived")
    assert _close_buttons(client.get(url).content.decode()) == {"completed", "false_alarm"}  # no cancelling once on site
    # a fault report may be completed on the phone, straight from received
    fault = open_case(world, "a2", case_type="fault_report", trapped_count=None)
    assert _close_buttons(client.get(reverse("emergency:case_detail", args=[fault.pk])).content.decode()) == {
        "completed", "false_alarm", "cancelled"}
    # a regulator reads the case and gets no close form at all
    login(client, world, "regulator")
    assert _close_buttons(client.get(url).content.decode()) == set()


def test_responder_buttons_follow_the_case_workflow(client, world):
    case = dispatched_case(world)
    login(client, world, "maintenance_unit")
    card = lambda: next(c for c in client.get(reverse("emergency:responder")).context["cards"] if c["case"].pk == case.pk)  # noqa: E731
    c = card()
    assert (c["can_respond"], c["can_arrive"], c["can_release"], c["can_complete"]) == (True, True, False, False)
    services.record_milestone(world.users["maintenance_unit"], case, "arrived")
    c = card()
    assert (c["can_respond"], c["can_arrive"], c["can_release"], c["can_complete"]) == (False, False, True, False)
