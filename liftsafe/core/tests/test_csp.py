"""Content-Security-Policy on every page (issue 18 item 16)."""
import re

import pytest
from django.test import Client

PAGES = ["/", "/login/", "/registry/elevators/", "/emergency/", "/emergency/board/", "/monitoring/",
         "/monitoring/devices/", "/hazards/", "/hazards/stats/", "/reports/", "/reports/list/", "/exchange/",
         "/exchange/imports/", "/account/tokens/", "/admin/", "/api/docs", "/command/map/", "/command/wall/"]


def policy(resp) -> dict[str, list[str]]:
    header = resp["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


@pytest.mark.parametrize("who,url", [("admin", u) for u in PAGES] + [("maintenance_unit", "/emergency/responder/"),
                                                                      ("maintenance_unit", "/hazards/mine/")])
def test_every_page_has_a_strict_policy(world, who, url):
    c = Client()
    c.force_login(world.users[who])
    r = c.get(url, follow=True)
    assert r.status_code == 200, (url, r.status_code)
    p = policy(r)
    assert p["default-src"] == ["'self'"] and p["script-src"] == ["'self'"], p
    assert p["object-src"] == ["'none'"] and p["frame-ancestors"] == ["'none'"] and p["base-uri"] == ["'self'"]
    assert not any("'unsafe-inline'" in v or "'unsafe-eval'" in v for v in p.values()), p
    html = r.content.decode()
    # no inline script, no inline event handler; every inline <style> carries this response's nonce
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html), url
    assert not re.search(r"\son[a-z]+=\"", html), url
    nonces = [n[len("'nonce-"):-1] for n in p.get("style-src", []) if n.startswith("'nonce-")]
    for m in re.finditer(r"<style\b([^>]*)>", html):
        assert nonces and f'nonce="{nonces[0]}"' in m.group(1), (url, m.group(0))


def test_anonymous_and_error_pages_have_the_policy(db):
    for url in ("/login/", "/no-such-page/", "/healthz"):
        r = Client().get(url)
        assert "default-src 'self'" in r["Content-Security-Policy"], url


def test_report_document_allows_only_its_own_styles(world):
    from liftsafe.core.csp import allow_document_styles
    from django.http import HttpResponse

    doc = "<html><head><style>body{color:red}</style></head><body></body></html>"
    r = allow_document_styles(HttpResponse(doc), doc)
    assert r._csp_update == {"style-src": ["'sha256-8nrDtt2utEq0fUO/N7wPDzHcv/Ws/wjUchBkHdtBvPo='"]} or \
        r._csp_update["style-src"][0].startswith("'sha256-")
