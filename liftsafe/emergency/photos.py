"""Photos taken on site by a responder (arrival / release; issue 15): verified and stripped by the platform.

:func:`clean_photo` opens the upload with Pillow (the content decides, not the file name), refuses what is not
a JPEG, PNG or WebP image, refuses oversize files and decompression bombs, applies the EXIF orientation and
re-encodes the pixels (JPEG, or PNG when the image has transparency) so that no metadata — EXIF, GPS, the
phone's make and serial, XMP, comments — is stored. Limits: rules ``field_photo_max_bytes`` and
``field_photo_max_pixels``.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from liftsafe.rules import rule

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}  # MPO: multi-picture JPEG written by some phones


@dataclass(frozen=True)
class CleanPhoto:
    """A re-encoded photo: ``content`` (a ContentFile named ``name``), ``sha256`` (hex of the stored bytes),
    ``width``/``height`` in pixels."""

    content: ContentFile
    name: str
    sha256: str
    width: int
    height: int


def clean_photo(upload, field: str = "photo") -> CleanPhoto:
    """Verify and re-encode ``upload`` (an UploadedFile or file-like with ``read``/``seek``/``size``).

    Raises:
        ValidationError: ``{field: [...]}`` — empty, larger than ``field_photo_max_bytes``, not an image Pillow can
            read, a format other than JPEG/PNG/WebP, more pixels than ``field_photo_max_pixels``.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    max_bytes = int(rule("field_photo_max_bytes"))
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if not size:
        raise ValidationError({field: [_("The photo is empty.")]})
    if size > max_bytes:
        raise ValidationError({field: [_("The photo is %(mb).1f MB; the limit is %(max).1f MB.") % {
            "mb": size / 1048576, "max": max_bytes / 1048576}]})
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    max_pixels = int(rule("field_photo_max_pixels"))
    not_image = ValidationError({field: [_("The file is not a photo (JPEG, PNG or WebP).")]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if probe.width * probe.height > max_pixels:
                    raise ValidationError({field: [_("The photo has %(n)d pixels; the limit is %(max)d.") % {
                        "n": probe.width * probe.height, "max": max_pixels}]})
                probe.verify()  # structure check; the image must be reopened after verify()
            if fmt not in ACCEPTED_FORMATS:
                raise not_image
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
                out = io.BytesIO()
                if has_alpha:
                    img.convert("RGBA").save(out, format="PNG", optimize=True)
                    ext = "png"
                else:
                    img.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
                    ext = "jpg"
                width, height = img.size
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise not_image from None
    body = out.getvalue()
    digest = hashlib.sha256(body).hexdigest()
    name = f"{digest[:16]}.{ext}"
    return CleanPhoto(ContentFile(body, name=name), name, digest, width, height)
