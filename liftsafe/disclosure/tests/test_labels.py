"""Label PDFs: Chinese text embedded and rendered, codes printed as text, scope, 50,000 lifts streamed."""
import io
import tracemalloc
import zipfile

import pypdfium2 as pdfium
import pytest
from django.test import Client

from liftsafe.disclosure import labels
from liftsafe.registry.models import Elevator
from liftsafe.testing import PASSWORD, screenshot_dir


def login(world, role) -> Client:
    c = Client()
    assert c.login(username=world.users[role].username, password=PASSWORD)
    return c


def pdf_text_and_png(data: bytes, name: str, min_dark: int = 5000) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        page = doc[0]
        text = page.get_textpage().get_text_range()
        img = page.render(scale=2).to_pil()
        img.save(screenshot_dir() / f"disclosure-labels-{name}.png")
        # the page is not blank: thousands of dark pixels (QR modules and text)
        dark = sum(img.convert("L").histogram()[:100])
        assert dark > min_dark, dark
        return text
    finally:
        doc.close()


@pytest.mark.parametrize("size", sorted(labels.SIZES))
def test_label_pdf_prints_96333_and_codes_in_chinese(dw, size):
    c = login(dw, "use_unit")
    c.cookies.load({"django_language": "zh-hans"})
    r = c.get("/disclosure/labels/download/", {"size": size})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = pdf_text_and_png(r.content, size)
    assert "96333" in text and "被困请拨打" in text and "救援识别码" in text
    own = [dw.elevators["a1"], dw.elevators["a2"]]
    for e in own:
        assert e.rescue_code in text and e.registration_code in text.replace("\r\n", "").replace("\n", "")
    for e in (dw.elevators["b1"], dw.elevators["b2"]):
        assert e.rescue_code not in text  # another unit's lifts are not printed
    assert b"/FontFile" in r.content  # the CJK font is embedded


def test_labels_per_role(dw):
    assert login(dw, "operator").get("/disclosure/labels/").status_code == 403
    assert login(dw, "insurer").get("/disclosure/labels/download/").status_code == 403
    assert login(dw, "maintenance_unit").get("/disclosure/labels/").status_code == 200
    r = login(dw, "regulator").get("/disclosure/labels/download/", {"size": "small", "area": dw.district_b.code})
    text = pdf_text_and_png(r.content, "empty", min_dark=0)
    assert dw.elevators["b1"].rescue_code not in text and "96333" not in text  # out of scope: no labels at all
    r = login(dw, "regulator").get("/disclosure/labels/download/", {"size": "huge"})
    assert r.status_code == 302
    r = login(dw, "regulator").get("/disclosure/labels/download/", {"elevator": "x"})
    assert r.status_code == 302


def test_label_qr_url_is_short_upper_case_and_served(dw):
    url = labels.label_url("http://testserver/", dw.code["a1"])
    assert url == f"HTTP://TESTSERVER/Q/{dw.code['a1']}" and len(url) < 40
    assert Client().get(f"/Q/{dw.code['a1']}").status_code == 200


def test_fifty_thousand_labels_stream_with_bounded_memory(dw, monkeypatch):
    """50,000 lifts: the response is a streamed ZIP of PDF parts; rows are read in pages and one part is
    rendered at a time (PDF drawing itself replaced by a stub here: its cost is the benchmark's business)."""
    area = dw.district_a
    Elevator.objects.bulk_create([Elevator(source="bulk", source_id=f"BULK{i:06d}", jurisdiction=area.jurisdiction_code, category="3110",
                                           address=f"{i} Bulk Road", area=area, status="in_use") for i in range(50_000)], batch_size=5000)
    seen = []

    def fake_render(rows, size, base_url):
        rows = list(rows)
        seen.append(len(rows))
        return b"%PDF-1.4\n" + "\n".join(r.code for r in rows).encode()

    monkeypatch.setattr(labels, "render_part", fake_render)
    r = login(dw, "regulator").get("/disclosure/labels/download/", {"size": "small"})
    assert r.status_code == 200 and r.streaming and r["Content-Type"] == "application/zip"
    tracemalloc.start()
    buf = io.BytesIO()
    biggest = 0
    for chunk in r.streaming_content:
        biggest = max(biggest, len(chunk))
        buf.write(chunk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per = labels.rule("disclosure_labels_per_pdf")
    assert sum(seen) == 50_002 and max(seen) == per  # 50,000 + district A's own two lifts
    assert biggest < per * 20 + 4096  # never more than one part in flight
    assert peak < 60 * 1024 * 1024
    zf = zipfile.ZipFile(buf)
    assert len(zf.namelist()) == -(-50_002 // per)
    codes = set()
    for n in zf.namelist():
        codes.update(zf.read(n).decode().split("\n")[1:])
    assert len(codes) == 50_002  # every lift got its own code
