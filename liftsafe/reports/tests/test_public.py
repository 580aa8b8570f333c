"""The public projection of published reports (issue 14): nothing before publication, a frozen snapshot with
its dates, no personal data or staff names, and the top-10 lists read from the snapshot on a known dataset
(the dataset of ``test_indicators``: May 2023, district A)."""
from __future__ import annotations

import re

import pytest

from liftsafe.core.errors import NotFound
from liftsafe.emergency.models import EmergencyCase
from liftsafe.reports import public, services
from liftsafe.reports.tests.test_indicators import NOW, build_dataset, RULES


@pytest.fixture
def dataset(world, settings):
    settings.LIFTSAFE_RULES = dict(RULES)
    settings.TIME_ZONE = "Asia/Shanghai"
    reg = world.users["regulator"]
    reg.username = "zhang-wei-7731"  # a person's login: must never reach a public page
    reg.save()
    return build_dataset(world)


def _report(world, language="en"):
    return services.generate_report(world.users["regulator"], area_code="320102", period="2023-05", language=language, now=NOW)


def test_public_only_after_publication(dataset, client):
    r = _report(dataset)
    assert public.published_reports() == []
    with pytest.raises(NotFound):
        public.published_report(r.pk)
    for url in ("/public/reports/", f"/public/reports/{r.pk}/", f"/public/reports/{r.pk}/report.pdf"):
        resp = client.get(url)
        assert resp.status_code == (200 if url == "/public/reports/" else 404), url
        assert "2023-05" not in resp.content.decode(errors="ignore")
    services.publish_report(dataset.users["regulator"], r, now=NOW)
    [p] = public.published_reports()
    assert (p.id, p.period_label, p.area_name, p.published_at) == (r.pk, "2023-05", "玄武区", NOW)
    assert p.generated_at == r.generated_at
    body = client.get("/public/reports/").content.decode()
    assert f"/public/reports/{r.pk}/" in body and "2023-05" in body
    assert "zhang-wei-7731" not in body  # who generated/published is not public


def test_snapshot_is_frozen_and_whitelisted(dataset, client):
    r = _report(dataset)
    services.publish_report(dataset.users["regulator"], r, now=NOW)
    p = public.published_report(r.pk)
    keys = {t["key"] for s in p.data["sections"] for t in s["tables"]}
    assert "top_use_units" not in keys and "repeat_elevators" not in keys
    assert {"top_brands", "top_maintenance_units", "causes_by_item"} <= keys
    assert r.data["sections"] and any(t["key"] == "top_use_units" for s in r.data["sections"] for t in s["tables"])
    # data arriving after publication does not change what the public sees
    def main(resp):
        text = resp.content.decode()
        return re.sub(r'nonce="[^"]*"', "", text[text.index("<main>"):text.index("</main>")])
    before = main(client.get(f"/public/reports/{r.pk}/"))
    EmergencyCase.objects.filter(elevator=dataset.elevators["a1"]).delete()
    after = main(client.get(f"/public/reports/{r.pk}/"))
    assert before == after and "OTIS" in after
    assert "UU-Big" not in after  # a use unit's name (possibly a private person) is never public
    assert "zhang-wei-7731" not in after
    pdf = client.get(f"/public/reports/{r.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_top_lists_on_a_known_dataset(dataset, client):
    r = _report(dataset)
    services.publish_report(dataset.users["regulator"], r, now=NOW)
    top = public.top_lists(public.published_report(r.pk))
    # brands folded to OTIS: 3 elevators, 5 faults → 16,666.7 per 10,000; KONE has no fault (not listed)
    assert [(e.rank, e.name, e.elevators, e.faults, e.per_10k) for e in top.brands] == [(1, "OTIS", 3, 5, 16666.7)]
    # unit on the case date: maintenance unit A 6 elevators / 4 faults, MU-X 3 / 1
    assert [(e.rank, e.name, e.elevators, e.faults, e.per_10k) for e in top.maintenance_units] == [
        (1, "maintenance_unit A", 6, 4, 6666.7), (2, "MU-X", 3, 1, 3333.3)]
    # causes: rubbish blocking the doors twice, then power cut and door operator once each
    assert [(c.rank, c.faults) for c in top.causes] == [(1, 2), (2, 1), (3, 1)]
    assert top.causes[0].share_pct == 50.0
    body = client.get(f"/public/reports/{r.pk}/").content.decode()
    assert 'id="top-brands"' in body and "16666.7" in body and "6666.7" in body


def test_top_n_is_capped_at_ten():
    rows = [[i + 1, f"B{i:02d}", 100, 100 - i, 0, 0, 0, 0] for i in range(14)]
    data = {"sections": [{"key": "rankings", "tables": [{"key": "top_brands", "columns": [], "rows": rows}]}]}
    rep = public.PublicReport(1, "x", "x", "month", "2023-05", "en", None, None, data)
    top = public.top_lists(rep)
    assert len(top.brands) == 10 and top.brands[0].name == "B00" and top.brands[0].per_10k == 10000.0
    assert top.maintenance_units == [] and top.causes == []
