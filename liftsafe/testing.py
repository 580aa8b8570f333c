"""Test fixtures shared by every app's tests: a small world with one of each role (top level: it spans the apps).

``make_world()`` builds two districts of one city, each with a use unit, a
maintenance unit, an inspection agency, an insurer, a rescue station and
elevators, plus one user per role scoped to district A (and a regulator of
the whole city). Tests assert that each user sees district A's objects and
never district B's ("own" / "other").
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import lxml.html
from django.contrib.auth import get_user_model

from liftsafe.core.models import Area, Profile, Role
from liftsafe.registry.models import Elevator, MaintenanceContract, Organisation

PASSWORD = "liftsafe-test-pw-1"


@dataclass
class World:
    city: Area
    district_a: Area
    district_b: Area
    orgs: dict = field(default_factory=dict)  # (kind, "a"|"b") -> Organisation
    elevators: dict = field(default_factory=dict)  # "a1", "a2", "b1" -> Elevator
    users: dict = field(default_factory=dict)  # role name -> User (scoped to A; "city_regulator", "admin", "nobody")

    def own(self) -> Elevator:
        return self.elevators["a1"]

    def other(self) -> Elevator:
        return self.elevators["b1"]


def make_user(username: str, role: str | None = None, *, area: Area | None = None, organisation: Organisation | None = None, superuser: bool = False):
    User = get_user_model()
    user = User.objects.create_user(username=username, password=PASSWORD, is_superuser=superuser, is_staff=superuser)
    if role:
        Profile.objects.create(user=user, role=role, area=area, organisation=organisation)
    return user


def make_elevator(source_id: str, area: Area, **kw) -> Elevator:
    defaults = dict(source="test", jurisdiction=area.jurisdiction_code, category="3110", address=f"{source_id} Test Road", status="in_use")
    defaults.update(kw)
    return Elevator.objects.create(source_id=source_id, area=area, **defaults)


def make_world() -> World:
    prov = Area.objects.create(code="320000", name="江苏省", name_en="Jiangsu", level="province")
    city = Area.objects.create(code="320100", name="南京市", name_en="Nanjing", level="city", parent=prov)
    da = Area.objects.create(code="320102", name="玄武区", name_en="Xuanwu", level="district", parent=city)
    db = Area.objects.create(code="320104", name="秦淮区", name_en="Qinhuai", level="district", parent=city)
    w = World(city=city, district_a=da, district_b=db)
    kinds = ["use_unit", "maintenance_unit", "inspection_agency", "insurer", "rescue_station"]
    for side, area in (("a", da), ("b", db)):
        for kind in kinds:
            w.orgs[(kind, side)] = Organisation.objects.create(kind=kind, name=f"{kind} {side.upper()}", area=area,
                                                               latitude=32.05 if side == "a" else 32.02, longitude=118.80)
    w.orgs[("fire_brigade", "city")] = Organisation.objects.create(kind="fire_brigade", name="南京消防", area=city)
    n = 0
    for side, area in (("a", da), ("b", db)):
        for i in (1, 2):
            n += 1
            e = make_elevator(f"{side.upper()}{i}", area, rescue_code=f"1000{n:02d}",
                              registration_code=f"3110{area.code}2014{n:02d}00{n:02d}",
                              use_unit=w.orgs[("use_unit", side)], inspection_agency=w.orgs[("inspection_agency", side)],
                              insurer=w.orgs[("insurer", side)], latitude=32.04, longitude=118.79)
            MaintenanceContract.objects.create(elevator=e, maintenance_unit=w.orgs[("maintenance_unit", side)],
                                               start_date=dt.date(2020, 1, 1))
            w.elevators[f"{side}{i}"] = e
    # an expired contract: A's maintenance unit used to maintain b2, no longer does
    old = w.elevators["b2"].contracts.get()
    old.start_date = dt.date(2021, 1, 1)
    old.save()
    MaintenanceContract.objects.create(elevator=w.elevators["b2"], maintenance_unit=w.orgs[("maintenance_unit", "a")],
                                       start_date=dt.date(2019, 1, 1), end_date=dt.date(2020, 12, 31))
    w.users["admin"] = make_user("admin", superuser=True)
    w.users["regulator"] = make_user("regulator", Role.REGULATOR, area=da)
    w.users["city_regulator"] = make_user("city_regulator", Role.REGULATOR, area=city)
    w.users["operator"] = make_user("operator", Role.OPERATOR, area=da)
    for role, kind in ((Role.MAINTENANCE_UNIT, "maintenance_unit"), (Role.USE_UNIT, "use_unit"),
                       (Role.INSPECTION_AGENCY, "inspection_agency"), (Role.INSURER, "insurer"),
                       (Role.RESCUE_STATION, "rescue_station")):
        w.users[str(role)] = make_user(str(role), role, organisation=w.orgs[(kind, "a")])
    w.users["nobody"] = make_user("nobody")
    return w


_SCREENSHOT_RUN_DIR = None


def screenshot_dir():
    """Where end-to-end tests save their screenshots (a :class:`pathlib.Path`, created).

    ``docs/img`` when ``LIFTSAFE_DOCS_SCREENSHOTS=1`` (refreshing the documentation's
    pictures is a deliberate act), else a folder of this test run only
    (``<tmp>/liftsafe-e2e-XXXXXXXX``, made once per process), so that running the tests never
    rewrites tracked files and concurrent runs never overwrite each other's pictures.
    """
    import os
    import tempfile
    from pathlib import Path

    global _SCREENSHOT_RUN_DIR
    if os.environ.get("LIFTSAFE_DOCS_SCREENSHOTS") == "1":
        path = Path(__file__).resolve().parents[1] / "docs" / "img"
        path.mkdir(parents=True, exist_ok=True)
        return path
    if _SCREENSHOT_RUN_DIR is None or not _SCREENSHOT_RUN_DIR.is_dir():
        _SCREENSHOT_RUN_DIR = Path(tempfile.mkdtemp(prefix="liftsafe-e2e-"))
    return _SCREENSHOT_RUN_DIR


def admin_form_post(client, url: str, **overrides):
    """Submit a Django admin add/change form as a browser would: every control's current value
    (inline management forms included), then ``overrides``; returns the POST response."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = next(f for f in lxml.html.fromstring(page.content).forms
                if (f.get("id") or "").endswith("_form") and f.method.upper() == "POST")
    data = dict(form.form_values())
    data.update({k: v for k, v in overrides.items() if v is not None})
    for k in [k for k, v in overrides.items() if v is None]:
        data.pop(k, None)
    return client.post(url, data)


def admin_field_error(response, field: str) -> str:
    """The text of ``field``'s error list on an admin form page ('' when it has none)."""
    doc = lxml.html.fromstring(response.content)
    found = doc.xpath(f'//*[@id="id_{field}_error"]')
    return found[0].text_content().strip() if found else ""
