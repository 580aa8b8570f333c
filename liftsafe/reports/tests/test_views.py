"""Report pages: dashboard (full page and htmx swap, errors on the form), list, generate (errors name the
field), detail, publish, downloads; who may do what."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from liftsafe.testing import PASSWORD
from liftsafe.emergency.models import EmergencyCase
from liftsafe.reports.forms import DashboardForm, GenerateForm
from liftsafe.reports.models import Report

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def add_cases(world):
    """May 2023: 3 entrapments and a fault report in district A (a1, a2), 2 entrapments in B (b1); April: 1 in A."""
    n = 0
    for key, day, kind in (("a1", 3, "entrapment"), ("a1", 9, "entrapment"), ("a2", 12, "entrapment"),
                           ("a2", 17, "fault_report"), ("b1", 5, "entrapment"), ("b1", 6, "entrapment")):
        n += 1
        received = dt.datetime(2023, 5, day, 8 + n, tzinfo=SH)
        EmergencyCase.objects.create(elevator=world.elevators[key], area_id=world.elevators[key].area_id, order_number=f"V{n:08d}", channel="phone_96333",
                                     case_type=kind, state="completed", received_at=received,
                                     dispatched_at=received + dt.timedelta(minutes=1),
                                     responded_at=received + dt.timedelta(minutes=3),
                                     arrived_at=received + dt.timedelta(minutes=20),
                                     released_at=received + dt.timedelta(minutes=30))
    EmergencyCase.objects.create(elevator=world.elevators["a1"], area_id=world.elevators["a1"].area_id, order_number="V00000099", channel="phone_96333",
                                 case_type="entrapment", state="completed", received_at=dt.datetime(2023, 4, 20, 9, tzinfo=SH))


def client_for(world, role) -> Client:
    c = Client()
    assert c.login(username=world.users[role].username, password=PASSWORD)
    return c


def labels():
    with translation.override("zh-hans"):
        return {"period": str(GenerateForm().fields["period"].label), "area": str(GenerateForm().fields["area"].label),
                "dash_period": str(DashboardForm().fields["period"].label)}


def test_anonymous_is_sent_to_login(world):
    for name in ("reports:dashboard", "reports:report_list", "reports:report_generate"):
        r = Client().get(reverse(name))
        assert r.status_code == 302 and "/login/" in r["Location"]


def test_dashboard_regulator(world):
    add_cases(world)
    c = client_for(world, "regulator")
    r = c.get(reverse("reports:dashboard"), {"period": "2023-05"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "玄武区" in html and "2023年5月" in html and "<svg" in html and "故障率" in html
    assert '<option value="320102" selected>' in html
    assert "秦淮区" not in html  # district B is outside a district-A regulator's scope
    # KPI: 3 entrapments in A in May, 1 in April (previous period)
    assert 'data-key="entrapments"' in html
    kpi = html.split('data-key="entrapments"')[1].split("</div>\n  </div>")[0]
    assert '<div class="k-value">3</div>' in kpi and "上期 1" in kpi
    assert "统计报告" in html  # the nav entry


def test_dashboard_htmx_swaps_only_the_body(world):
    add_cases(world)
    c = client_for(world, "city_regulator")
    r = c.get(reverse("reports:dashboard"), {"period": "2023-05", "area": "320104"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html and "dash-form" not in html
    assert "秦淮区" in html and 'class="kpi"' in html


def test_dashboard_errors_name_the_field(world):
    c = client_for(world, "regulator")
    r = c.get(reverse("reports:dashboard"), {"period": "2999-01"})
    html = r.content.decode()
    assert r.status_code == 200 and 'id="dash-errors"' in html
    assert f"{labels()['dash_period']}: 2999-01" in html and 'class="kpi"' not in html
    r = c.get(reverse("reports:dashboard"), {"area": "320104"})  # B: outside the regulator's scope, like unknown
    html = r.content.decode()
    assert "320104" in html and 'id="dash-errors"' in html and 'class="kpi"' not in html


def test_dashboard_scoped_for_organisation_roles(world):
    add_cases(world)
    r = client_for(world, "maintenance_unit").get(reverse("reports:dashboard"), {"period": "2023-05"})
    html = r.content.decode()
    assert r.status_code == 200 and 'class="kpi"' in html and "秦淮区" not in html
    kpi = html.split('data-key="entrapments"')[1].split("</div>\n  </div>")[0]
    assert '<div class="k-value">3</div>' in kpi  # its contracted elevators a1, a2 only


def test_list_generate_publish_download(world):
    add_cases(world)
    c = client_for(world, "regulator")
    r = c.get(reverse("reports:report_list"))
    assert r.status_code == 200 and 'id="generate-form"' in r.content.decode()
    r = c.post(reverse("reports:report_generate"), {"area": "320102", "period": "2023-05", "language": "zh-hans"})
    assert r.status_code == 302
    report = Report.objects.get()
    assert r["Location"] == reverse("reports:report_detail", args=[report.pk])
    assert report.status == "draft" and report.period_label == "2023-05" and report.generated_by == world.users["regulator"]
    html = c.get(r["Location"]).content.decode()
    assert 'id="publish-form"' in html and "草稿" in html and "<svg" in html and "玄武区" in html
    listing = c.get(reverse("reports:report_list")).content.decode()
    assert reverse("reports:report_detail", args=[report.pk]) in listing
    # downloads
    for fmt, ctype, magic in (("pdf", "application/pdf", b"%PDF-"), ("xlsx", "application/vnd.openxmlformats", b"PK"),
                              ("html", "text/html", b"<!doctype html>")):
        d = c.get(reverse("reports:report_download", args=[report.pk, fmt]))
        assert d.status_code == 200 and d["Content-Type"].startswith(ctype) and d.content.startswith(magic)
        assert f'filename="report-320102-2023-05-zh-hans.{fmt}"' in d["Content-Disposition"]
    assert c.get(reverse("reports:report_download", args=[report.pk, "doc"])).status_code == 404
    # publish
    r = c.post(reverse("reports:report_publish", args=[report.pk]))
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.status == "published" and report.published_by == world.users["regulator"]
    html = c.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    assert 'id="publish-form"' not in html and "已发布" in html
    # publishing twice: refused with a message, nothing changes
    r = c.post(reverse("reports:report_publish", args=[report.pk]), follow=True)
    html = r.content.decode()  # named by the field's label in the user's language, never its code (issue 16)
    assert "status:" not in html and "状态: " in html
    # regenerating a published report: refused on the form
    r = c.post(reverse("reports:report_generate"), {"area": "320102", "period": "2023-05", "language": "zh-hans"})
    html = r.content.decode()
    assert r.status_code == 200 and "errorlist" in html and "status:" not in html and "状态: " in html
    pdf = c.get(reverse("reports:report_download", args=[report.pk, "pdf"])).content
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    assert "已发布" in doc[0].get_textpage().get_text_range()
    doc.close()


def test_generate_errors_are_shown_on_the_field(world):
    c = client_for(world, "regulator")
    names = labels()
    r = c.post(reverse("reports:report_generate"), {"area": "320102", "period": "2999-01", "language": "zh-hans"})
    html = r.content.decode()
    assert r.status_code == 200 and 'data-field="period"' in html and f"{names['period']}: " in html and "2999-01" in html
    r = c.post(reverse("reports:report_generate"), {"area": "999999", "period": "2023-05", "language": "zh-hans"})
    html = r.content.decode()
    assert 'data-field="area"' in html and "999999" in html and f"{names['area']}: " in html
    r = c.post(reverse("reports:report_generate"), {"area": "320102", "period": "May", "language": "zh-hans"})
    assert 'data-field="period"' in r.content.decode()
    r = c.post(reverse("reports:report_generate"), {"area": "320102", "period": "2023-05", "language": "fr"})
    assert 'data-field="language"' in r.content.decode()
    assert not Report.objects.exists()


def test_only_regulators_and_admins_generate(world):
    for role in ("operator", "maintenance_unit", "use_unit", "nobody"):
        c = client_for(world, role)
        assert c.get(reverse("reports:report_generate")).status_code == 403
        assert c.post(reverse("reports:report_generate"), {"area": "320102", "period": "2023-05"}).status_code == 403
        html = c.get(reverse("reports:report_list")).content.decode()
        assert 'id="generate-form"' not in html
    assert not Report.objects.exists()


def test_reports_of_another_area_are_invisible(world):
    add_cases(world)
    city = client_for(world, "city_regulator")
    city.post(reverse("reports:report_generate"), {"area": "320104", "period": "2023-05", "language": "en"})
    report = Report.objects.get(area__code="320104")
    reg = client_for(world, "regulator")
    for url in (reverse("reports:report_detail", args=[report.pk]), reverse("reports:report_download", args=[report.pk, "pdf"])):
        assert reg.get(url).status_code == 404
    assert reg.post(reverse("reports:report_publish", args=[report.pk])).status_code == 404
    report.refresh_from_db()
    assert report.status == "draft"
    assert "320104" not in reg.get(reverse("reports:report_list")).content.decode()
    # the city regulator reads it in English
    html = city.get(reverse("reports:report_detail", args=[report.pk])).content.decode()
    assert "Elevator fault analysis report" in html and "Qinhuai" in html
    xlsx = city.get(reverse("reports:report_download", args=[report.pk, "xlsx"])).content
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx))
    summary = {row[1]: row for row in wb.worksheets[0].iter_rows(min_row=8, values_only=True)}
    assert summary["Entrapments"][3] == 2
