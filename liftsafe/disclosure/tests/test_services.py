"""Services of the disclosure app: codes, filing with every refusal, the loop, moderation, forwarding."""
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from liftsafe.core.errors import NotFound
from liftsafe.disclosure import domain, public, services
from liftsafe.disclosure.domain import PublicField
from liftsafe.disclosure.models import PublicationSetting, PublicCode, PublicReport
from liftsafe.registry.models import Elevator

from .conftest import jpeg_with_gps, upload


def test_every_lift_gets_a_unique_unambiguous_code(dw):
    codes = list(PublicCode.objects.values_list("code", flat=True))
    assert len(codes) == Elevator.objects.count() == len(set(codes))
    for c in codes:
        assert domain.CODE_RE.match(c) and not set(c) & set("01ILOSB58")
    assert services.ensure_codes() == 0  # idempotent


def test_code_is_not_derived_from_registry(dw):
    e = dw.elevators["a1"]
    c = dw.code["a1"]
    assert e.rescue_code not in c and e.registration_code[:6] not in c


@pytest.mark.parametrize("raw, ok", [("", False), ("abc", False), ("0000000000", False), ("OOOOOOOOO", False),
                                     ("234679acd", True), (" 234679ACD ", True), ("2346<script>", False)])
def test_normalise_code(raw, ok):
    assert (domain.normalise_code(raw) is not None) == ok


def test_file_routes_to_units_and_notifies(dw):
    from liftsafe.core.models import Notification

    e = dw.elevators["a1"]
    r = services.report_file(elevator=e, category="fault", text="door does not close", phone="139 0000 1111", ip="10.0.0.1")
    assert domain.TICKET_RE.match(r.ticket)
    assert r.use_unit == dw.orgs[("use_unit", "a")] and r.maintenance_unit == dw.orgs[("maintenance_unit", "a")]
    assert r.phone == "13900001111" and r.address_hash and "10.0.0.1" not in r.address_hash
    assert Notification.objects.filter(kind="disclosure.report_filed").count() == 2


@pytest.mark.parametrize("kw, field", [
    ({"category": "trapped", "text": "help"}, "category"),
    ({"category": "nope", "text": "x"}, "category"),
    ({"category": "fault", "text": ""}, "text"),
    ({"category": "fault", "text": "x" * 2001}, "text"),
    ({"category": "fault", "text": "x", "phone": "call me maybe"}, "phone"),
])
def test_file_refusals_name_the_field(dw, kw, field):
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=dw.elevators["a1"], ip="1.1.1.1", **kw)
    assert field in exc.value.message_dict
    assert not PublicReport.objects.exists()


def test_scrapped_lift_and_unpublished_area_refuse_reports(dw):
    e = dw.elevators["a2"]
    Elevator.objects.filter(pk=e.pk).update(status="scrapped")
    e.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=e, category="fault", text="x", ip="1.1.1.1")
    assert "elevator" in exc.value.message_dict
    services.publication_set(dw.users["regulator"], dw.district_a, page=True, accept_reports=False, fields=["units"])
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", ip="1.1.1.1")
    assert "elevator" in exc.value.message_dict
    # district B (no setting) still accepts
    services.report_file(elevator=dw.elevators["b1"], category="fault", text="x", ip="1.1.1.1")


def test_flood_from_one_address_needs_the_signed_challenge(dw):
    e = dw.elevators["a1"]
    for i in range(3):
        services.report_file(elevator=e, category="fault", text=f"r{i}", ip="9.9.9.9")
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=e, category="fault", text="r4", ip="9.9.9.9")
    assert exc.value.error_dict["challenge"][0].code == services.CHALLENGE_NEEDED
    question, token = domain.make_challenge()
    a, b = (int(x) for x in question.split(" = ")[0].split(" + "))
    with pytest.raises(ValidationError):
        services.report_file(elevator=e, category="fault", text="r4", ip="9.9.9.9", challenge=token, answer=str(a + b + 1))
    with pytest.raises(ValidationError):  # a forged token
        services.report_file(elevator=e, category="fault", text="r4", ip="9.9.9.9", challenge=token + "x", answer=str(a + b))
    services.report_file(elevator=e, category="fault", text="r4", ip="9.9.9.9", challenge=token, answer=str(a + b))
    # another address is not limited
    services.report_file(elevator=e, category="fault", text="r5", ip="9.9.9.8")
    assert PublicReport.objects.count() == 5


def test_flood_on_one_lift_needs_the_challenge(dw, settings):
    settings.LIFTSAFE_RULES = {"disclosure_reports_per_lift_per_hour": 2}
    e = dw.elevators["a1"]
    services.report_file(elevator=e, category="fault", text="1", ip="1.0.0.1")
    services.report_file(elevator=e, category="fault", text="2", ip="1.0.0.2")
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=e, category="fault", text="3", ip="1.0.0.3")
    assert "challenge" in exc.value.message_dict


def test_photo_is_reencoded_without_exif_or_location(dw):
    r = services.report_file(elevator=dw.elevators["a1"], category="safety", text="", photo=upload(jpeg_with_gps()), ip="1.1.1.1")
    with r.photo.open("rb") as fh:
        data = fh.read()
    assert b"SECRET-CAMERA" not in data
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and not img.getexif()


def test_thirty_megabyte_photo_and_not_an_image_are_refused(dw):
    big = upload(b"\xff\xd8\xff" + b"\0" * (30 * 1024 * 1024))
    with pytest.raises(ValidationError) as exc:
        services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", photo=big, ip="1.1.1.1")
    assert "photo" in exc.value.message_dict
    for data, name in ((b"%PDF-1.4 not an image", "x.jpg"), (b"<svg onload=alert(1)>", "x.png"), (b"GIF89a" + b"\0" * 40, "x.gif")):
        with pytest.raises(ValidationError) as exc:
            services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", photo=upload(data, name), ip="1.1.1.1")
        assert "photo" in exc.value.message_dict
    assert not PublicReport.objects.exists()


def _report(dw, **kw):
    return services.report_file(elevator=dw.elevators["a1"], category=kw.pop("category", "fault"), text="broken", ip=kw.pop("ip", "2.2.2.2"), **kw)


def test_loop_answer_close_reopen_within_window_and_survey(dw):
    from liftsafe.core.models import Notification

    r = _report(dw)
    mu, uu = dw.users["maintenance_unit"], dw.users["use_unit"]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    r = services.report_act(mu, r, "progress", note="engineer on the way", expected_on=tomorrow)
    assert r.state == "in_progress" and r.expected_on == tomorrow
    r = services.report_act(uu, r, "close", note="door sensor replaced")
    assert r.state == "closed" and r.closed_at
    r = services.report_reopen(r.ticket, comment="still closes on people")
    assert r.state == "reopened" and r.reopen_count == 1
    assert Notification.objects.filter(kind="disclosure.report_reopened", area=dw.district_a).exists()
    r = services.report_act(mu, r, "close", note="fixed again")
    services.report_survey(r.ticket, fixed=True, score=4, comment="ok")
    with pytest.raises(ValidationError):
        services.report_survey(r.ticket, fixed=True, score=4)


def test_reopen_after_the_window_is_refused(dw):
    r = _report(dw)
    r = services.report_act(dw.users["maintenance_unit"], r, "close", note="done")
    PublicReport.objects.filter(pk=r.pk).update(closed_at=timezone.now() - dt.timedelta(days=365))
    with pytest.raises(ValidationError) as exc:
        services.report_reopen(r.ticket, comment="still broken")
    assert "closed_at" in exc.value.message_dict
    assert PublicReport.objects.get(pk=r.pk).state == "closed"


def test_reopen_needs_closed_state_and_known_ticket(dw):
    r = _report(dw)
    with pytest.raises(ValidationError):
        services.report_reopen(r.ticket, comment="x")
    with pytest.raises(NotFound):
        services.report_reopen("RZZZZZZZZZ", comment="x")
    with pytest.raises(NotFound):
        services.report_reopen("../../etc", comment="x")


def test_roles_and_scope_of_staff_actions(dw):
    r = _report(dw)
    with pytest.raises(PermissionDenied):
        services.report_act(dw.users["operator"], r, "acknowledge")
    with pytest.raises(PermissionDenied):
        services.report_act(dw.users["regulator"], r, "close", note="x")  # the regulator moderates, units answer
    other = services.report_file(elevator=dw.elevators["b1"], category="fault", text="b", ip="3.3.3.3")
    with pytest.raises(NotFound):
        services.report_act(dw.users["maintenance_unit"], other, "acknowledge")
    with pytest.raises(ValidationError) as exc:
        services.report_act(dw.users["maintenance_unit"], r, "close")
    assert "note" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.report_act(dw.users["maintenance_unit"], r, "acknowledge", expected_on=dt.date(2000, 1, 1))
    assert "expected_on" in exc.value.message_dict


def test_duplicates_merge_into_an_open_report_of_the_same_lift(dw):
    first = _report(dw)
    dup = _report(dw, ip="2.2.2.3")
    other_lift = services.report_file(elevator=dw.elevators["a2"], category="fault", text="x", ip="2.2.2.4")
    reg = dw.users["regulator"]
    with pytest.raises(ValidationError) as exc:
        services.report_act(reg, dup, "merge", into=other_lift.ticket)
    assert "into" in exc.value.message_dict
    dup = services.report_act(reg, dup, "merge", into=first.ticket)
    assert dup.state == "merged" and dup.duplicate_of == first
    assert public.public_ticket(dup)["merged_into"] == first.ticket


def test_convert_to_hazard_lead_carries_the_photo(dw):
    from liftsafe.hazards.models import Hazard

    r = services.report_file(elevator=dw.elevators["a1"], category="safety", text="cracked landing door",
                             photo=upload(jpeg_with_gps()), ip="4.4.4.4")
    with pytest.raises(PermissionDenied):
        services.report_to_hazard(dw.users["maintenance_unit"], r)
    r = services.report_to_hazard(dw.users["regulator"], r)
    h = Hazard.objects.get(pk=r.hazard_id)
    assert r.state == "forwarded" and h.state == "lead" and h.source == "complaint" and h.elevator_id == r.elevator_id
    assert h.evidence.count() == 1
    with pytest.raises(ValidationError):
        services.report_to_hazard(dw.users["regulator"], r)


def test_convert_to_96333_case(dw):
    from liftsafe.emergency.models import EmergencyCase

    r = _report(dw, phone="13900001111")
    r = services.report_to_case(dw.users["regulator"], r)
    case = EmergencyCase.objects.get(pk=r.case_id)
    assert case.elevator_id == r.elevator_id and r.state == "forwarded"


def test_publication_settings_are_scoped_and_validated(dw):
    reg = dw.users["regulator"]
    with pytest.raises(NotFound):
        services.publication_set(reg, dw.district_b, page=True, accept_reports=True, fields=[])
    with pytest.raises(ValidationError):
        services.publication_set(reg, dw.district_a, page=True, accept_reports=True, fields=["phones"])
    with pytest.raises(PermissionDenied):
        services.publication_set(dw.users["use_unit"], dw.district_a, page=True, accept_reports=True, fields=[])
    services.publication_set(dw.users["city_regulator"], dw.city, page=True, accept_reports=True, fields=["risk"])
    # district A inherits from the city
    assert public.published_fields(dw.district_a) == (True, True, frozenset({"risk"}))
    s = services.publication_set(reg, dw.district_a, page=False, accept_reports=False, fields=["units"])
    assert PublicationSetting.objects.get(pk=s.pk).fields == ["units"]
    lift = public.project(dw.elevators["a1"], dw.code["a1"])
    assert not lift.page_published and lift.use_unit is None and lift.rescue_code == dw.elevators["a1"].rescue_code


def test_projection_fields_and_placeholders(dw):
    lift = public.project(dw.elevators["a1"], dw.code["a1"])
    assert lift.use_unit.name == "use_unit A" and lift.maintenance_unit.name == "maintenance_unit A"
    assert lift.last_maintenance_on is None and lift.maintenance_overdue is True  # never visited counts as overdue
    assert lift.insurance == "unknown" and lift.risk_colour is None and lift.campaigns == ()  # no policy, no score, no campaign
    assert "risk" not in lift.fields  # not published by default


def test_last_maintenance_from_visits(dw):
    from liftsafe.maintenance.models import Visit

    now = timezone.now()
    Visit.objects.create(elevator=dw.elevators["a1"], maintenance_unit=dw.orgs[("maintenance_unit", "a")], tier="half_monthly",
                         state="checked_out", checked_in_at=now - dt.timedelta(hours=1), checked_out_at=now)
    lift = public.project(dw.elevators["a1"], dw.code["a1"])
    assert lift.last_maintenance_on == timezone.localdate() and lift.maintenance_overdue is False


def test_code_reissue_withdraws_the_old_code(dw):
    old = dw.code["a1"]
    pc = services.code_reissue(dw.users["regulator"], dw.elevators["a1"])
    assert pc.code != old and public.lift_by_code(old) is None
    with pytest.raises(NotFound):
        services.code_reissue(dw.users["regulator"], dw.elevators["b1"])


def test_elevator_file_panel(dw):
    from django.template.loader import render_to_string

    from liftsafe.core import panels
    from liftsafe.disclosure.panel import panel_context

    assert panels.get("public") is not None and panels.get("public").template == "disclosure/panel.html"
    services.report_file(elevator=dw.elevators["a1"], category="fault", text="x", phone="13900001111", ip="1.2.3.4")
    ctx = panel_context(dw.users["use_unit"], dw.elevators["a1"])
    assert ctx["code"] == dw.code["a1"] and ctx["can_print"] and len(ctx["reports"]) == 1
    html = render_to_string("disclosure/panel.html", {"elevator": dw.elevators["a1"], **ctx})
    assert f"/q/{dw.code['a1']}" in html and ctx["reports"][0].ticket in html
    ctx = panel_context(dw.users["operator"], dw.elevators["a1"])
    assert not ctx["sees_reports"] and ctx["reports"] == [] and not ctx["can_print"]


def test_projection_reads_insurance_risk_and_campaigns_from_their_modules(dw, client):
    """The public page's insurance, risk colour and campaign notices come from the insurance, risk and publicity
    modules: in force / lapsed / never on record, the computed colour where the area publishes it, and a running
    campaign for the lift's place type (its QR scans counted)."""
    import datetime as dt

    from django.utils import timezone

    from liftsafe.insurance.models import Policy
    from liftsafe.publicity import selectors as pub_selectors
    from liftsafe.publicity import services as pub
    from liftsafe.risk.compute import recompute

    a1, a2, b1 = dw.elevators["a1"], dw.elevators["a2"], dw.elevators["b1"]
    today = timezone.localdate()
    mk = dict(insurer=dw.orgs[("insurer", "a")], insured_party=dw.orgs[("use_unit", "a")], limit_per_person=300000,
              limit_per_accident=1000000)
    Policy.objects.create(policy_no="LIVE", start_date=today - dt.timedelta(days=10), end_date=today + dt.timedelta(days=300),
                          **mk).elevators.add(a1)
    Policy.objects.create(policy_no="OLD", start_date=today - dt.timedelta(days=400), end_date=today - dt.timedelta(days=40),
                          **mk).elevators.add(a2)
    assert public.project(a1, dw.code["a1"]).insurance == "in_force"
    assert public.project(a2, dw.code["a2"]).insurance == "none"
    assert public.project(b1, dw.code["b1"]).insurance == "unknown"

    recompute(trigger="test")
    assert public.project(a1, dw.code["a1"]).risk_colour is None  # not published by default
    services.publication_set(dw.users["regulator"], a1.area, page=True, accept_reports=True,
                             fields=[f.value for f in PublicField])
    colour = public.project(a1, dw.code["a1"]).risk_colour
    assert colour in {"red", "orange", "yellow", "blue"} and colour == a1.risk.colour

    reg = dw.users["regulator"]
    c = pub.article_create(reg, {"kind": "campaign", "title_zh": "电梯安全宣传周", "body_zh": "正文", "audiences": ["residents"],
                                 "theme": "general", "starts_on": today - dt.timedelta(days=1),
                                 "ends_on": today + dt.timedelta(days=1), "place_types": [],
                                 "notice_zh": "请勿在电梯内打闹"})
    pub.article_transition(reg, c.pk, "publish")
    lift = public.project(a1, dw.code["a1"])
    assert [n["campaign_id"] for n in lift.campaigns] == [c.pk] and lift.campaigns[0]["text"] == "请勿在电梯内打闹"
    body = client.get(f"/q/{dw.code['a1']}").content.decode()
    assert "电梯安全宣传周" in body
    assert pub_selectors.counts([c.pk])[c.pk]["qr_scan"] == 1
