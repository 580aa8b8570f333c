"""Responsible-unit choices stay small with many organisations and are scope-checked; elevator picker;
statistics definitions agree with the list; history labels are translated (newcomer findings)."""
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from liftsafe.testing import PASSWORD
from liftsafe.hazards import selectors, services
from liftsafe.hazards.models import Hazard, Level, Source, State
from liftsafe.registry.models import Elevator, Organisation

from .helpers import file_hazard


def _client(world, who, lang="zh-hans"):
    c = Client()
    c.cookies["django_language"] = lang
    assert c.login(username=world.users[who].username, password=PASSWORD)
    return c


def _many_orgs(world, n=2000):
    Organisation.objects.bulk_create([Organisation(kind="use_unit" if i % 2 else "maintenance_unit", name=f"物业公司{i:05d}",
                                                   area=world.district_a) for i in range(n)])


def _unit_inputs(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="responsible_unit" value="(\d+)"( checked)?', html)


def _lead(world, ref="T-1", elevator="a1", **kw):
    return services.lead_raise(elevator=world.elevators[elevator], source=Source.INCIDENT, source_ref=ref, title="困人",
                               level=Level.GENERAL, **kw)


def test_new_form_lists_only_the_elevators_units_with_2000_orgs(world):
    _many_orgs(world)
    r = _client(world, "regulator").get(f"/hazards/new/?elevator={world.elevators['a1'].pk}")
    assert r.status_code == 200
    html = r.content.decode()
    units = _unit_inputs(html)
    assert 1 <= len(units) <= 3
    assert [int(pk) for pk, _ in units] == [world.orgs[("use_unit", "a")].pk, world.orgs[("maintenance_unit", "a")].pk]
    assert units[0][1] == " checked" and units[1][1] == ""  # the use unit is preselected
    assert "物业公司" not in html and len(r.content) < 60_000
    assert html.count('name="responsible_unit"') == len(units)  # no other (e.g. <select>) list of organisations


def test_lead_accept_form_is_small_too(world):
    _many_orgs(world)
    lead = _lead(world)
    html = _client(world, "admin").get(f"/hazards/{lead.pk}/").content.decode()
    assert len(_unit_inputs(html)) == 2 and "物业公司" not in html


def test_unit_search_is_scoped_and_limited(world):
    _many_orgs(world)
    c = _client(world, "regulator")
    found = _unit_inputs(c.get("/hazards/units/?unit_q=物业公司").content.decode())  # the form field name
    assert len(found) == 20
    assert _unit_inputs(c.get("/hazards/units/?q=use_unit B").content.decode()) == []  # district B: out of scope
    assert len(_unit_inputs(_client(world, "city_regulator").get("/hazards/units/?q=use_unit B").content.decode())) == 1
    assert _unit_inputs(c.get("/hazards/units/?q=").content.decode()) == []


def test_searched_unit_in_scope_is_accepted(world):
    _many_orgs(world, 10)
    other = Organisation.objects.get(name="物业公司00003")
    r = _client(world, "regulator").post("/hazards/new/", {"elevator": world.elevators["a1"].pk, "title": "门锁", "source": "inspection",
                                                          "level": "general", "responsible_unit": other.pk})
    assert r.status_code == 302
    assert Hazard.objects.get().responsible_unit == other


def test_responsible_unit_outside_scope_is_rejected_with_the_field(world):
    outside = world.orgs[("use_unit", "b")]
    with pytest.raises(ValidationError) as exc:
        file_hazard(world, unit=("use_unit", "b"))
    assert "responsible_unit" in exc.value.message_dict
    c = _client(world, "regulator", lang="en")
    r = c.post("/hazards/new/", {"elevator": world.elevators["a1"].pk, "title": "门锁", "source": "inspection", "level": "general",
                                 "responsible_unit": outside.pk}, follow=True)
    html = r.content.decode()
    assert Hazard.objects.count() == 0
    assert "responsible_unit" in html and "outside your scope" in html
    assert str(outside.pk) not in [pk for pk, _ in _unit_inputs(html)]  # not offered back either
    r = c.post("/hazards/new/", {"elevator": world.elevators["a1"].pk, "title": "门锁", "source": "inspection", "level": "general",
                                 "responsible_unit": "abc"}, follow=True)
    assert r.status_code == 200 and Hazard.objects.count() == 0 and "responsible_unit" in r.content.decode()
    lead = _lead(world)
    c.post(f"/hazards/{lead.pk}/do/accept/", {"version": lead.version, "responsible_unit": outside.pk})
    lead.refresh_from_db()
    assert lead.state == State.LEAD and lead.responsible_unit is None
    # the elevator's own use unit is always a valid choice, even when registered outside the regulator's area
    Elevator.objects.filter(pk=world.elevators["a1"].pk).update(use_unit=outside)
    world.elevators["a1"].refresh_from_db()
    assert file_hazard(world, unit=("use_unit", "b")).responsible_unit == outside


def test_new_without_elevator_shows_a_scoped_picker(world):
    c = _client(world, "regulator")
    r = c.get("/hazards/new/")
    assert r.status_code == 200 and 'name="q"' in r.content.decode()
    a1, b1 = world.elevators["a1"], world.elevators["b1"]
    html = c.get("/hazards/new/", {"q": a1.registration_code}).content.decode()
    assert f"?elevator={a1.pk}" in html
    assert f"?elevator={b1.pk}" not in c.get("/hazards/new/", {"q": b1.registration_code}).content.decode()
    assert c.get(f"/hazards/new/?elevator={a1.pk}").status_code == 200
    assert c.get(f"/hazards/new/?elevator={b1.pk}").status_code == 404
    assert c.get("/hazards/new/?elevator=x").status_code == 404


def test_stats_counts_agree_with_the_list(world):
    file_hazard(world)
    _lead(world, "T-1")
    _lead(world, "T-2")
    d = _lead(world, "T-3")
    services.lead_dismiss(world.users["regulator"], d, version=d.version, reason="not a hazard")
    counts = selectors.hazard_counts(world.users["regulator"])
    assert counts == {"records": 4, "leads": 2, "dismissed": 1, "filed": 1}
    assert counts["records"] == selectors.hazard_search(world.users["regulator"]).count()
    assert counts["filed"] == selectors.statistics(world.users["regulator"])[-1]["filed"]
    html = _client(world, "regulator").get("/hazards/stats/").content.decode()
    assert "2 条待受理线索" in html and "1 条已建档隐患" in html and "4 条记录" in html


def test_history_labels_are_chinese(world):
    lead = _lead(world, cause_class="traction_system", cause_item="other")
    services.lead_accept(world.users["regulator"], lead, version=lead.version, responsible_unit=world.orgs[("use_unit", "a")])
    html = _client(world, "regulator").get(f"/hazards/{lead.pk}/").content.decode()
    hist = html.split("timeline")[-1]
    assert "系统 ·" in hist and " system " not in hist and "use_unit A" in hist
    dd = re.search(r"曳引系统[^<]*</dd>", html).group(0)
    assert "other" not in dd
    h = file_hazard(world, cause_class="door_system", cause_item="landing_door_lock")
    assert "厅门锁失效" in _client(world, "regulator").get(f"/hazards/{h.pk}/").content.decode()
    assert "Landing-door lock failure" in _client(world, "regulator", lang="en").get(f"/hazards/{h.pk}/").content.decode()
    ef = _client(world, "regulator").get(f"/hazards/elevators/{lead.elevator_id}/").content.decode()
    assert "· 系统 ·" in ef


def test_history_shows_booleans_as_words(world):
    h = file_hazard(world)
    services.hazard_list(world.users["regulator"], h, version=h.version, authority="district")
    changes = [c for e in selectors.hazard_timeline(world.users["regulator"], h) for c in e["changes"]]
    listed = [c for c in changes if c[0] == str(Hazard._meta.get_field("listed").verbose_name)]
    assert listed and listed[0][1:] == ("否", "是")
    html = _client(world, "regulator", lang="en").get(f"/hazards/{h.pk}/").content.decode()
    assert "False" not in html.split("timeline")[-1] and "True" not in html.split("timeline")[-1]
