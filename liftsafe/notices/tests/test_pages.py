"""Official-document pages and API: the regulator issues from the form (errors on the fields, nothing numbered),
the use unit opens it (reading recorded), the PDF carries the authority, number, lift, facts and seal place."""
import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from liftsafe.notices.models import Delivery, Document
from liftsafe.testing import screenshot_dir


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_issue_on_the_page_then_the_use_unit_reads_it(world):
    reg = client(world.users["regulator"])
    e = world.elevators["a1"]
    r = reg.get(f"/notices/new/?elevator={e.pk}")
    assert r.status_code == 200 and 'id="issue-form"' in r.content.decode()
    r = reg.post("/notices/new/", {"elevator": e.pk, "kind": "rectification", "facts": "", "deadline": ""})
    assert r.status_code == 400 and not Document.objects.exists()
    deadline = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    r = reg.post("/notices/new/", {"elevator": e.pk, "kind": "rectification", "facts": "轿厢照明不足", "requirements": "更换照明",
                                   "deadline": deadline})
    doc = Document.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/notices/{doc.pk}/"
    page = reg.get(r["Location"]).content.decode()
    assert doc.number in page and "轿厢照明不足" in page
    assert Delivery.objects.get(document=doc).read_at is None
    uu = client(world.users["use_unit"])
    assert doc.number in uu.get("/notices/?unread=1").content.decode()
    assert uu.get(f"/notices/{doc.pk}/").status_code == 200
    assert Delivery.objects.get(document=doc).read_at is not None
    assert doc.number not in uu.get("/notices/?unread=1").content.decode()
    for role in ("maintenance_unit", "operator", "insurer"):
        assert client(world.users[role]).get(f"/notices/{doc.pk}/").status_code == 403
    assert client(world.users["use_unit"]).get("/notices/new/?elevator=%d" % e.pk).status_code == 403


def test_pdf_has_authority_number_lift_facts_and_seal(world):
    import pypdfium2 as pdfium

    reg = client(world.users["regulator"])
    e = world.elevators["a1"]
    r = reg.post("/api/notices/documents", json.dumps({"elevator": e.pk, "kind": "stop_use", "facts": "制动器失效"}),
                 content_type="application/json")
    assert r.status_code == 201, r.content
    doc = Document.objects.get(pk=r.json()["id"])
    pdf = reg.get(f"/notices/{doc.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    d = pdfium.PdfDocument(pdf.content)
    text = "".join(d[i].get_textpage().get_text_range() for i in range(len(d)))
    for needle in ("玄武区市场监督管理局", "特种设备停止使用通知书", doc.number, e.registration_code, "制动器失效", "盖章"):
        assert needle in text, needle
    img = d[0].render(scale=1.5).to_pil()
    img.save(screenshot_dir() / "notice-stop-use.png")
    assert sum(img.convert("L").histogram()[:128]) > 2000
    d.close()


def test_api_scope_and_refusals(world):
    reg = client(world.users["regulator"])
    body = {"elevator": world.elevators["b1"].pk, "kind": "rectification", "facts": "x",
            "deadline": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}
    assert reg.post("/api/notices/documents", json.dumps(body), content_type="application/json").status_code == 404
    body["elevator"] = world.elevators["a1"].pk
    body["deadline"] = None
    r = reg.post("/api/notices/documents", json.dumps(body), content_type="application/json")
    assert r.status_code == 422 and "deadline" in r.json()["errors"]
    uu = client(world.users["use_unit"])
    assert uu.post("/api/notices/documents", json.dumps(body), content_type="application/json").status_code == 403
    assert client(world.users["operator"]).get("/api/notices/documents").status_code == 403
    assert uu.get("/api/notices/documents").json()["items"] == []


def test_bad_ids_and_dates_never_500(world):
    reg = client(world.users["regulator"])
    e = world.elevators["a1"]
    for url in ("/notices/new/", "/notices/new/?elevator=abc", "/notices/new/?elevator=99999999999999999999",
                f"/notices/new/?elevator={e.pk}&hazard=99999999999999999999", f"/notices/new/?elevator={e.pk}&supersedes=0",
                "/notices/?elevator=x&hazard=99999999999999999999&kind=nope", "/notices/999999/", "/file/999999/"):
        assert reg.get(url).status_code in (200, 404), url
    r = reg.post("/notices/new/", {"elevator": e.pk, "kind": "rectification", "facts": "x", "deadline": "31/12/2030"})
    assert r.status_code == 400 and not Document.objects.exists()
    r = reg.post("/notices/new/", {"elevator": e.pk, "kind": "bogus", "facts": "x"})
    assert r.status_code == 400 and not Document.objects.exists()
