"""Registry pages through Django's test client: per-role status codes and scoping, search, filters,
htmx fragments, pagination, detail sections (contracts, lifecycle, change history), home and login."""
import datetime as dt
import re

import pytest
from django.urls import reverse

from liftsafe.testing import PASSWORD, make_elevator
from liftsafe.registry import services, views
from liftsafe.registry.models import Elevator

from .test_scoping_basics import EXPECTED

LIST = "/registry/elevators/"
ROLES = sorted(EXPECTED)


def login(client, world, who):
    assert client.login(username=world.users[who].username, password=PASSWORD)
    return client


def listed(response) -> set[str]:
    """Device numbers in the result table of a list page or fragment."""
    html = response.content.decode()
    return set(re.findall(r'<td data-label="[^"]*"><a href="/registry/elevators/\d+/">([^<]+)</a>', html))


# --- anonymous ------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/", LIST, "/registry/elevators/1/"])
def test_anonymous_is_sent_to_login(client, world, url):
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"].startswith("/login/")


def test_login_page_and_login_lands_on_home(client, world):
    r = client.get("/login/")
    assert r.status_code == 200
    assert 'name="username"' in r.content.decode() and 'type="password"' in r.content.decode()
    r = client.post("/login/", {"username": "regulator", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/"
    r = client.post("/login/", {"username": "regulator", "password": "wrong"})
    assert r.status_code == 200 and "用户名或密码错误" in r.content.decode()


# --- every role × list / own detail / other detail ---------------------------------

@pytest.mark.parametrize("who", ROLES)
def test_list_shows_exactly_the_role_scope(client, world, who):
    login(client, world, who)
    r = client.get(LIST)
    assert r.status_code == 200
    assert listed(r) == EXPECTED[who]


@pytest.mark.parametrize("who", ROLES)
def test_detail_own_200_other_404(client, world, who):
    login(client, world, who)
    for key, e in world.elevators.items():
        r = client.get(reverse("registry:elevator_detail", args=[e.pk]))
        expected = 200 if e.source_id in EXPECTED[who] else 404
        assert r.status_code == expected, (who, key, r.status_code)
        if expected == 404:
            assert e.address not in r.content.decode()


def test_missing_elevator_is_404_like_out_of_scope(client, world):
    login(client, world, "admin")
    r = client.get(reverse("registry:elevator_detail", args=[999999]))
    assert r.status_code == 404
    assert "404" in r.content.decode() and "您无权访问" in r.content.decode()


@pytest.mark.parametrize("who", ROLES)
def test_home_per_role(client, world, who):
    login(client, world, who)
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    if who == "nobody":
        assert "尚未分配角色" in html
    else:
        assert reverse("registry:elevator_list") in html
        assert f'<span class="tile-num">{len(EXPECTED[who])}</span>' in html


# --- search -------------------------------------------------------------------------

EXTRA_CODES = {"use_certificate_no": "梯11苏A00002(14)", "equipment_code": "311032010220140002"}


@pytest.mark.parametrize("field", ["registration_code", "rescue_code", "source_id", "use_certificate_no", "equipment_code"])
def test_search_by_each_identity_code(client, world, field):
    a2 = world.elevators["a2"]
    if field in EXTRA_CODES:
        a2 = services.elevator_update(world.users["admin"], a2, {field: EXTRA_CODES[field]})
    login(client, world, "regulator")
    code = getattr(a2, field)
    assert listed(client.get(LIST, {"q": code})) == {"A2"}
    if field != "use_certificate_no" and code.lower() != code:  # the selector matches 使用登记证编号 exactly
        assert listed(client.get(LIST, {"q": code.lower()})) == {"A2"}  # other codes match case-insensitively


def test_search_by_address_prefix_case_and_spaces(client, world):
    services.elevator_update(world.users["admin"], world.elevators["a1"], {"address": "521 EAST   68 STREET"})
    login(client, world, "regulator")
    assert listed(client.get(LIST, {"q": "521 east 68"})) == {"A1"}
    assert listed(client.get(LIST, {"q": "a2 test"})) == {"A2"}  # prefix of "A2 Test Road"
    assert listed(client.get(LIST, {"q": "5"})) == {"A1"}
    assert listed(client.get(LIST, {"q": "Test Road"})) == set()  # prefix, not substring


def test_search_never_reaches_out_of_scope(client, world):
    login(client, world, "regulator")
    b1 = world.elevators["b1"]
    for q in (b1.source_id, b1.rescue_code, b1.registration_code, b1.address):
        r = client.get(LIST, {"q": q})
        assert listed(r) == set(), q
        assert "没有符合条件的电梯" in r.content.decode()


# --- filters --------------------------------------------------------------------------

def test_filters(client, world):
    admin = world.users["admin"]
    services.elevator_update(admin, world.elevators["a2"], {"category": "3310", "place_type": 3})
    services.elevator_set_status(admin, world.elevators["b1"], "sealed", on=dt.date(2026, 11, 1), reason="test")
    login(client, world, "city_regulator")
    assert listed(client.get(LIST, {"area": "320104"})) == {"B1", "B2"}
    assert listed(client.get(LIST, {"area": "320100"})) == {"A1", "A2", "B1", "B2"}
    assert listed(client.get(LIST, {"category": "3310"})) == {"A2"}
    assert listed(client.get(LIST, {"status": "sealed"})) == {"B1"}
    assert listed(client.get(LIST, {"place_type": "3"})) == {"A2"}
    assert listed(client.get(LIST, {"use_unit": world.orgs[("use_unit", "b")].pk})) == {"B1", "B2"}
    # maintenance unit = current contract: A's unit maintained b2 only until 2020
    assert listed(client.get(LIST, {"maintenance_unit": world.orgs[("maintenance_unit", "a")].pk})) == {"A1", "A2"}
    assert listed(client.get(LIST, {"maintenance_unit": world.orgs[("maintenance_unit", "b")].pk})) == {"B1", "B2"}
    assert listed(client.get(LIST, {"area": "320104", "status": "in_use"})) == {"B2"}
    # junk values do not crash the page
    assert client.get(LIST, {"place_type": "x", "use_unit": "y", "maintenance_unit": "", "page": "zz"}).status_code == 200


def test_filter_options_are_scoped(client, world):
    login(client, world, "regulator")
    html = client.get(LIST).content.decode()
    assert world.orgs[("maintenance_unit", "a")].name in html
    assert world.orgs[("maintenance_unit", "b")].name not in html
    assert world.orgs[("use_unit", "b")].name not in html
    assert "玄武区" in html and "秦淮区" not in html


def test_many_use_units_become_a_name_box(client, world, monkeypatch):
    monkeypatch.setattr(views, "MAX_SELECT_OPTIONS", 0)
    login(client, world, "city_regulator")
    html = client.get(LIST).content.decode()
    assert 'name="use_unit_name"' in html and 'name="use_unit"' not in html
    assert listed(client.get(LIST, {"use_unit_name": "use_unit b"})) == {"B1", "B2"}


# --- htmx, pagination, counts -------------------------------------------------------------

def test_htmx_request_gets_the_fragment_only(client, world):
    login(client, world, "regulator")
    r = client.get(LIST, {"q": "A1"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert 'id="elevator-table"' in html and listed(r) == {"A1"}
    full = client.get(LIST, {"q": "A1"}).content.decode()
    assert "<html" in full and 'id="results"' in full and 'hx-get="/registry/elevators/"' in full


def test_pagination_and_count(client, world):
    for i in range(60):
        make_elevator(f"P{i:03d}", world.district_a)
    login(client, world, "regulator")
    r1 = client.get(LIST)
    assert len(listed(r1)) == views.PAGE_SIZE
    assert "共 62 台电梯" in r1.content.decode()
    assert "第 1 页，共 2 页" in r1.content.decode()
    r2 = client.get(LIST, {"page": 2}, HTTP_HX_REQUEST="true")
    assert len(listed(r2)) == 62 - views.PAGE_SIZE
    assert listed(r1).isdisjoint(listed(r2))
    # the pager keeps the filters
    r = client.get(LIST, {"q": "P"})
    assert "q=P&amp;page=2" in r.content.decode()


def test_count_is_capped(client, world, monkeypatch):
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    login(client, world, "admin")
    html = client.get(LIST).content.decode()
    assert "超过 3 台电梯" in html
    assert "共 2 台电梯" in client.get(LIST, {"area": "320102"}).content.decode()


# --- detail page ----------------------------------------------------------------------------

def test_detail_sections_and_units(client, world):
    admin = world.users["admin"]
    a1 = world.elevators["a1"]
    services.elevator_update(admin, a1, {"rated_load_kg": 1000, "rated_speed_mps": "1.75", "travel_height_m": "45.5",
                                         "status": "in_use"}, reason="nameplate check")
    services.lifecycle_event_add(admin, a1, "installed", dt.date(2014, 5, 1), note="acceptance")
    login(client, world, "regulator")
    html = client.get(a1.get_absolute_url()).content.decode()
    for text in (a1.registration_code, a1.rescue_code, "A1", "1000 kg", "1.75 m/s", "45.5 m",
                 world.orgs[("use_unit", "a")].name, world.orgs[("maintenance_unit", "a")].name,
                 "2014-05-01", "安装", "acceptance", "额定载重量", "维保合同", "变更记录"):
        assert text in html, text


def test_detail_contract_history_shows_who_maintained_when(client, world):
    b2 = world.elevators["b2"]
    login(client, world, "city_regulator")
    html = client.get(b2.get_absolute_url()).content.decode()
    section = html.split('id="contracts"')[1].split("</section>")[0]
    assert world.orgs[("maintenance_unit", "a")].name in section and "2019-01-01" in section and "2020-12-31" in section
    assert world.orgs[("maintenance_unit", "b")].name in section and "2021-01-01" in section and "长期有效" in section
    assert section.count("当前") == 1


def test_detail_change_history_who_when_before_after(client, world):
    a1 = world.elevators["a1"]
    services.elevator_update(world.users["admin"], a1, {"address": "1 New Road", "use_unit": world.orgs[("use_unit", "b")]},
                             reason="address corrected")
    login(client, world, "regulator")
    html = client.get(a1.get_absolute_url()).content.decode()
    hist = html.split('id="history"')[1].split("</section>")[0]
    assert "新建" in hist  # creation shown as such
    assert "修改" in hist and "address corrected" in hist
    assert "<del>A1 Test Road</del> → <ins>1 New Road</ins>" in hist
    # foreign keys are shown by name (the new use unit is outside the regulator's area: by id)
    assert f"<del>{world.orgs[('use_unit', 'a')].name}</del>" in hist


# --- language ---------------------------------------------------------------------------------

def test_chinese_by_default_english_after_switching(client, world):
    login(client, world, "regulator")
    html = client.get(LIST).content.decode()
    assert '<html lang="zh-Hans">' in html and "电梯登记台账" in html and "在用" in html
    r = client.post("/i18n/setlang/", {"language": "en", "next": LIST})
    assert r.status_code == 302 and r["Location"] == LIST
    html = client.get(LIST).content.decode()
    assert '<html lang="en">' in html and "Elevator registry" in html and "In use" in html and "电梯登记台账" not in html
    detail = client.get(world.elevators["a1"].get_absolute_url()).content.decode()
    assert "Change history" in detail and "Rated load (kg)" in detail
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": LIST})
    assert "电梯登记台账" in client.get(LIST).content.decode()


def test_elevator_verbose_names_translated(world):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(Elevator._meta.get_field("registration_code").verbose_name) == "注册代码"
        assert str(Elevator._meta.verbose_name) == "电梯"
        assert str(Elevator.Status.SEALED.label) == "查封"
    with translation.override("en"):
        assert str(Elevator._meta.get_field("rescue_code").verbose_name) == "rescue code (救援识别码)"


def test_chinese_even_for_an_english_browser_until_switched(client, world):
    """zh-Hans is the platform default; the browser's Accept-Language does not override it, the switch does."""
    login(client, world, "regulator")
    r = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "电梯登记台账" in r.content.decode() and r["Content-Language"] == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": LIST})
    r = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "Elevator registry" in r.content.decode() and r["Content-Language"] == "en"


def test_home_points_each_role_to_its_work(client, world):
    login(client, world, "operator")
    assert f'href="{reverse("emergency:console")}"' in client.get("/").content.decode()
    client.logout()
    login(client, world, "maintenance_unit")
    assert f'href="{reverse("emergency:responder")}"' in client.get("/").content.decode()
