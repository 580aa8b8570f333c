"""Responder proof on site (issue 15): location + accuracy + photo on arrival/release, far-away flag, who reads it;
operator call-backs; caller lookup (masked for roles that may not see phones)."""
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from liftsafe.core.errors import NotFound
from liftsafe.core.models import ApiToken
from liftsafe.emergency import domain, selectors, services
from liftsafe.emergency.models import CallBack, FieldRecord

NEAR = (32.0405, 118.7905)  # ~70 m from a1 (32.04, 118.79)
FAR = (32.10, 118.79)  # ~6.7 km away


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def jpeg_with_gps(name="p.jpg") -> SimpleUploadedFile:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (32.0, 2.0, 24.0)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def api(user):
    _, token = ApiToken.issue(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def dispatched(world, open_case, t0):
    services.dispatch_case(world.users["operator"], open_case, 1)
    services.record_milestone(world.users["maintenance_unit"], open_case, "responded")
    open_case.refresh_from_db()
    return open_case


# ---------------------------------------------------------------- pure judgement
@pytest.mark.parametrize("lat,lon,acc,check,reason", [
    (None, None, None, "missing", "not_given"),
    (32.04, None, 10, "missing", "partial"),
    (132.04, 118.79, 10, "unreliable", "out_of_range"),
    (32.04, 118.79, None, "unreliable", "no_accuracy"),
    (32.04, 118.79, 0, "unreliable", "accuracy_not_positive"),
    (32.04, 118.79, -3, "unreliable", "accuracy_not_positive"),
    (32.04, 118.79, 5001, "unreliable", "accuracy_too_coarse"),
    ("nan", "x", "inf", "missing", "not_given"),
    (*NEAR, 15, "near", ""),
    (*FAR, 15, "far", ""),
])
def test_assess_location(lat, lon, acc, check, reason):
    a = domain.assess_location(lat, lon, acc, 32.04, 118.79, radius_m=500, max_accuracy_m=5000)
    assert (a.check, a.reason) == (check, reason)
    if check in ("near", "far"):
        assert a.distance_m is not None and (a.distance_m < 500) == (check == "near")


def test_assess_location_lift_without_coordinates():
    a = domain.assess_location(*NEAR, 10, None, None, radius_m=500, max_accuracy_m=5000)
    assert a.check == "lift_unlocated" and a.distance_m is None and a.latitude == NEAR[0]


# ---------------------------------------------------------------- service
def test_arrival_far_away_is_recorded_and_flagged(world, dispatched):
    mu = world.users["maintenance_unit"]
    m = services.record_on_site(mu, dispatched, "arrived", latitude=FAR[0], longitude=FAR[1], accuracy_m=12)
    rec = FieldRecord.objects.get(milestone=m)
    assert rec.location_check == "far" and rec.flagged and 6000 < rec.distance_m < 7500
    assert rec.organisation_id == world.orgs[("maintenance_unit", "a")].pk
    dispatched.refresh_from_db()
    assert dispatched.state == "arrived"  # nothing blocks the rescue
    assert [r.pk for r in selectors.flagged_arrivals(world.users["regulator"])] == [rec.pk]


def test_missing_location_is_recorded_as_missing(world, dispatched):
    m = services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived")
    rec = FieldRecord.objects.get(milestone=m)
    assert (rec.location_check, rec.location_reason, rec.latitude) == ("missing", "not_given", None)


def test_absurd_accuracy_is_unreliable_not_refused(world, dispatched):
    m = services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", latitude=NEAR[0], longitude=NEAR[1],
                                accuracy_m=25000)
    rec = FieldRecord.objects.get(milestone=m)
    assert (rec.location_check, rec.location_reason) == ("unreliable", "accuracy_too_coarse")
    assert rec.distance_m is not None and rec.distance_m < 100  # shown, not judged


def test_near_arrival_with_photo_strips_metadata_and_release_confirmation(world, dispatched, media):
    mu = world.users["maintenance_unit"]
    m = services.record_on_site(mu, dispatched, "arrived", latitude=NEAR[0], longitude=NEAR[1], accuracy_m=8,
                                photo=jpeg_with_gps())
    rec = FieldRecord.objects.get(milestone=m)
    assert rec.location_check == "near" and not rec.flagged and rec.photo and len(rec.photo_sha256) == 64
    with Image.open(rec.photo.path) as stored:
        assert not stored.getexif() and "exif" not in stored.info
    r = services.record_on_site(mu, dispatched, "released", released_count=2, confirmed_by="李经理",
                                latitude=NEAR[0], longitude=NEAR[1], accuracy_m=8)
    assert FieldRecord.objects.get(milestone=r).confirmed_by == "李经理"


def test_photo_that_is_not_an_image_is_refused_and_nothing_written(world, dispatched):
    fake = SimpleUploadedFile("evil.jpg", b"\xff\xd8\xff" + b"not really a jpeg" * 20, content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", photo=fake)
    assert "photo" in exc.value.message_dict
    dispatched.refresh_from_db()
    assert dispatched.state == "responded" and not FieldRecord.objects.exists()
    pdf = SimpleUploadedFile("x.png", b"%PDF-1.4\n...", content_type="image/png")
    with pytest.raises(ValidationError):
        services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", photo=pdf)


def test_photo_too_large_refused(world, dispatched, settings):
    settings.LIFTSAFE_RULES = {"field_photo_max_bytes": 100}
    with pytest.raises(ValidationError) as exc:
        services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", photo=jpeg_with_gps())
    assert "photo" in exc.value.message_dict


def test_double_tap_keeps_first_proof(world, dispatched):
    mu = world.users["maintenance_unit"]
    m1 = services.record_on_site(mu, dispatched, "arrived", latitude=FAR[0], longitude=FAR[1], accuracy_m=5, idempotency_key="k1")
    m2 = services.record_on_site(mu, dispatched, "arrived", latitude=NEAR[0], longitude=NEAR[1], accuracy_m=5, idempotency_key="k1")
    assert m1.pk == m2.pk and FieldRecord.objects.get().location_check == "far"


def test_confirmation_only_on_release(world, dispatched):
    with pytest.raises(ValidationError) as exc:
        services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", confirmed_by="x")
    assert "confirmed_by" in exc.value.message_dict


def test_locations_visible_to_regulator_and_own_unit_only(world, dispatched):
    services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", latitude=NEAR[0], longitude=NEAR[1], accuracy_m=5)
    for who, n in (("regulator", 1), ("city_regulator", 1), ("admin", 1), ("maintenance_unit", 1), ("operator", 0)):
        case = selectors.case_get(world.users[who], dispatched.pk)
        assert selectors.field_records_for(world.users[who], case).count() == n, who
    # escalated to the rescue station: it sees the case, but not the maintenance unit's worker's location
    services.dispatch_case(world.users["operator"], dispatched, 2)
    case = selectors.case_get(world.users["rescue_station"], dispatched.pk)
    assert selectors.field_records_for(world.users["rescue_station"], case).count() == 0
    assert list(selectors.flagged_arrivals(world.users["operator"])) == []


# ---------------------------------------------------------------- API
def test_api_arrival_with_location_photo_and_reads(world, dispatched):
    mu = api(world.users["maintenance_unit"])
    r = mu.post(f"/api/emergency/cases/{dispatched.pk}/milestones",
                {"kind": "arrived", "latitude": FAR[0], "longitude": FAR[1], "accuracy_m": 9000}, content_type="application/json")
    assert r.status_code == 201, r.content
    mid = r.json()["id"]
    rows = mu.get(f"/api/emergency/cases/{dispatched.pk}/on-site").json()
    assert rows[0]["location_check"] == "unreliable" and rows[0]["location_reason"] == "accuracy_too_coarse" and rows[0]["flagged"]
    bad = mu.post(f"/api/emergency/cases/{dispatched.pk}/milestones/{mid}/photo",
                  {"file": SimpleUploadedFile("a.jpg", b"GIF89a....", content_type="image/jpeg")})
    assert bad.status_code == 422 and "photo" in bad.json()["errors"]
    ok = mu.post(f"/api/emergency/cases/{dispatched.pk}/milestones/{mid}/photo", {"file": jpeg_with_gps()})
    assert ok.status_code == 201 and ok.json()["has_photo"] is True
    again = mu.post(f"/api/emergency/cases/{dispatched.pk}/milestones/{mid}/photo", {"file": jpeg_with_gps()})
    assert again.status_code == 422
    assert api(world.users["operator"]).get(f"/api/emergency/cases/{dispatched.pk}/on-site").json() == []
    assert api(world.users["regulator"]).get(f"/api/emergency/cases/{dispatched.pk}/on-site").json()[0]["latitude"] == FAR[0]
    # another unit's worker cannot attach to it (404 like a missing record)
    rs = api(world.users["rescue_station"])
    assert rs.post(f"/api/emergency/cases/{dispatched.pk}/milestones/{mid}/photo", {"file": jpeg_with_gps()}).status_code == 404


def test_api_location_on_other_milestone_refused(world, dispatched):
    r = api(world.users["operator"]).post(f"/api/emergency/cases/{dispatched.pk}/milestones",
                                          {"kind": "cancelled", "latitude": 1, "longitude": 1}, content_type="application/json")
    assert r.status_code == 422


def test_page_arrival_far_is_flagged_and_photo_served_to_regulator_only(world, dispatched, client):
    client.force_login(world.users["maintenance_unit"])
    r = client.post(f"/emergency/responder/{dispatched.pk}/milestone/",
                    {"kind": "arrived", "latitude": str(FAR[0]), "longitude": str(FAR[1]), "accuracy_m": "10",
                     "photo": jpeg_with_gps(), "idempotency_key": "p1"}, follow=True)
    assert r.status_code == 200
    rec = FieldRecord.objects.get()
    assert rec.location_check == "far" and rec.photo
    assert any(f"{rec.distance_m:,.0f}" in str(m) for m in r.context["messages"])  # the far-away warning names the distance
    url = f"/emergency/cases/{dispatched.pk}/on-site/{rec.pk}/photo/"
    assert client.get(url).status_code == 200
    reg = Client()
    reg.force_login(world.users["regulator"])
    page = reg.get(f"/emergency/cases/{dispatched.pk}/")
    assert "em-on-site" in page.content.decode() and reg.get(url).status_code == 200
    op = Client()
    op.force_login(world.users["operator"])
    assert "em-on-site" not in op.get(f"/emergency/cases/{dispatched.pk}/").content.decode()
    assert op.get(url).status_code == 404
    other = Client()
    other.force_login(world.users["use_unit"])
    assert other.get(url).status_code == 404


def test_page_garbage_location_never_blocks(world, dispatched, client):
    client.force_login(world.users["maintenance_unit"])
    client.post(f"/emergency/responder/{dispatched.pk}/milestone/",
                {"kind": "arrived", "latitude": "abc", "longitude": "", "accuracy_m": "-1", "idempotency_key": "p2"})
    dispatched.refresh_from_db()
    assert dispatched.state == "arrived" and FieldRecord.objects.get().location_check == "missing"


# ---------------------------------------------------------------- call-backs
def test_callback_record_and_masking(world, open_case, t0):
    op = world.users["operator"]
    cb = services.callback_record(op, open_case, party="caller", outcome="reached", phone="13812345678", note="all fine")
    assert cb.pk and CallBack.objects.count() == 1
    assert selectors.callbacks_for(op, open_case)[0].phone == "13812345678"
    reg_case = selectors.case_get(world.users["regulator"], open_case.pk)
    assert selectors.callbacks_for(world.users["regulator"], reg_case)[0].phone == "138****5678"
    with pytest.raises(ValidationError) as exc:
        services.callback_record(op, open_case, party="boss", outcome="maybe", called_at=t0.replace(year=2000))
    assert {"party", "outcome", "called_at"} <= set(exc.value.message_dict)
    with pytest.raises(PermissionDenied):
        services.callback_record(world.users["regulator"], reg_case, party="caller", outcome="reached")


def test_callback_api_and_page(world, open_case):
    op = api(world.users["operator"])
    r = op.post(f"/api/emergency/cases/{open_case.pk}/callbacks", {"party": "use_unit", "outcome": "no_answer"},
                content_type="application/json")
    assert r.status_code == 201 and r.json()["outcome"] == "no_answer"
    assert api(world.users["regulator"]).post(f"/api/emergency/cases/{open_case.pk}/callbacks",
                                              {"party": "caller", "outcome": "reached"},
                                              content_type="application/json").status_code == 403
    c = Client()
    c.force_login(world.users["operator"])
    c.post(f"/emergency/cases/{open_case.pk}/callbacks/", {"party": "caller", "outcome": "busy", "phone": "no digits"})
    assert CallBack.objects.count() == 1  # refused with a labelled message, not a 500
    c.post(f"/emergency/cases/{open_case.pk}/callbacks/", {"party": "caller", "outcome": "busy"})
    assert CallBack.objects.count() == 2
    assert "em-callbacks" in c.get(f"/emergency/cases/{open_case.pk}/").content.decode()


# ---------------------------------------------------------------- caller lookup
def test_caller_lookup_finds_earlier_cases_and_lifts(world, open_case):
    services.record_milestone(world.users["operator"], open_case, "false_alarm")
    second = services.intake_alarm(world.elevators["a2"], channel="phone_96333", case_type="fault_report",
                                   received_at=open_case.received_at.replace(microsecond=1), actor=world.users["operator"],
                                   caller_phone="+86 138-1234-5678").case
    services.intake_alarm(world.elevators["b1"], channel="phone_96333", case_type="fault_report",
                          received_at=open_case.received_at, caller_phone="13812345678")  # district B: not the operator's
    r = selectors.caller_lookup(world.users["operator"], "138 1234 5678")
    assert r.total == 2 and {c.pk for c in r.cases} == {open_case.pk, second.pk} and not r.masked
    assert {e.pk for e in r.elevators} >= {world.elevators["a1"].pk, world.elevators["a2"].pk}
    assert world.elevators["b1"].pk not in {e.pk for e in r.elevators}
    masked = selectors.caller_lookup(world.users["regulator"], "13812345678")
    assert masked.masked and masked.phone == "138****5678" and all("****" in c.caller_phone for c in masked.cases)
    with pytest.raises(ValidationError):
        selectors.caller_lookup(world.users["operator"], "12-34")
    for who in ("maintenance_unit", "use_unit", "insurer", "nobody"):
        with pytest.raises(PermissionDenied):
            selectors.caller_lookup(world.users[who], "13812345678")


def test_caller_lookup_api_and_page(world, open_case):
    r = api(world.users["operator"]).post("/api/emergency/callers/lookup", {"phone": "13812345678"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["total"] == 1 and r.json()["cases"][0]["caller_phone"] == "13812345678"
    r = api(world.users["regulator"]).post("/api/emergency/callers/lookup", {"phone": "13812345678"}, content_type="application/json")
    assert r.json()["masked"] is True and r.json()["cases"][0]["caller_phone"] == "138****5678"
    assert api(world.users["use_unit"]).post("/api/emergency/callers/lookup", {"phone": "13812345678"},
                                             content_type="application/json").status_code == 403
    bad = api(world.users["operator"]).post("/api/emergency/callers/lookup", {"phone": "abc"}, content_type="application/json")
    assert bad.status_code == 422 and "phone" in bad.json()["errors"]
    c = Client()
    c.force_login(world.users["regulator"])
    page = c.post("/emergency/callers/", {"phone": "13812345678"}).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert c.post("/emergency/callers/", {"phone": "1"}).status_code == 200
    assert c.get("/emergency/callers/").status_code == 200


def test_not_found_for_invisible_case(world, open_case):
    with pytest.raises(NotFound):  # a rescue station sees only cases dispatched to it
        services.callback_record(world.users["rescue_station"], open_case, party="caller", outcome="reached")
    with pytest.raises(PermissionDenied):  # the insurer sees its insured lift's case but may not record call-backs
        services.callback_record(world.users["insurer"], open_case, party="caller", outcome="reached")


def test_regulator_page_lists_flagged_arrivals(world, dispatched):
    services.record_on_site(world.users["maintenance_unit"], dispatched, "arrived", latitude=FAR[0], longitude=FAR[1], accuracy_m=9)
    reg = Client()
    reg.force_login(world.users["regulator"])
    rows = reg.get("/emergency/regulator/").context["flagged_arrivals"]
    assert [x["r"].case_id for x in rows] == [dispatched.pk] and rows[0]["r"].location_check == "far"
    other = Client()
    other.force_login(world.users["city_regulator"])
    assert len(other.get("/emergency/regulator/").context["flagged_arrivals"]) == 1


def test_case_search_csv_holds_exactly_the_page_rows(world, open_case):
    import csv
    import io as _io

    services.record_milestone(world.users["operator"], open_case, "false_alarm")
    services.intake_alarm(world.elevators["a2"], channel="iot", case_type="fault_report", received_at=open_case.received_at)
    services.intake_alarm(world.elevators["b1"], channel="iot", case_type="fault_report", received_at=open_case.received_at)
    c = Client()
    c.force_login(world.users["regulator"])
    for params in ({}, {"state": "open"}, {"channel": "iot"}, {"q": "A1"}):
        page = {x.order_number for x in c.get("/emergency/cases/", params).context["page"].object_list}
        r = c.get("/emergency/cases/", {**params, "format": "csv"})
        body = b"".join(r.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(_io.StringIO(body)))
        assert {row[0] for row in rows[1:]} == page, params
        assert "13812345678" not in body and "5678" not in body  # no caller phone in the download
    bad = c.get("/emergency/cases/", {"state": "bogus", "format": "csv"})
    assert bad.status_code == 200 and bad["Content-Type"].startswith("text/html")  # refused with the reason, not a file
