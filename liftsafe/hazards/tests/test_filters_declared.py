"""The hazard list's filters are declared once (hazards/filters.py) and shared by the page, its CSV/XLSX
downloads and the API: an export holds exactly the rows the page shows; a bad value is named, never a 500."""
import csv
import io

import pytest
from django.test import Client

from liftsafe.core.models import ApiToken
from liftsafe.hazards import filters, services
from liftsafe.hazards.models import Hazard


@pytest.fixture
def hazards(world):
    reg = world.users["regulator"]
    out = []
    for key, level, title in (("a1", "major", "H-门锁"), ("a2", "general", "H-制动器"), ("a1", "general", "H-照明")):
        out.append(services.hazard_file(reg, elevator=world.elevators[key], source="spot_check", title=title, level=level,
                                        responsible_unit=world.orgs[("use_unit", "a")]))
    services.hazard_file(world.users["admin"], elevator=world.elevators["b1"], source="spot_check", title="H-other",
                         level="general", responsible_unit=world.orgs[("use_unit", "b")])
    return out


def _page_titles(c, params):
    r = c.get("/hazards/", params)
    assert r.status_code == 200
    return {h.title for h in r.context["page"].object_list}


def _csv_titles(c, params):
    r = c.get("/hazards/", {**params, "format": "csv"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    return {row[1] for row in rows[1:]}


@pytest.mark.parametrize("params", [{}, {"level": "general"}, {"q": "H-门"}, {"open": "1", "level": "major"},
                                    {"source": "iot"}, {"state": "open", "listed": "no"}])
def test_export_holds_exactly_the_rows_of_the_page(world, hazards, params):
    c = Client()
    c.force_login(world.users["regulator"])
    page = _page_titles(c, params)
    assert page == _csv_titles(c, params)
    assert "H-other" not in page  # scoped
    _, token = ApiToken.issue(world.users["regulator"], "t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/hazards/hazards", params).json()
    assert {h["title"] for h in api["items"]} == page


def test_xlsx_export(world, hazards):
    from openpyxl import load_workbook

    c = Client()
    c.force_login(world.users["regulator"])
    r = c.get("/hazards/", {"level": "general", "format": "xlsx"})
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content))
    titles = {row[1] for row in wb.active.iter_rows(min_row=2, values_only=True)}
    assert titles == {"H-制动器", "H-照明"}


@pytest.mark.parametrize("params,field", [({"state": "nonsense"}, "state"), ({"level": "huge"}, "level"),
                                          ({"overdue": "perhaps"}, "overdue"), ({"elevator": "x1"}, "elevator")])
def test_bad_values_named(world, hazards, params, field):
    with pytest.raises(Exception) as exc:
        filters.parse(params)
    assert field in exc.value.message_dict
    c = Client()
    c.force_login(world.users["regulator"])
    r = c.get("/hazards/", params)
    assert r.status_code == 200  # the bad value is left out, the rest of the list still shows
    msgs = [str(m) for m in r.context["messages"]]
    assert msgs and not any(m.startswith(field + ":") for m in msgs), msgs
    assert len(r.context["page"].object_list) == Hazard.objects.filter(area=world.district_a).count()
    _, token = ApiToken.issue(world.users["regulator"], "t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/hazards/hazards", params)
    assert api.status_code == 422
