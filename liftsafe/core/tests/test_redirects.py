"""Open redirect through ``next`` (issue 18 item 13): only same-host relative URLs are followed."""
import pytest
from django.test import Client, RequestFactory

from liftsafe.core.redirects import safe_next_url

HOSTILE = ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "http:/evil.example",
           "javascript:alert(1)", " https://evil.example", "\x01//evil.example", "evil.example/x",
           "https://testserver.evil.example/", "///evil.example"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_next_is_refused(value):
    assert safe_next_url(RequestFactory().post("/"), value) is None


@pytest.mark.parametrize("value", ["/hazards/1/", "/hazards/?state=open&page=2", "/"])
def test_same_host_relative_next_is_kept(value):
    assert safe_next_url(RequestFactory().post("/"), value) == value


@pytest.mark.parametrize("value", HOSTILE[:4])
def test_evidence_upload_next_cannot_redirect_off_site(world, value):
    """Regression: the evidence upload form's ``next`` redirected to any URL."""
    from liftsafe.hazards.tests.helpers import file_hazard, png

    h = file_hazard(world)
    c = Client()
    c.force_login(world.users["use_unit"])
    r = c.post(f"/hazards/{h.pk}/evidence/", {"file": png(), "note": "n", "next": value})
    assert r.status_code == 302 and r["Location"] == h.get_absolute_url()
    r = c.post(f"/hazards/{h.pk}/evidence/", {"file": png(), "next": "/hazards/mine/"})
    assert r.status_code == 302 and r["Location"] == "/hazards/mine/"
