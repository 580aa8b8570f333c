"""The elevator file: sections per role and scope, worker locations narrowed to the visit's own unit, exports
holding exactly the rows shown, the PDF dossier in Chinese (rendered to PNG), bounded sections."""
import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from liftsafe.core import panels
from liftsafe.maintenance.models import Visit
from liftsafe.testing import screenshot_dir

ALL = {"identity", "organisations", "cases", "iot", "maintenance", "inspection", "hazards", "documents", "lifecycle"}


def client(user):
    c = Client()
    c.force_login(user)
    return c


def sections(html: str) -> set[str]:
    import lxml.html

    return {s.get("id") for s in lxml.html.fromstring(html).xpath("//section[contains(@class, 'efile-section')]")}


@pytest.fixture
def fw(world):
    """The world plus 25 visits of a1: the 5 oldest by maintenance unit B (the lift's former unit) with a location."""
    a1 = world.elevators["a1"]
    today = timezone.localdate()
    for i in range(25):
        unit = world.orgs[("maintenance_unit", "b" if i < 5 else "a")]
        Visit.objects.create(elevator=a1, maintenance_unit=unit, tier="half_monthly", planned_date=today - dt.timedelta(days=15 * (25 - i)),
                             latitude=32.04 + i / 1e4, longitude=118.79, accuracy_m=8 + i)
    return world


def test_registered_sections_cover_the_apps_of_today():
    assert ALL <= {p.key for p in panels.panels()}
    assert all(p.export is not None for p in panels.panels() if p.key in ALL)


@pytest.mark.parametrize("role,expected", [
    ("regulator", ALL | {"risk", "insurance", "public"}),
    ("admin", ALL | {"risk", "insurance", "public"}),
    ("use_unit", ALL | {"insurance", "public"}),
    ("maintenance_unit", ALL - {"documents"} | {"insurance", "public"}),
    ("inspection_agency", ALL - {"documents"} | {"public"}),
    ("operator", ALL - {"documents", "hazards"} | {"public"}),
    ("insurer", ALL - {"documents", "hazards", "inspection"} | {"insurance", "public"}),
])
def test_sections_per_role(world, role, expected):
    r = client(world.users[role]).get(f"/file/{world.elevators['a1'].pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert sections(html) == expected
    for key in expected:  # the table of contents links every section
        assert f'href="#{key}"' in html


@pytest.mark.parametrize("role", ["regulator", "use_unit", "maintenance_unit", "operator", "insurer", "nobody"])
def test_a_lift_out_of_scope_is_not_found(world, role):
    c = client(world.users[role])
    pk = world.elevators["b1"].pk
    for url in (f"/file/{pk}/", f"/file/{pk}/dossier.pdf", f"/file/{pk}/cases.csv", f"/file/{pk}/identity.xlsx"):
        assert c.get(url).status_code == 404, url


def test_anonymous_is_sent_to_log_in(world):
    r = Client().get(f"/file/{world.elevators['a1'].pk}/")
    assert r.status_code == 302 and "login" in r["Location"]


def test_unknown_or_hidden_section_export_is_not_found(world):
    pk = world.elevators["a1"].pk
    assert client(world.users["regulator"]).get(f"/file/{pk}/nosuch.csv").status_code == 404
    assert client(world.users["insurer"]).get(f"/file/{pk}/hazards.csv").status_code == 404  # section not shown to insurers
    assert client(world.users["maintenance_unit"]).get(f"/file/{pk}/documents.xlsx").status_code == 404


def test_worker_locations_only_for_the_visits_own_unit_and_the_regulator(fw):
    pk = fw.elevators["a1"].pk
    reg = client(fw.users["regulator"]).get(f"/file/{pk}/").content.decode()
    mu = client(fw.users["maintenance_unit"]).get(f"/file/{pk}/").content.decode()
    # the 20 newest visits are shown: 20 by unit A (indices 5-24); add one of B to the shown rows to check hiding
    assert reg.count('class="mono visit-location"') == 20 and mu.count('class="mono visit-location"') == 20
    newest_b = Visit.objects.create(elevator=fw.elevators["a1"], maintenance_unit=fw.orgs[("maintenance_unit", "b")], tier="half_monthly",
                                    planned_date=timezone.localdate(), latitude=31.5, longitude=118.5, accuracy_m=4)
    mu = client(fw.users["maintenance_unit"]).get(f"/file/{pk}/").content.decode()
    reg = client(fw.users["regulator"]).get(f"/file/{pk}/").content.decode()
    assert "31.50000" not in mu and "recorded (visible to the visit" in mu or "已记录" in mu
    assert "31.50000" in reg
    rows = list(csv.reader(io.StringIO(client(fw.users["maintenance_unit"]).get(f"/file/{pk}/maintenance.csv").content.decode("utf-8-sig"))))
    b_row = next(r for r in rows[1:] if r[0] == newest_b.planned_date.isoformat())
    assert b_row[-3:] == ["", "", ""]  # no location in the export either


def test_exports_hold_exactly_the_rows_shown(fw):
    pk = fw.elevators["a1"].pk
    c = client(fw.users["regulator"])
    html = c.get(f"/file/{pk}/").content.decode()
    import lxml.html

    shown = [tr.xpath("./td")[0].text_content().strip() for tr in lxml.html.fromstring(html).xpath("//table[@id='maintenance-visits']/tbody/tr")]
    rows = list(csv.reader(io.StringIO(c.get(f"/file/{pk}/maintenance.csv").content.decode("utf-8-sig"))))
    assert len(shown) == 20 and [r[0] for r in rows[1:]] == shown  # bounded to 20, same rows, same order
    from openpyxl import load_workbook

    r = c.get(f"/file/{pk}/maintenance.xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.max_row == 21
    ident = list(csv.reader(io.StringIO(c.get(f"/file/{pk}/identity.csv").content.decode("utf-8-sig"))))
    assert any(fw.elevators["a1"].registration_code in row for row in ident)


def test_dossier_pdf_renders_chinese(fw):
    import pypdfium2 as pdfium

    e = fw.elevators["a1"]
    e.address = "南京市玄武区中山路 1 号"
    e.save()
    r = client(fw.users["regulator"]).get(f"/file/{e.pk}/dossier.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    doc = pdfium.PdfDocument(r.content)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "南京市玄武区中山路" in text and "电梯档案" in text and "维保" in text
    assert "maintenance_unit A" in text  # rows of the sections are printed
    image = doc[0].render(scale=1.5).to_pil()
    image.save(screenshot_dir() / "efile-dossier.png")
    dark = sum(image.convert("L").histogram()[:128])
    assert dark > 2000  # glyphs drawn, not an empty page
    doc.close()
