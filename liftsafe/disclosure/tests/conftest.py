import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from liftsafe.disclosure import services


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dw(world, settings, tmp_path):
    """The shared world with public codes for every lift and media in a temporary directory."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    services.ensure_codes()
    world.code = {k: e.public_code.code for k, e in ((k, type(e).objects.get(pk=e.pk)) for k, e in world.elevators.items())}
    return world


def jpeg_with_gps(size=(64, 48)) -> bytes:
    """A JPEG carrying EXIF with a GPS block and a camera model (to prove they are stripped)."""
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = "SECRET-CAMERA"  # Model
    exif[0x8825] = {1: "N", 2: (32.0, 3.0, 1.0), 3: "E", 4: (118.0, 47.0, 2.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def upload(data: bytes, name="p.jpg", ctype="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=ctype)
