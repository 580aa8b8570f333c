"""Publicity writes: create, edit, change state, set the image, count views and QR scans, the schedule tick.

Who may: administrators and regulators for articles of their area (``publicity.manage`` to write,
``publicity.publish`` to schedule/publish/archive). Every write validates fully (errors name the field),
runs in one transaction and records history (``save_with_history``). Counters are plain numbers updated
with ``F()`` expressions (no personal data, no cookies).
"""
from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from liftsafe.core.history import save_with_history
from liftsafe.core.messages import encode
from liftsafe.core.models import Area
from liftsafe.core.permissions import require
from liftsafe.core.scoping import scope_of
from liftsafe.core.zones import area_zone
from liftsafe.registry.codes import PLACE_TYPE_CHOICES
from liftsafe.rules import rule

from . import messages as msg
from . import selectors
from .domain import NATIONAL_KEYS, Audience, Theme
from .models import Article, Counter, Kind, State
from .workflow import ARTICLE_FLOW

TEXT_FIELDS = {"title_zh": 200, "title_en": 200, "summary_zh": 300, "summary_en": 300, "body_zh": 100_000,
               "body_en": 100_000, "image_alt_zh": 200, "image_alt_en": 200, "notice_zh": 200, "notice_en": 200}
EDITABLE = set(TEXT_FIELDS) | {"kind", "audiences", "theme", "national_date", "publish_at", "unpublish_at",
                               "starts_on", "ends_on", "place_types", "area"}


def _area(user, code: str | None) -> Area:
    """The article's area: ``code`` if inside the user's scope, else (None) a regulator's own area."""
    scope = scope_of(user)
    if not code:
        if scope.area_path:
            area = Area.objects.filter(path=scope.area_path).first()
            if area is not None:
                return area
        raise ValidationError({"area": [_("Choose an area.")]})
    qs = Area.objects.filter(code=str(code)[:32])
    if not scope.is_admin:
        qs = qs.filter(path__startswith=scope.area_path or "\0")
    area = qs.first()
    if area is None:
        raise ValidationError({"area": [_("Unknown area “%(code)s”.") % {"code": str(code)[:32]}]})
    return area


def _clean(article: Article, data: dict) -> None:
    """Apply ``data`` (only :data:`EDITABLE` keys) to ``article`` and validate the whole article.

    Raises:
        ValidationError: every problem, by field.
    """
    errors: dict[str, list[str]] = {}
    unknown = set(data) - EDITABLE
    if unknown:
        errors["__all__"] = [_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))}]
    for f, limit in TEXT_FIELDS.items():
        if f in data:
            v = "" if data[f] is None else str(data[f])
            if "\x00" in v:
                errors.setdefault(f, []).append(_("Contains a NUL character."))
            v = v.strip() if f not in ("body_zh", "body_en") else v
            if len(v) > limit:
                errors.setdefault(f, []).append(_("At most %(n)s characters.") % {"n": limit})
            setattr(article, f, v)
    if "kind" in data:
        if data["kind"] not in Kind.values:
            errors["kind"] = [_("Choose article or campaign.")]
        else:
            article.kind = data["kind"]
    if "theme" in data:
        if data["theme"] not in Theme.values:
            errors["theme"] = [_("Unknown theme.")]
        else:
            article.theme = data["theme"]
    if "national_date" in data:
        nd = data["national_date"] or ""
        if nd and nd not in NATIONAL_KEYS:
            errors["national_date"] = [_("Unknown national date.")]
        else:
            article.national_date = nd
    if "audiences" in data:
        aud = list(data["audiences"] or [])
        bad = [a for a in aud if a not in Audience.values]
        if bad:
            errors["audiences"] = [_("Unknown audience: %(a)s.") % {"a": ", ".join(map(str, bad))[:100]}]
        else:
            article.audiences = [a for a in Audience.values if a in aud]
    if "place_types" in data:
        codes = {c for c, _l in PLACE_TYPE_CHOICES}
        try:
            pts = sorted({int(p) for p in (data["place_types"] or [])})
        except (TypeError, ValueError):
            pts = None
        if pts is None or any(p not in codes for p in pts):
            errors["place_types"] = [_("Unknown place type.")]
        else:
            article.place_types = pts
    for f in ("publish_at", "unpublish_at"):
        if f in data:
            v = data[f]
            if v is not None and (not isinstance(v, dt.datetime) or timezone.is_naive(v)):
                errors[f] = [_("Give a date and time with a time zone.")]
            else:
                setattr(article, f, v)
    for f in ("starts_on", "ends_on"):
        if f in data:
            v = data[f]
            if v is not None and (not isinstance(v, dt.date) or isinstance(v, dt.datetime)):
                errors[f] = [_("Give a date.")]
            else:
                setattr(article, f, v)
    if not article.title_zh:
        errors.setdefault("title_zh", []).append(_("A Chinese title is required."))
    if not article.body_zh.strip():
        errors.setdefault("body_zh", []).append(_("A Chinese text is required."))
    if article.body_en.strip() and not article.title_en:
        errors.setdefault("title_en", []).append(_("An English text needs an English title."))
    if article.publish_at and article.unpublish_at and article.unpublish_at <= article.publish_at:
        errors.setdefault("unpublish_at", []).append(_("Unpublishing must come after publishing."))
    if article.starts_on and article.ends_on and article.ends_on < article.starts_on:
        errors.setdefault("ends_on", []).append(_("The campaign cannot end before it starts."))
    if article.kind == Kind.CAMPAIGN:
        if not article.starts_on or not article.ends_on:
            errors.setdefault("starts_on", []).append(_("A campaign needs a start and an end date."))
        if article.place_types and not article.notice_zh:
            errors.setdefault("notice_zh", []).append(_("A campaign that targets lifts needs a Chinese notice text."))
    elif article.place_types:
        errors.setdefault("place_types", []).append(_("Only a campaign targets lifts by place type."))
    if errors:
        raise ValidationError(errors)


def article_create(user, data: dict) -> Article:
    """Create a draft article or campaign from ``data`` (field → value; ``area`` an area code, default the
    regulator's own area).

    Raises:
        PermissionDenied: not an administrator or regulator.
        ValidationError: by field (see :func:`_clean`).
    """
    require(user, "publicity.manage")
    data = dict(data)
    area = _area(user, data.pop("area", None))
    article = Article(area=area, created_by=user if getattr(user, "pk", None) else None)
    _clean(article, data)
    with transaction.atomic():
        save_with_history(article, user, encode(msg.CREATED))
    return article


def article_update(user, pk: int, data: dict) -> Article:
    """Change the content of article ``pk`` (draft, scheduled or published; an archived article must be
    returned to draft first). Only the fields present in ``data`` change.

    Raises:
        NotFound: out of scope. PermissionDenied: role. ValidationError: by field; ``state`` when archived.
    """
    require(user, "publicity.manage")
    with transaction.atomic():
        article = selectors.articles_for(user).select_for_update(of=("self",)).filter(pk=pk).first()
        if article is None:
            raise selectors.NotFound("article not found")
        require(user, "publicity.manage", article)
        ARTICLE_FLOW.check("edit", article.state)
        data = dict(data)
        if "area" in data:
            article.area = _area(user, data.pop("area"))
        _clean(article, data)
        if article.state == State.SCHEDULED and (article.publish_at is None or article.publish_at <= timezone.now()):
            raise ValidationError({"publish_at": [_("A scheduled article needs a publication time in the future.")]})
        save_with_history(article, user, encode(msg.EDITED))
    return article


def article_transition(user, pk: int, name: str, *, now: dt.datetime | None = None) -> Article:
    """Take transition ``name`` (schedule, publish, archive, redraft) of :data:`ARTICLE_FLOW` on article ``pk``.

    - schedule: needs ``publish_at`` in the future;
    - publish: now (``publish_at`` becomes now unless already in the past);
    - archive: ``unpublish_at`` becomes now if not already past;
    - redraft: back to draft.

    Raises:
        NotFound / PermissionDenied; ValidationError ``action`` (unknown), ``state`` (not from this state),
        ``publish_at`` (schedule without a future time), ``unpublish_at`` (publish after the end).
    """
    now = now or timezone.now()
    t = ARTICLE_FLOW.get(name)
    if name == "edit":
        raise ValidationError({"action": [_("Use the edit form to change the content.")]})
    require(user, t.permission)
    with transaction.atomic():
        article = selectors.articles_for(user).select_for_update(of=("self",)).filter(pk=pk).first()
        if article is None:
            raise selectors.NotFound("article not found")
        require(user, t.permission, article)
        ARTICLE_FLOW.check(name, article.state)
        if name == "schedule":
            if article.publish_at is None or article.publish_at <= now:
                raise ValidationError({"publish_at": [_("Give a publication time in the future to schedule.")]})
        elif name == "publish":
            if article.unpublish_at is not None and article.unpublish_at <= now:
                raise ValidationError({"unpublish_at": [_("The unpublication time has passed; change it first.")]})
            if article.publish_at is None or article.publish_at > now:
                article.publish_at = now
        elif name == "archive":
            if article.unpublish_at is None or article.unpublish_at > now:
                article.unpublish_at = now
            if article.publish_at is not None and article.unpublish_at <= article.publish_at:
                article.publish_at = None
        article.state = t.target
        save_with_history(article, user, encode(msg.TRANSITION, action=name))
    return article


IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def clean_image(upload) -> tuple[bytes, str]:
    """Check an uploaded image with Pillow and re-encode it without metadata (EXIF, GPS, comments, ICC).

    Returns ``(bytes, extension)``. The image is decoded fully (a truncated or disguised file fails), must be
    JPEG, PNG or WebP, at most ``publicity_image_max_bytes`` and ``publicity_image_max_pixels``; it is turned
    upright by its EXIF orientation and scaled down to ``publicity_image_max_side``.

    Raises:
        ValidationError: ``{"image": …}``.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    size = getattr(upload, "size", None) or 0
    if not size:
        raise ValidationError({"image": [_("The file is empty.")]})
    if size > rule("publicity_image_max_bytes"):
        raise ValidationError({"image": [_("The image is %(mb).1f MB; the limit is %(max).1f MB.") % {
            "mb": size / 1048576, "max": rule("publicity_image_max_bytes") / 1048576}]})
    upload.seek(0)
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in IMAGE_FORMATS:
                raise ValidationError({"image": [_("Only JPEG, PNG or WebP images are accepted.")]})
            if probe.width * probe.height > rule("publicity_image_max_pixels"):
                raise ValidationError({"image": [_("The image has too many pixels.")]})
            probe.verify()
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            side = int(rule("publicity_image_max_side"))
            if max(img.size) > side:
                img.thumbnail((side, side))
            if fmt == "JPEG" and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            clean = Image.new(img.mode, img.size)  # a fresh image: no info, EXIF, XMP or text chunks carried over
            clean.paste(img)
            if img.mode == "P" and img.getpalette():
                clean.putpalette(img.getpalette())
            out = io.BytesIO()
            clean.save(out, format=fmt, **({"quality": 85} if fmt in ("JPEG", "WEBP") else {}))
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({"image": [_("The file is not a readable image.")]}) from None
    return out.getvalue(), IMAGE_FORMATS[fmt]


def article_set_image(user, pk: int, upload, *, alt_zh: str | None = None, alt_en: str | None = None) -> Article:
    """Replace the article's image (checked and stripped by :func:`clean_image`); ``alt_*`` its descriptions.

    Raises: NotFound / PermissionDenied; ValidationError ``image``, ``image_alt_zh`` (required with an image)."""
    require(user, "publicity.manage")
    data, ext = clean_image(upload)
    with transaction.atomic():
        article = selectors.articles_for(user).select_for_update(of=("self",)).filter(pk=pk).first()
        if article is None:
            raise selectors.NotFound("article not found")
        require(user, "publicity.manage", article)
        ARTICLE_FLOW.check("edit", article.state)
        changes = {k: v for k, v in (("image_alt_zh", alt_zh), ("image_alt_en", alt_en)) if v is not None}
        _clean(article, changes)
        if not article.image_alt_zh:
            raise ValidationError({"image_alt_zh": [_("Describe the image in Chinese (for screen readers).")]})
        article.image.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(data), save=False)
        save_with_history(article, user, encode(msg.IMAGE))
    return article


# --------------------------------------------------------------------------- counters
def _bump(article_ids: Iterable[int], kind: str, day: dt.date) -> None:
    for pk in article_ids:
        with transaction.atomic():
            n = Counter.objects.filter(article_id=pk, kind=kind, day=day).update(count=F("count") + 1)
            if n:
                continue
            try:
                with transaction.atomic():
                    Counter.objects.create(article_id=pk, kind=kind, day=day, count=1)
            except IntegrityError:  # created by a concurrent request since our update
                Counter.objects.filter(article_id=pk, kind=kind, day=day).update(count=F("count") + 1)


def count_view(article: Article, at: dt.datetime | None = None) -> None:
    """Count one public page view of ``article`` (local day of its area). No user, address or cookie."""
    at = at or timezone.now()
    _bump([article.pk], Counter.Kind.VIEW, timezone.localtime(at, area_zone(article.area)).date())


def count_qr_scans(campaign_ids: Iterable[int], at: dt.datetime | None = None) -> None:
    """Count one QR scan for each campaign whose notice a lift's public page showed
    (``[n.campaign_id for n in selectors.public_notices_for(elevator, at)]``). For the disclosure QR page."""
    at = at or timezone.now()
    ids = sorted({int(i) for i in campaign_ids})
    areas = dict(Article.objects.filter(pk__in=ids, kind=Kind.CAMPAIGN).values_list("pk", "area_id"))
    for pk in ids:
        if pk in areas:
            _bump([pk], Counter.Kind.QR_SCAN, timezone.localtime(at, area_zone(areas[pk])).date())


# --------------------------------------------------------------------------- schedule
def publicity_tick(now: dt.datetime | None = None) -> dict[str, int]:
    """Bring states in line with the clock: scheduled articles whose ``publish_at`` has come become published;
    scheduled or published ones whose ``unpublish_at`` has come become archived. Idempotent.

    Public visibility never waits for this (:func:`selectors.visible_q`); it keeps the staff list honest.
    Returns ``{"published": n, "archived": n}``."""
    now = now or timezone.now()
    done = {"published": 0, "archived": 0}
    with transaction.atomic():
        for a in Article.objects.select_for_update().filter(state__in=[State.SCHEDULED, State.PUBLISHED],
                                                            unpublish_at__isnull=False, unpublish_at__lte=now):
            a.state = State.ARCHIVED
            save_with_history(a, None, encode(msg.AUTO_UNPUBLISHED))
            done["archived"] += 1
        for a in Article.objects.select_for_update().filter(state=State.SCHEDULED, publish_at__lte=now):
            a.state = State.PUBLISHED
            save_with_history(a, None, encode(msg.AUTO_PUBLISHED))
            done["published"] += 1
    return done

