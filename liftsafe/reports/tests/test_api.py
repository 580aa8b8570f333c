"""The reports API: indicators, generate, list, detail, publish, downloads; 422 naming the field."""
import datetime as dt
import io

import pytest

from liftsafe.conftest import require_module
from django.test import Client
from django.utils import timezone

from liftsafe.reports import selectors as S
from liftsafe.reports.models import Report
from liftsafe.reports.tests import test_indicators as ti

dataset = ti.dataset


def client(world, role):
    c = Client()
    if role:
        c.force_login(world.users[role])
    return c


def test_indicators_live_and_past(dataset):
    c = client(dataset, "regulator")
    r = c.get("/api/reports/indicators", {"area": "320102", "period": "2023-05", "language": "en"})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["period"]["label"] == "2023-05" and S.indicator(d, "entrapments")["value"] == 4
    assert S.indicator(d, "fault_rate")["label"] == "Fault rate"
    # default: the current month of the caller's own area, allowed although unfinished
    r = c.get("/api/reports/indicators")
    assert r.status_code == 200 and r.json()["area"]["code"] == "320102"
    today = timezone.localdate()
    assert r.json()["period"]["label"] == f"{today.year}-{today.month:02d}"


@pytest.mark.parametrize("params,field", [
    ({"area": "999999", "period": "2023-05"}, "area"),
    ({"area": "320104", "period": "2023-05"}, "area"),  # outside district A: like unknown
    ({"area": "320102", "period": "2023-13"}, "period"),
    ({"area": "320102", "period": "2999-01"}, "period"),
    ({"area": "320102", "period": "2023-05", "language": "fr"}, "language"),
])
def test_indicators_422_names_the_field(dataset, params, field):
    r = client(dataset, "regulator").get("/api/reports/indicators", params)
    assert r.status_code == 422, r.content
    assert list(r.json()["errors"]) == [field]


def test_generate_list_detail_publish(dataset):
    c = client(dataset, "regulator")
    r = c.post("/api/reports/reports", {"area": "320102", "period": "2023-05", "language": "en"}, content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["area_code"], body["period_label"], body["status"], body["generated_by"], body["empty"]) == ("320102", "2023-05", "draft", "regulator", False)
    assert S.indicator(body["data"], "entrapments")["value"] == 4
    rid = body["id"]
    lst = c.get("/api/reports/reports").json()
    assert lst["count"] == 1 and lst["items"][0]["id"] == rid and "data" not in lst["items"][0]
    assert c.get(f"/api/reports/reports/{rid}").json()["data"] == body["data"]
    r = c.post(f"/api/reports/reports/{rid}/publish")
    assert r.status_code == 200 and r.json()["status"] == "published" and r.json()["published_by"] == "regulator"
    r = c.post("/api/reports/reports", {"area": "320102", "period": "2023-05", "language": "en"}, content_type="application/json")
    assert r.status_code == 422 and list(r.json()["errors"]) == ["status"]
    r = c.post(f"/api/reports/reports/{rid}/publish")
    assert r.status_code == 422
    # future period, unfinished period, unknown area
    for payload, field in (({"area": "320102", "period": "2999"}, "period"), ({"area": "320102", "period": "bad"}, "period"),
                           ({"area": "nope", "period": "2023-05"}, "area")):
        r = c.post("/api/reports/reports", payload, content_type="application/json")
        assert r.status_code == 422 and list(r.json()["errors"]) == [field], r.content


def test_roles(dataset):
    own = Report.objects.create(area=dataset.district_a, period_kind="month", period_start=dt.date(2023, 5, 1),
                                period_end=dt.date(2023, 6, 1), period_label="2023-05", data={"empty": True}, generated_at=ti.NOW)
    other = Report.objects.create(area=dataset.district_b, period_kind="month", period_start=dt.date(2023, 5, 1),
                                  period_end=dt.date(2023, 6, 1), period_label="2023-05", data={"empty": True}, generated_at=ti.NOW)
    assert client(dataset, None).get("/api/reports/reports").status_code == 401
    assert client(dataset, "regulator").get(f"/api/reports/reports/{other.pk}").status_code == 404
    assert client(dataset, "city_regulator").get(f"/api/reports/reports/{other.pk}").status_code == 200
    assert client(dataset, "operator").get(f"/api/reports/reports/{own.pk}").status_code == 404
    assert client(dataset, "operator").get("/api/reports/reports").json()["count"] == 0
    r = client(dataset, "maintenance_unit").post("/api/reports/reports", {"area": "320102", "period": "2023-05"},
                                                 content_type="application/json")
    assert r.status_code == 403
    # a maintenance unit's live indicators cover only its contracted elevators
    d = client(dataset, "maintenance_unit").get("/api/reports/indicators", {"period": "2023-05"}).json()
    assert S.indicator(d, "elevators_in_use")["value"] == 6


def test_downloads(dataset):
    require_module("liftsafe.reports.render")
    c = client(dataset, "regulator")
    rid = c.post("/api/reports/reports", {"area": "320102", "period": "2023-05"}, content_type="application/json").json()["id"]
    pdf = c.get(f"/api/reports/reports/{rid}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert 'filename="report-320102-2023-05-zh-hans.pdf"' in pdf["Content-Disposition"]
    x = c.get(f"/api/reports/reports/{rid}/xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(x.content), read_only=True)
    text = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "故障率" in text and "玄武区" in text
    h = c.get(f"/api/reports/reports/{rid}/html")
    assert h.status_code == 200 and "故障率" in h.content.decode() and "50" in h.content.decode()
    assert client(dataset, "operator").get(f"/api/reports/reports/{rid}/pdf").status_code == 404
