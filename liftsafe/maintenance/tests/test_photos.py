"""Photos: only images (by extension and content), size-capped, part of the frozen record's hash."""
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from liftsafe.maintenance import services
from liftsafe.maintenance.models import VisitPhoto

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_photo_checks_and_hash(mw, media, settings):
    u = mw.users["maintenance_unit"]
    services.visit_check_in(u, mw.visit.pk, code="100001")
    c = Client()
    c.force_login(u)
    url = f"/api/maintenance/visits/{mw.visit.pk}/photos"
    r = c.post(url, {"file": SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image at all")})
    assert r.status_code == 422 and "file" in r.json()["errors"]
    r = c.post(url, {"file": SimpleUploadedFile("x.exe", PNG)})
    assert r.status_code == 422 and "file" in r.json()["errors"]
    settings.LIFTSAFE_RULES = {"maintenance_photo_max_bytes": 50}
    r = c.post(url, {"file": SimpleUploadedFile("big.png", PNG)})
    assert r.status_code == 422 and "MB" in r.json()["errors"]["file"][0]
    settings.LIFTSAFE_RULES = {}
    r = c.post(url, {"file": SimpleUploadedFile("door.png", PNG), "item": "Z-1-01"})
    assert r.status_code == 422 and "item" in r.json()["errors"]
    assert not VisitPhoto.objects.exists()
    r = c.post(url, {"file": SimpleUploadedFile("door.png", PNG), "item": "A-1-29"})
    assert r.status_code == 201, r.content
    services.visit_check_out(u, mw.visit.pk)
    v = services.visit_countersign(mw.users["use_unit"], mw.visit.pk)
    assert services.verify_chain(v.elevator).ok
    photo = VisitPhoto.objects.get()
    with pytest.raises(ValidationError):
        photo.delete()
    # a photo swapped behind the platform's back breaks the chain (on PostgreSQL the trigger must be bypassed first)
    from django.db import DatabaseError, connection, transaction
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            VisitPhoto.objects.filter(pk=photo.pk).update(sha256="0" * 64)
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
    VisitPhoto.objects.filter(pk=photo.pk).update(sha256="0" * 64)
    assert not services.verify_chain(v.elevator).ok
