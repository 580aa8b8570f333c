"""Translation catalogs without GNU gettext.

Django reads compiled ``.mo`` files; ``msgfmt`` (GNU gettext) is often missing
on a machine that has only Python. :func:`compile_catalogs` compiles every
``liftsafe/**/locale/<lang>/LC_MESSAGES/django.po`` with polib when its
``.mo`` is missing or older than the ``.po``. ``scripts/bootstrap.sh``, the
``liftsafe compiletranslations`` command and the test session call it.
"""
from __future__ import annotations

from pathlib import Path

import polib

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # liftsafe/


def catalog_paths(root: Path | None = None) -> list[Path]:
    """All ``django.po`` files below ``root`` (default: the liftsafe package), sorted."""
    root = root or PACKAGE_DIR
    return sorted(p for p in root.glob("**/locale/*/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def compile_catalogs(root: Path | None = None, *, force: bool = False) -> list[Path]:
    """Compile each stale ``django.po`` below ``root`` to ``django.mo`` next to it.

    A catalog is stale when its ``.mo`` is missing or older than the ``.po``
    (``force`` compiles all). Fuzzy entries are left out, as msgfmt does.
    Returns the ``.mo`` paths written.

    Raises:
        OSError / ValueError: a ``.po`` cannot be read or parsed (its path is in the message).
    """
    written: list[Path] = []
    for po_path in catalog_paths(root):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            catalog = polib.pofile(str(po_path))
        except (OSError, ValueError) as exc:
            raise type(exc)(f"{po_path}: {exc}") from exc
        tmp = mo_path.with_suffix(".mo.tmp")
        catalog.save_as_mofile(str(tmp))
        tmp.replace(mo_path)  # atomic: a concurrent reader never sees half a file
        written.append(mo_path)
    return written


class PlatformLanguageMiddleware:
    """Activate the user's chosen language (the ``set_language`` cookie), else ``LANGUAGE_CODE``.

    Unlike Django's LocaleMiddleware it does not follow the browser's
    Accept-Language: the platform is Chinese first (zh-Hans) for everyone
    until a user picks another language with the switch, which persists in
    the language cookie. Use it in place of ``django.middleware.locale.LocaleMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation
        from django.utils.cache import patch_vary_headers

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        try:
            language = translation.get_supported_language_variant(chosen) if chosen else settings.LANGUAGE_CODE
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
