"""Platform notes are stored as a kind + parameters and shown in the reader's language (issue 16, "Mixed language"):
lifecycle-event notes and audit reasons, on the elevator page, the generic history page and API, and the lifecycle API."""
from __future__ import annotations

import datetime as dt
import html
import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from liftsafe.core.messages import encode, parse, render_kind
from liftsafe.registry import services
from liftsafe.registry.models import Elevator, LifecycleEvent

pytestmark = pytest.mark.django_db

ZH = "zh-hans"
EN = "en"


def _lang(client, lang):
    """The reader's language, as the language switcher sets it (the cookie)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def _get(client, url, lang):
    return html.unescape(_lang(client, lang).get(url).content.decode())


def _stop(world, reason="门锁失效"):
    """A stop-use order's status change, through the registry service the hazards app calls."""
    el = world.elevators["a1"]
    note = encode("hazards.stop_use_ordered", hazard=7, reason=reason)
    return services.elevator_set_status(world.users["regulator"], el, Elevator.Status.STOPPED, on=dt.date(2026, 3, 2), reason=note)


def test_a_status_event_is_stored_as_kind_and_parameters_not_a_sentence(world):
    el = _stop(world)
    ev = LifecycleEvent.objects.get(elevator=el, kind="stopped")
    assert (ev.note, ev.note_kind, ev.note_params) == ("", "hazards.stop_use_ordered", {"hazard": 7, "reason": "门锁失效"})
    rec = el.history.latest("history_date")
    assert parse(rec.history_change_reason) == ("hazards.stop_use_ordered", {"hazard": 7, "reason": "门锁失效"})


def test_the_same_event_shows_in_chinese_and_in_english_on_the_elevator_page(client, world):
    el = _stop(world)
    client.force_login(world.users["regulator"])
    url = reverse("registry:elevator_detail", args=[el.pk])
    zh, en = _get(client, url, ZH), _get(client, url, EN)
    assert "责令停用（隐患 #7）：门锁失效" in zh and "stop-use ordered (hazard" not in zh
    assert "stop-use ordered (hazard #7): 门锁失效" in en and "责令停用（隐患" not in en
    assert '@hazards.' not in zh and '@hazards.' not in en  # the stored form never reaches the reader


def test_history_page_and_api_translate_the_reason(client, world):
    el = _stop(world)
    client.force_login(world.users["regulator"])
    page = f"/history/registry/elevator/{el.pk}/"
    assert "责令停用（隐患 #7）：门锁失效" in _get(client, page, ZH)
    assert "stop-use ordered (hazard #7): 门锁失效" in _get(client, page, EN)
    rows = _lang(client, EN).get(f"/api/history/registry/elevator/{el.pk}").json()
    assert rows[0]["reason"] == "stop-use ordered (hazard #7): 门锁失效"
    rows = _lang(client, ZH).get(f"/api/history/registry/elevator/{el.pk}").json()
    assert rows[0]["reason"] == "责令停用（隐患 #7）：门锁失效"


def test_lifecycle_api_gives_the_note_translated_with_its_kind(client, world):
    el = _stop(world)
    client.force_login(world.users["regulator"])
    out = _lang(client, EN).get(f"/api/registry/elevators/{el.pk}/lifecycle").json()
    ev = [e for e in out if e["kind"] == "stopped"][0]
    assert ev["note"] == "stop-use ordered (hazard #7): 门锁失效" and ev["note_kind"] == "hazards.stop_use_ordered"
    assert ev["note_params"] == {"hazard": 7, "reason": "门锁失效"}


def test_a_long_reason_is_shortened_keeping_the_note_valid(world):
    el = _stop(world, reason="厅门门锁" * 60)
    rec = el.history.latest("history_date")
    assert len(rec.history_change_reason) <= 100
    kind, params = parse(rec.history_change_reason)
    assert kind == "hazards.stop_use_ordered" and params["hazard"] == 7 and params["reason"].endswith("…")


def test_a_persons_note_is_kept_as_typed(client, world):
    el = world.elevators["a1"]
    client.force_login(world.users["regulator"])
    r = client.post(f"/api/registry/elevators/{el.pk}/lifecycle", {"kind": "inspected", "occurred_on": "2026-01-05", "note": "年检合格 by DOB"},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["note"] == "年检合格 by DOB" and r.json()["note_kind"] == ""


def test_old_rows_still_display_translated_where_recognised_and_as_is_otherwise(client, world):
    el = world.elevators["a1"]
    LifecycleEvent.objects.create(elevator=el, kind="resumed", occurred_on=dt.date(2025, 1, 3), source="status",
                                  note="stop-use lifted: hazard #5 closed out")
    LifecycleEvent.objects.create(elevator=el, kind="inspected", occurred_on=dt.date(2025, 1, 4), source="manual",
                                  note="checked by the old inspector on site")
    client.force_login(world.users["regulator"])
    url = reverse("registry:elevator_detail", args=[el.pk])
    zh, en = _get(client, url, ZH), _get(client, url, EN)
    assert "解除停用：隐患 #5 已销号" in zh and "stop-use lifted: hazard #5 closed out" in en
    assert "checked by the old inspector on site" in zh and "checked by the old inspector on site" in en


def test_migration_converts_recognisable_old_notes_and_keeps_the_rest(world):
    el = world.elevators["a1"]
    mk = LifecycleEvent.objects.create
    a = mk(elevator=el, kind="stopped", occurred_on=dt.date(2025, 2, 1), source="status", note="责令停用 hazard #12: 制动器失效")
    b = mk(elevator=el, kind="registered", occurred_on=dt.date(2025, 2, 2), source="nyc-dob", note="NYC DOB approval (DV_APPROVAL_DATE)")
    c = mk(elevator=el, kind="inspected", occurred_on=dt.date(2025, 2, 3), source="manual", note="业主自查")
    mig = importlib.import_module("liftsafe.registry.migrations.0005_lifecycle_note_kind")
    mig.notes_to_kinds(apps, None)
    for ev in (a, b, c):
        ev.refresh_from_db()
    assert (a.note, a.note_kind, a.note_params) == ("", "hazards.stop_use_ordered", {"hazard": "12", "reason": "制动器失效"})
    assert (b.note, b.note_kind, b.note_params) == ("", "registry.imported", {"source": "nyc-dob"})
    assert (c.note, c.note_kind) == ("业主自查", "")
    from django.utils import translation

    with translation.override(EN):
        assert a.note_display == "stop-use ordered (hazard #12): 制动器失效" and b.note_display == "imported from nyc-dob"
    with translation.override(ZH):
        assert a.note_display == "责令停用（隐患 #12）：制动器失效" and c.note_display == "业主自查"


def test_an_import_event_names_its_source_and_field_in_the_readers_language():
    from django.utils import translation

    with translation.override(EN):
        en = render_kind("registry.imported_field", {"source": "nyc-dob", "field": "installation_date"})
    with translation.override(ZH):
        zh = render_kind("registry.imported_field", {"source": "nyc-dob", "field": "installation_date"})
    label_en = str(Elevator._meta.get_field("installation_date").verbose_name)
    assert en.startswith("imported from nyc-dob (") and zh.startswith("导入自 nyc-dob（") and en != zh and label_en


def test_admin_history_and_lifecycle_list_show_the_note_translated(client, world):
    el = _stop(world)
    client.force_login(world.users["admin"])
    zh = _get(client, f"/admin/registry/elevator/{el.pk}/history/", ZH)
    en = _get(client, f"/admin/registry/elevator/{el.pk}/history/", EN)
    assert "责令停用（隐患 #7）：门锁失效" in zh and "stop-use ordered (hazard #7): 门锁失效" in en and "@hazards." not in en
    assert "stop-use ordered (hazard #7): 门锁失效" in _get(client, "/admin/registry/lifecycleevent/", EN)
