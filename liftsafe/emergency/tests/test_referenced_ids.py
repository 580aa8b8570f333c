"""Regression (issue 10, defect 3): a responder named by id in a dispatch (API body, page form) is resolved
through the caller's scope; one outside it is refused like a missing one (404) and nothing is recorded."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liftsafe.core.models import Area
from liftsafe.emergency import services
from liftsafe.emergency.models import EmergencyCase, Milestone
from liftsafe.registry.models import Organisation


@pytest.fixture
def far_station(world):
    """A rescue station of another city (Suzhou) — in the same province, so the same jurisdiction."""
    city = Area.objects.create(code="320500", name="苏州市", name_en="Suzhou", level="city", parent=world.city.parent)
    district = Area.objects.create(code="320505", name="虎丘区", name_en="Huqiu", level="district", parent=city)
    return Organisation.objects.create(kind="rescue_station", name="苏州救援站", area=district, latitude=31.3, longitude=120.6)


def _case(world):
    return services.intake_alarm(world.elevators["a1"], channel="phone_96333", case_type="entrapment",
                                 received_at=timezone.now() - dt.timedelta(minutes=2), actor=world.users["operator"]).case


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _nothing_recorded(case):
    case = EmergencyCase.objects.get(pk=case.pk)
    return case.level == 0 and case.responder_id is None and not Milestone.objects.filter(case=case, kind="dispatched").exists()


def test_api_dispatch_to_a_station_of_another_city_is_404_and_records_nothing(world, far_station):
    case = _case(world)
    op = _client(world.users["operator"])
    assert op.get(f"/api/registry/organisations/{far_station.pk}").status_code == 404  # the registry hides it too
    r = op.post(f"/api/emergency/cases/{case.pk}/dispatch", {"level": 2, "responder_id": far_station.pk},
                content_type="application/json")
    assert r.status_code == 404
    assert _nothing_recorded(case)
    r = op.post(f"/api/emergency/cases/{case.pk}/dispatch", {"level": 2, "responder_id": 999999},
                content_type="application/json")
    assert r.status_code == 404 and _nothing_recorded(case)  # same answer as a missing organisation
    own = world.orgs[("rescue_station", "a")]
    r = op.post(f"/api/emergency/cases/{case.pk}/dispatch", {"level": 2, "responder_id": own.pk}, content_type="application/json")
    assert r.status_code == 200 and r.json()["responder_id"] == own.pk


def test_page_dispatch_to_a_station_of_another_city_is_404_and_records_nothing(world, far_station):
    case = _case(world)
    op = _client(world.users["operator"])
    r = op.post(reverse("emergency:case_dispatch", args=[case.pk]), {"level": "2", "responder": str(far_station.pk)})
    assert r.status_code == 404 and _nothing_recorded(case)
    r = op.post(reverse("emergency:case_dispatch", args=[case.pk]), {"level": "3", "responder": str(world.orgs[("fire_brigade", "city")].pk)})
    assert r.status_code == 302  # the city's fire brigade serves the elevator's area: allowed
    assert EmergencyCase.objects.get(pk=case.pk).responder == world.orgs[("fire_brigade", "city")]


def test_service_refuses_an_out_of_scope_responder_and_admin_may_name_any(world, far_station):
    from django.http import Http404

    case = _case(world)
    with pytest.raises(Http404):
        services.dispatch_case(world.users["operator"], case, 2, far_station)
    assert _nothing_recorded(case)
    services.dispatch_case(world.users["admin"], case, 2, far_station)
    assert EmergencyCase.objects.get(pk=case.pk).responder == far_station
