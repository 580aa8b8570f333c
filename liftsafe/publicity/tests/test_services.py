"""Publicity services: validation by field, sanitising on save and render, scheduling, place-type targeting,
counters, images (Pillow check, metadata stripped), scope."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from liftsafe.core.errors import NotFound
from liftsafe.publicity import selectors, services
from liftsafe.publicity.models import Article, Counter, State

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 9, 15, 10, 0, tzinfo=SH)


def base(**kw):
    d = {"title_zh": "乘梯安全", "body_zh": "## 乘梯须知\n\n不要扒门。", "audiences": ["children", "parents"], "theme": "schools"}
    d.update(kw)
    return d


def campaign(**kw):
    d = dict(kind="campaign", starts_on=dt.date(2026, 9, 14), ends_on=dt.date(2026, 9, 20), place_types=[1, 2],
             notice_zh="电梯安全宣传周：请勿在电梯内打闹", notice_en="Lift safety week: no playing in the lift")
    return base(**{**d, **kw})


def test_create_validates_by_field(world):
    reg = world.users["regulator"]
    with pytest.raises(ValidationError) as e:
        services.article_create(reg, {"title_zh": "", "body_zh": " ", "audiences": ["aliens"], "theme": "x",
                                      "place_types": [99], "kind": "article"})
    errs = e.value.message_dict
    assert {"title_zh", "body_zh", "audiences", "theme", "place_types"} <= set(errs)
    with pytest.raises(ValidationError) as e:
        services.article_create(reg, base(kind="campaign", place_types=[1]))
    assert {"starts_on", "notice_zh"} <= set(e.value.message_dict)
    with pytest.raises(ValidationError) as e:
        services.article_create(reg, base(publish_at=NOW, unpublish_at=NOW - dt.timedelta(hours=1)))
    assert "unpublish_at" in e.value.message_dict
    assert Article.objects.count() == 0


def test_roles_and_area_scope(world):
    for role in ("operator", "maintenance_unit", "use_unit", "inspection_agency", "insurer", "rescue_station", "nobody"):
        with pytest.raises(PermissionDenied):
            services.article_create(world.users[role], base())
    a = services.article_create(world.users["regulator"], base())
    assert a.area == world.district_a and a.state == State.DRAFT
    with pytest.raises(ValidationError) as e:  # district B is outside a district-A regulator's area
        services.article_create(world.users["regulator"], base(area="320104"))
    assert "area" in e.value.message_dict
    b = services.article_create(world.users["city_regulator"], base(area="320104"))
    with pytest.raises(NotFound):
        services.article_transition(world.users["regulator"], b.pk, "publish")
    with pytest.raises(NotFound):
        services.article_update(world.users["regulator"], b.pk, {"title_zh": "x"})
    assert list(selectors.articles_for(world.users["regulator"])) == [a]
    assert set(selectors.articles_for(world.users["city_regulator"])) == {a, b}


EVIL = ('<script>alert("x")</script>\n\n<img src="a.png" onerror="alert(1)">\n\n[link](javascript:alert(1)) '
        '<a href="javascript:alert(2)" onclick="alert(3)">b</a>')


def test_sanitised_on_save_and_on_render(world, client):
    a = services.article_create(world.users["regulator"], base(body_zh=EVIL, body_en=EVIL, title_en="Safety"))
    for html in (a.body_zh_html, a.body_en_html):
        low = html.lower()
        assert "<script" not in low and "onerror" not in low and "javascript:" not in low and "onclick" not in low
        assert "alert" not in low.replace("alert(1))", "")  # only link text may keep the word
    services.article_transition(world.users["regulator"], a.pk, "publish")
    # a row written around the model (e.g. a raw import) is sanitised again when rendered
    Article.objects.filter(pk=a.pk).update(body_zh_html='<p>ok</p><script>alert("raw")</script><img src=x onerror=alert(9)>'
                                                        '<a href="javascript:alert(8)">y</a>')
    for url in (f"/public/safety/{a.pk}/", f"/api/publicity/public/articles/{a.pk}"):
        body = client.get(url).content.decode()
        assert 'alert("raw")' not in body and "onerror" not in body and "javascript:alert(8)" not in body, url
        assert "ok" in body
    client.force_login(world.users["regulator"])
    body = client.get(f"/publicity/{a.pk}/").content.decode()
    assert 'alert("raw")' not in body and "alert(9)" not in body


def test_schedule_publish_unpublish(world):
    reg = world.users["regulator"]
    a = services.article_create(reg, base())
    with pytest.raises(ValidationError) as e:  # no future time
        services.article_transition(reg, a.pk, "schedule", now=NOW)
    assert "publish_at" in e.value.message_dict
    services.article_update(reg, a.pk, {"publish_at": NOW + dt.timedelta(days=1), "unpublish_at": NOW + dt.timedelta(days=3)})
    a = services.article_transition(reg, a.pk, "schedule", now=NOW)
    assert a.state == State.SCHEDULED
    ids = lambda at: [x.id for x in selectors.public_articles(at=at)]  # noqa: E731
    assert ids(NOW) == [] and ids(NOW + dt.timedelta(days=1, seconds=1)) == [a.pk]
    assert ids(NOW + dt.timedelta(days=3)) == []  # unpublished at its time even before the task runs
    with pytest.raises(NotFound):
        selectors.public_article(a.pk, at=NOW)
    # the task brings states in line with the clock, idempotently
    assert services.publicity_tick(NOW + dt.timedelta(days=2)) == {"published": 1, "archived": 0}
    assert Article.objects.get(pk=a.pk).state == State.PUBLISHED
    assert services.publicity_tick(NOW + dt.timedelta(days=2)) == {"published": 0, "archived": 0}
    assert services.publicity_tick(NOW + dt.timedelta(days=4)) == {"published": 0, "archived": 1}
    a = Article.objects.get(pk=a.pk)
    assert a.state == State.ARCHIVED
    with pytest.raises(ValidationError) as e:  # archived: edit refused until returned to draft
        services.article_update(reg, a.pk, {"title_zh": "新"})
    assert "state" in e.value.message_dict
    with pytest.raises(ValidationError):
        services.article_transition(reg, a.pk, "archive")
    services.article_transition(reg, a.pk, "redraft")
    services.article_update(reg, a.pk, {"unpublish_at": None})
    a = services.article_transition(reg, a.pk, "publish")
    assert a.state == State.PUBLISHED and a.publish_at <= timezone.now()
    assert [x.id for x in selectors.public_articles()] == [a.pk]
    a = services.article_transition(reg, a.pk, "archive")
    assert a.state == State.ARCHIVED and selectors.public_articles() == []
    from liftsafe.core.messages import decode

    assert [decode(h.history_change_reason) for h in a.history.order_by("history_id")][-2:] == [
        ("publicity.transition", {"action": "publish"}), ("publicity.transition", {"action": "archive"})]
    with pytest.raises(ValidationError) as e:
        services.article_transition(reg, a.pk, "fly")
    assert "action" in e.value.message_dict


def test_bilingual_fallback(world):
    from django.utils import translation

    reg = world.users["regulator"]
    a = services.article_create(reg, base())
    b = services.article_create(reg, base(title_en="Lift safety", body_en="Do not force the doors."))
    for x in (a, b):
        services.article_transition(reg, x.pk, "publish")
    with translation.override("en"):
        pa, pb = selectors.public_article(a.pk), selectors.public_article(b.pk)
    assert (pa.title, pa.language, pa.fallback) == ("乘梯安全", "zh-hans", True)
    assert (pb.title, pb.language, pb.fallback) == ("Lift safety", "en", False)
    with translation.override("zh-hans"):
        assert selectors.public_article(b.pk).title == "乘梯安全"
    with pytest.raises(ValidationError) as e:
        services.article_create(reg, base(body_en="text"))
    assert "title_en" in e.value.message_dict


def test_place_type_targeting(world):
    reg = world.users["regulator"]
    a1, a2, b1 = world.elevators["a1"], world.elevators["a2"], world.elevators["b1"]
    for e, pt in ((a1, 1), (a2, 11), (b1, 1)):
        e.place_type = pt
        e.save()
    c = services.article_create(reg, campaign())
    services.article_transition(reg, c.pk, "publish", now=NOW - dt.timedelta(days=2))
    everyone = services.article_create(world.users["city_regulator"], campaign(place_types=[], area="320100"))
    services.article_transition(world.users["city_regulator"], everyone.pk, "publish", now=NOW - dt.timedelta(days=2))
    on = lambda e, at=NOW: sorted(n.campaign_id for n in selectors.public_notices_for(e, at))  # noqa: E731
    assert on(a1) == sorted([c.pk, everyone.pk])            # a school in district A
    assert on(a2) == [everyone.pk]                          # a residential lift: only the untargeted campaign
    assert on(b1) == [everyone.pk]                          # a school in district B: not the district-A campaign
    a2.place_type = None
    a2.save()
    assert on(a2) == [everyone.pk]                          # unknown place type: untargeted campaigns only
    # its duration, in the area's local time: 2026-09-20 23:59 Shanghai is still on, 09-21 00:00 is not
    assert c.pk in on(a1, dt.datetime(2026, 9, 20, 23, 59, tzinfo=SH))
    assert c.pk not in on(a1, dt.datetime(2026, 9, 21, 0, 0, tzinfo=SH))
    assert c.pk not in on(a1, dt.datetime(2026, 9, 13, 23, 59, tzinfo=SH))
    n = [x for x in selectors.public_notices_for(a1, NOW) if x.campaign_id == c.pk][0]
    assert n.text == "电梯安全宣传周：请勿在电梯内打闹" and n.url == f"/public/safety/{c.pk}/"
    assert set(n.__dataclass_fields__) == {"campaign_id", "title", "text", "theme", "starts_on", "ends_on", "url"}
    services.article_transition(reg, c.pk, "archive")
    assert on(a1) == [everyone.pk]


def test_counters(world, client):
    reg = world.users["regulator"]
    a = services.article_create(reg, campaign())
    services.article_transition(reg, a.pk, "publish")
    for _ in range(3):
        assert client.get(f"/public/safety/{a.pk}/").status_code == 200
    assert client.head(f"/public/safety/{a.pk}/").status_code == 200  # HEAD is not a view
    services.count_qr_scans([a.pk, a.pk, 999999])
    services.count_qr_scans([a.pk])
    assert selectors.counts([a.pk]) == {a.pk: {"view": 3, "qr_scan": 2}}
    assert Counter.objects.filter(article=a).count() == 2  # one row per kind and day
    assert "Set-Cookie" not in client.get(f"/public/safety/{a.pk}/")
    draft = services.article_create(reg, base())
    assert client.get(f"/public/safety/{draft.pk}/").status_code == 404
    assert selectors.counts([draft.pk]) == {draft.pk: {"view": 0, "qr_scan": 0}}


def _png_with_metadata() -> bytes:
    from PIL import Image, PngImagePlugin

    img = Image.new("RGB", (40, 30), (200, 30, 30))
    info = PngImagePlugin.PngInfo()
    info.add_text("GPS", "32.04,118.79")
    info.add_text("Author", "Zhang San")
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _jpeg_with_exif() -> bytes:
    from PIL import Image

    img = Image.new("RGB", (40, 30), (10, 120, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"       # Make
    exif[0x8825] = {2: (32, 2, 0)}     # GPS IFD (latitude)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_image_checked_and_stripped(world, client):
    from PIL import Image

    reg = world.users["regulator"]
    a = services.article_create(reg, base())
    raw = _png_with_metadata()
    assert b"Zhang San" in raw
    services.article_set_image(reg, a.pk, SimpleUploadedFile("x.png", raw), alt_zh="宣传海报")
    a.refresh_from_db()
    stored = a.image.read()
    assert b"Zhang San" not in stored and b"32.04" not in stored
    assert Image.open(io.BytesIO(stored)).size == (40, 30)
    raw = _jpeg_with_exif()
    assert b"CameraMaker" in raw
    services.article_set_image(reg, a.pk, SimpleUploadedFile("y.jpg", raw), alt_zh="图")
    a.refresh_from_db()
    stored = a.image.read()
    assert b"CameraMaker" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    for name, content in (("evil.png", b"<script>alert(1)</script>"), ("t.png", raw[:60]), ("e.png", b"")):
        with pytest.raises(ValidationError) as e:
            services.article_set_image(reg, a.pk, SimpleUploadedFile(name, content), alt_zh="图")
        assert "image" in e.value.message_dict
    gif = io.BytesIO()
    Image.new("RGB", (2, 2)).save(gif, format="GIF")
    with pytest.raises(ValidationError):
        services.article_set_image(reg, a.pk, SimpleUploadedFile("a.gif", gif.getvalue()), alt_zh="图")
    with pytest.raises(ValidationError) as e:
        services.article_set_image(reg, a.pk, SimpleUploadedFile("x.png", _png_with_metadata()), alt_zh="")
    assert "image_alt_zh" in e.value.message_dict
    # served only once published, with its type
    assert client.get(f"/public/safety/{a.pk}/image").status_code == 404
    services.article_transition(reg, a.pk, "publish")
    r = client.get(f"/public/safety/{a.pk}/image")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"


def test_image_size_limit(world, settings):
    settings.LIFTSAFE_RULES = {"publicity_image_max_bytes": 1000}
    a = services.article_create(world.users["regulator"], base())
    with pytest.raises(ValidationError) as e:
        services.article_set_image(world.users["regulator"], a.pk, SimpleUploadedFile("x.png", b"\x89PNG" + b"0" * 2000), alt_zh="图")
    assert "MB" in e.value.message_dict["image"][0]
