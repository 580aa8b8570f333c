"""Staff pages and API: write through the form (errors named by field label), edit, publish, calendar; the API
create → patch → transition flow; the public API. Per-role access is in the scoping matrix."""
from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from liftsafe.publicity.models import Article, State


def test_form_create_edit_publish(world, client):
    client.force_login(world.users["regulator"])
    r = client.post("/publicity/new/", {"kind": "article", "title_zh": "", "body_zh": "x", "theme": "general"})
    assert r.status_code == 200 and Article.objects.count() == 0
    r = client.post("/publicity/new/", {"kind": "campaign", "title_zh": "宣传", "body_zh": "x", "theme": "general",
                                        "place_types": ["1"]})
    body = r.content.decode()
    assert r.status_code == 200 and "宣传活动需要开始和结束日期" in body and "扫码页提示" in body
    r = client.post("/publicity/new/", {"kind": "article", "title_zh": "乘梯须知", "body_zh": "**不要**扒门 <script>x()</script>",
                                        "theme": "cars", "audiences": ["children", "parents"]})
    a = Article.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/publicity/{a.pk}/"
    assert a.area == world.district_a and a.audiences == ["children", "parents"] and "<script" not in a.body_zh_html
    page = client.get(f"/publicity/{a.pk}/").content.decode()
    assert "<strong>不要</strong>" in page and 'id="action-publish"' in page and 'id="action-archive"' not in page
    r = client.get(f"/publicity/{a.pk}/edit/")
    assert r.status_code == 200 and "乘梯须知" in r.content.decode()
    r = client.post(f"/publicity/{a.pk}/edit/", {"kind": "article", "title_zh": "乘梯须知（修订）", "body_zh": "新正文",
                                                 "theme": "cars", "area": "320102"})
    assert r.status_code == 302 and Article.objects.get().title_zh == "乘梯须知（修订）"
    r = client.post(f"/publicity/{a.pk}/action/schedule/")  # no future publish_at: refused with a message
    assert r.status_code == 302 and Article.objects.get().state == State.DRAFT
    client.post(f"/publicity/{a.pk}/action/publish/")
    assert Article.objects.get().state == State.PUBLISHED
    page = client.get(f"/publicity/{a.pk}/").content.decode()
    assert 'id="action-archive"' in page and 'id="action-publish"' not in page
    assert client.get("/public/safety/").content.decode().count("乘梯须知（修订）") == 1


def test_calendar_page_and_prefill(world, client):
    client.force_login(world.users["regulator"])
    body = client.get("/publicity/calendar/?year=2027").content.decode()
    assert "2027-03-29" in body and "2027-09-13 – 2027-09-19" in body
    assert client.get("/publicity/calendar/?year=abc").status_code == 200
    body = client.get("/publicity/new/?national_date=school_safety_day&year=2028").content.decode()
    assert 'value="2028-03-27"' in body and "全国中小学生安全教育日" in body
    assert client.get("/publicity/new/?national_date=nope&year=x").status_code == 200


def test_api_flow(world, client):
    client.force_login(world.users["regulator"])
    post = lambda url, d: client.post(url, json.dumps(d), content_type="application/json")  # noqa: E731
    r = post("/api/publicity/articles", {"title_zh": "标题", "body_zh": "<img src=x onerror=alert(1)>正文",
                                         "audiences": ["residents"]})
    assert r.status_code == 201, r.content
    a = r.json()
    assert a["state"] == "draft" and "onerror" not in a["body_zh_html"] and a["actions"] == ["edit", "schedule", "publish"]
    r = post("/api/publicity/articles", {"title_zh": "", "body_zh": "x", "audiences": ["aliens"]})
    assert r.status_code == 422
    later = (timezone.now() + dt.timedelta(days=2)).isoformat()
    r = client.patch(f"/api/publicity/articles/{a['id']}", json.dumps({"publish_at": later}), content_type="application/json")
    assert r.status_code == 200 and r.json()["publish_at"]
    r = post(f"/api/publicity/articles/{a['id']}/schedule", {})
    assert r.status_code == 200 and r.json()["state"] == "scheduled"
    assert client.get("/api/publicity/public/articles").json() == []
    r = post(f"/api/publicity/articles/{a['id']}/archive", {})
    assert r.status_code == 200 and r.json()["state"] == "archived"
    r = post(f"/api/publicity/articles/{a['id']}/archive", {})
    assert r.status_code in (409, 422)
    post(f"/api/publicity/articles/{a['id']}/redraft", {})
    client.patch(f"/api/publicity/articles/{a['id']}", json.dumps({"publish_at": None, "unpublish_at": None}),
                 content_type="application/json")
    assert post(f"/api/publicity/articles/{a['id']}/publish", {}).status_code == 200
    client.logout()
    pub = client.get("/api/publicity/public/articles").json()
    assert [p["id"] for p in pub] == [a["id"]] and set(pub[0]) >= {"title", "body_html", "published_at"}
    assert "created_by" not in pub[0] and "state" not in pub[0]
    assert client.get("/api/publicity/public/articles?audience=children").json() == []
    assert client.get(f"/api/publicity/public/articles/{a['id'] + 99}").status_code == 404
    cal = client.get("/api/publicity/public/calendar?year=2025").json()
    assert [(c["key"], c["start"]) for c in cal][0] == ("school_safety_day", "2025-03-31")
    assert client.get("/api/publicity/public/calendar?year=1900").status_code == 422
