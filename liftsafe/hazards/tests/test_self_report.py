"""Self-reported hazards (自查自报, issue 15): units report on their OWN lifts; the report is a lead for the regulator
with evidence; another unit's lift is 404; roles that may not report are refused. And hazard deadlines in the
lift's local time (issue 16): a day boundary in the area's zone, not the deployment's."""
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from django.http import Http404
from liftsafe.core.models import ApiToken
from liftsafe.core.zones import clear_zone_cache
from liftsafe.hazards import selectors, services
from liftsafe.hazards.models import Evidence, Hazard
from liftsafe.hazards.tasks import notify_overdue


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def png(name="crack.png"):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(buf, format="PNG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/png")


@pytest.mark.parametrize("who,lift", [("use_unit", "a1"), ("maintenance_unit", "a2"), ("inspection_agency", "a1")])
def test_unit_reports_on_own_lift_and_it_reaches_the_regulator(world, who, lift):
    h = services.hazard_self_report(world.users[who], elevator=world.elevators[lift], title="曳引绳断股", level="significant",
                                    description="found in the monthly self-check", files=[png()])
    assert (h.state, h.source, h.filed_by_id) == ("lead", "self_report", world.users[who].pk)
    assert h.extra["reported_by_org"] == world.users[who].profile.organisation_id
    ev = Evidence.objects.get(hazard=h)
    assert ev.kind == "report" and ev.content_type == "image/png"
    reg = world.users["regulator"]
    assert selectors.hazard_search(reg, state="lead", source="self_report").filter(pk=h.pk).exists()
    assert list(selectors.evidence_for(reg, h)) == [ev]
    # the regulator accepts it through the ordinary lead workflow
    accepted = services.lead_accept(reg, h, version=h.version, responsible_unit=world.orgs[("use_unit", "a")])
    assert accepted.state == "open"
    # the reporter still sees its report
    assert selectors.hazards_for(world.users[who]).filter(pk=h.pk).exists()


@pytest.mark.parametrize("who,lift", [("use_unit", "b1"), ("maintenance_unit", "b1"), ("inspection_agency", "b2"),
                                      ("maintenance_unit", "b2")])  # b2: A's maintenance contract expired
def test_lift_not_held_is_not_found(world, who, lift):
    with pytest.raises(Http404):
        services.hazard_self_report(world.users[who], elevator=world.elevators[lift], title="x", level="general")
    assert not Hazard.objects.exists()


@pytest.mark.parametrize("who", ["insurer", "operator", "rescue_station", "regulator", "nobody"])
def test_roles_that_may_not_self_report(world, who):
    with pytest.raises(PermissionDenied):
        services.hazard_self_report(world.users[who], elevator=world.elevators["a1"], title="x", level="general")


def test_bad_input_named_and_nothing_written(world):
    uu = world.users["use_unit"]
    fake = SimpleUploadedFile("photo.jpg", b"this is text, not a photo", content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        services.hazard_self_report(uu, elevator=world.elevators["a1"], title="x", level="general", files=[png(), fake])
    assert "files" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.hazard_self_report(uu, elevator=world.elevators["a1"], title=" ", level="huge",
                                    occurred_on=timezone.localdate() + dt.timedelta(days=5))
    assert {"title", "level", "occurred_on"} <= set(exc.value.message_dict)
    assert not Hazard.objects.exists() and not Evidence.objects.exists()


def test_page_and_api(world):
    c = Client()
    c.force_login(world.users["use_unit"])
    assert c.get("/hazards/report/", {"q": "A"}).status_code == 200
    assert c.get("/hazards/report/", {"elevator": world.elevators["b1"].pk}).status_code == 404
    r = c.post("/hazards/report/", {"elevator": world.elevators["a1"].pk, "title": "门锁失效", "level": "major",
                                    "files": [png()]})
    h = Hazard.objects.get()
    assert r.status_code == 302 and h.source == "self_report" and h.evidence.count() == 1
    r = c.post("/hazards/report/", {"elevator": world.elevators["a1"].pk, "title": "", "level": "major"}, follow=True)
    assert r.status_code == 200 and Hazard.objects.count() == 1  # labelled message, not a 500
    ins = Client()
    ins.force_login(world.users["insurer"])
    assert ins.get("/hazards/report/").status_code == 403
    _, token = ApiToken.issue(world.users["maintenance_unit"], "t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = api.post("/api/hazards/self-reports", {"elevator_id": world.elevators["a2"].pk, "title": "缓冲器漏油", "level": "general",
                                               "files": [png()]})
    assert r.status_code == 200, r.content
    assert r.json()["source"] == "self_report" and r.json()["state"] == "lead"
    r = api.post("/api/hazards/self-reports", {"elevator_id": world.elevators["b1"].pk, "title": "x", "level": "general"})
    assert r.status_code == 404
    r = api.post("/api/hazards/self-reports", {"elevator_id": world.elevators["a2"].pk, "title": "x", "level": "general",
                                               "files": [SimpleUploadedFile("x.pdf", b"not a pdf")]})
    assert r.status_code == 422 and "files" in r.json()["errors"]


# ---------------------------------------------------------------- local time of the lift's area (issue 16)
@pytest.fixture
def ny_area(world):
    """District B keeps Asia/Shanghai; district A is moved to America/New_York."""
    world.district_a.time_zone = "America/New_York"
    world.district_a.save()
    clear_zone_cache()
    yield world.district_a
    clear_zone_cache()


def test_deadline_overdue_uses_the_area_local_date(world, ny_area, settings):
    # 2026-03-10 02:00 UTC = 10:00 in Shanghai (10 March), 22:00 on 9 March in New York (EDT begins 8 March)
    now = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.timezone.utc)
    deadline = dt.date(2026, 3, 9)
    reg = world.users["city_regulator"]
    ha = Hazard.objects.create(elevator=world.elevators["a1"], area=world.district_a, source="spot_check", title="ny",
                               level="general", state="open", deadline=deadline)
    hb = Hazard.objects.create(elevator=world.elevators["b1"], area=world.district_b, source="spot_check", title="sh",
                               level="general", state="open", deadline=deadline)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=now):
        assert not ha.is_overdue() and hb.is_overdue()  # 9 March still runs in New York
        assert ha.days_left() == 0 and hb.days_overdue() == 1
        overdue = set(selectors.hazards_for(reg).filter(selectors.overdue_q()).values_list("pk", flat=True))
        assert overdue == {hb.pk}
        flags = dict(selectors.with_overdue(selectors.hazards_for(reg)).values_list("pk", "overdue_now"))
        assert flags == {ha.pk: False, hb.pk: True}
        assert notify_overdue() == 1  # only Shanghai's hazard is past its deadline
        # a deadline of "today" in New York is still allowed there, while Shanghai has moved on
        services._check_deadline(deadline, area_id=world.district_a.pk)
        with pytest.raises(ValidationError):
            services._check_deadline(deadline, area_id=world.district_b.pk)
    later = now + dt.timedelta(hours=3)  # 01:00 on 10 March in New York
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert ha.is_overdue()
        assert notify_overdue() == 1  # New York's now; Shanghai's was sent already
