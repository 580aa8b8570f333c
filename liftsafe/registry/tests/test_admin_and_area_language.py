"""Mixed language (issue 16): admin section headers and area names in filters follow the user's language."""
from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import translation


def _liftsafe_apps_in_admin():
    labels = {m._meta.app_label for m in admin.site._registry}
    return [cfg for cfg in apps.get_app_configs() if cfg.name.startswith("liftsafe.") and cfg.label in labels]


def test_every_liftsafe_app_has_a_translated_verbose_name():
    for cfg in (c for c in apps.get_app_configs() if c.name.startswith("liftsafe.")):
        with translation.override("en"):
            en = str(cfg.verbose_name)
        with translation.override("zh-hans"):
            zh = str(cfg.verbose_name)
        assert en != cfg.label.title(), f"{cfg.name} has no verbose_name (Django's default {en!r})"
        assert zh != en and re.search(r"[\u4e00-\u9fff]", zh), f"{cfg.name}: {en!r} has no zh-Hans translation"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_admin_section_headers_are_in_the_users_language(world, client, language):
    client.force_login(world.users["admin"])
    if language == "en":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("admin:index")).content.decode()
    shown = _liftsafe_apps_in_admin()
    assert len(shown) >= 5
    for cfg in shown:
        with translation.override(language):
            want = str(cfg.verbose_name)
        with translation.override("en" if language == "zh-hans" else "zh-hans"):
            other = str(cfg.verbose_name)
        assert f">{want}</a>" in html, (cfg.label, want)
        assert f">{other}</a>" not in html, (cfg.label, other)


def _area_options(html: str) -> list[str]:
    select = re.search(r'<select name="area"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>|&nbsp;", "", o).strip() for o in re.findall(r"<option[^>]*>(.*?)</option>", select, re.S)]


@pytest.mark.parametrize("page", ["registry:elevator_list", "hazards:list", "hazards:elevators"])
def test_area_filters_show_names_in_the_users_language(world, client, page):
    client.force_login(world.users["city_regulator"])
    zh = _area_options(client.get(reverse(page)).content.decode())
    assert "玄武区" in zh and "Xuanwu" not in zh
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = _area_options(client.get(reverse(page)).content.decode())
    assert "Xuanwu" in en and "Qinhuai" in en and "玄武区" not in en
