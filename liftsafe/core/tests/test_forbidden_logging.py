"""A 403 from PermissionDenied is an expected outcome: django.request logs one line (user, path, reason) at
WARNING, without the traceback (liftsafe.core.logfilters.ForbiddenOneLine, installed by settings.LOGGING)."""
from __future__ import annotations

import json
import logging

import pytest

pytestmark = pytest.mark.django_db


def _forbidden_records(caplog):
    return [r for r in caplog.records if r.name == "django.request" and getattr(r, "status_code", None) == 403]


def _assert_one_concise_line(caplog, user: str, path: str, reason: str):
    recs = _forbidden_records(caplog)
    assert len(recs) == 1, [r.getMessage() for r in recs]
    rec = recs[0]
    assert rec.levelno == logging.WARNING
    assert rec.exc_info is None and rec.exc_text is None
    assert rec.getMessage() == f"Forbidden: user={user} path={path} reason={reason}"
    assert "Traceback" not in caplog.text and "PermissionDenied" not in caplog.text
    assert len(caplog.text.strip().splitlines()) == 1


def test_forbidden_page_logs_one_line_without_traceback(world, client, caplog):
    client.force_login(world.users["maintenance_unit"])
    caplog.set_level(logging.INFO)
    r = client.get("/exchange/imports/")
    assert r.status_code == 403
    _assert_one_concise_line(caplog, "maintenance_unit", "/exchange/imports/",
                             "只有数据管理员和监管部门可以查看数据交换。")


def test_forbidden_api_call_logs_one_line_without_traceback(world, client, caplog):
    # a maintenance-unit user sees its contracted elevator but may not change the registry
    client.force_login(world.users["maintenance_unit"])
    e = world.elevators["a1"]
    caplog.set_level(logging.INFO)
    path = f"/api/registry/elevators/{e.pk}"
    r = client.patch(path, json.dumps({"address": "1 Other Road"}), content_type="application/json")
    assert r.status_code == 403
    reason = r.json()["detail"]
    assert reason
    _assert_one_concise_line(caplog, "maintenance_unit", path, reason)
    e.refresh_from_db()
    assert e.address != "1 Other Road"


def test_other_errors_keep_their_traceback(world, client, caplog, settings):
    """Only the 403 of a PermissionDenied is shortened: a 500 still logs its traceback."""
    from django.urls import path as url

    from liftsafe import urls

    def boom(request):
        raise RuntimeError("kaput")

    settings.ROOT_URLCONF = type("U", (), {"urlpatterns": [url("boom/", boom)] + list(urls.urlpatterns)})
    client.raise_request_exception = False
    client.force_login(world.users["admin"])
    caplog.set_level(logging.INFO)
    assert client.get("/boom/").status_code == 500
    recs = [r for r in caplog.records if r.name == "django.request"]
    assert len(recs) == 1 and recs[0].levelno == logging.ERROR and recs[0].exc_info is not None
