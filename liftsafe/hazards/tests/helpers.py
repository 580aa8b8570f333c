"""Helpers for the hazards tests: tiny valid evidence files and a filed hazard."""
import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from liftsafe.hazards import services
from liftsafe.hazards.models import Level, Source

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(name="photo.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name="report.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def file_hazard(world, elevator="a1", level=Level.SIGNIFICANT, unit=("use_unit", "a"), user="regulator", **kw):
    return services.hazard_file(world.users[user], elevator=world.elevators[elevator], source=kw.pop("source", Source.INSPECTION),
                                title=kw.pop("title", "厅门锁失效"), level=level, responsible_unit=world.orgs[unit], **kw)


def submitted(world, **kw):
    h = file_hazard(world, **kw)
    unit = world.users["use_unit"]
    services.evidence_add(unit, h, png())
    h.refresh_from_db()
    return services.rectification_submit(unit, h, version=h.version, note="更换厅门锁")


def today():
    return timezone.localdate()


def days(n):
    return today() + dt.timedelta(days=n)
