"""Under ``CI`` a test whose service (PostgreSQL, the MQTT broker, Chromium, Playwright, a dev tool) is missing
FAILS, never skips (issue 16, "Tests and CI"). Every skip goes through :func:`liftsafe.conftest.require_service`
(or :func:`~liftsafe.conftest.require_module`); the only other skip is the named "PostgreSQL-only test on SQLite"
of :func:`~liftsafe.conftest.postgresql_only`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import liftsafe.conftest as cf

ROOT = Path(cf.__file__).resolve().parent
BARE_SKIP = re.compile(r"pytest\.skip\(|importorskip\(|\bskipif\b|pytest\.mark\.skip\b|unittest\.skip")


def test_no_test_skips_outside_the_conftest_helpers():
    """A scan of every Python file under liftsafe/: no bare ``pytest.skip`` / ``importorskip`` / ``skipif``; in
    liftsafe/conftest.py only inside ``require_service`` and ``postgresql_only``."""
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        for m in BARE_SKIP.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            if path == ROOT / "conftest.py":
                owner = [d for d in re.finditer(r"^def (\w+)", text[: m.start()], re.M)][-1].group(1)
                if owner in ("require_service", "postgresql_only"):
                    continue
            bad.append(f"{path.relative_to(ROOT.parent)}:{line}: {m.group(0)}")
    assert not bad, "skip through liftsafe.conftest.require_service (fails under CI):\n" + "\n".join(bad)


def test_browser_fails_under_ci_when_chromium_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(cf, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match="chromium is required in CI"):
        cf.browser_requirements()


def test_browser_skips_locally_when_chromium_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(cf, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.skip.Exception, match="chromium unavailable"):
        cf.browser_requirements()


def test_browser_fails_under_ci_when_playwright_is_missing(monkeypatch):
    import sys

    monkeypatch.setenv("CI", "true")
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import raises ImportError
    with pytest.raises(pytest.fail.Exception, match="playwright.sync_api is required in CI"):
        cf.browser_requirements()


def test_missing_module_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        cf.require_module("liftsafe_no_such_module_xyz")


def test_postgresql_only_is_a_named_skip_on_sqlite_and_a_failure_when_postgresql_was_asked_for(monkeypatch, db):
    from django.db import connection

    if connection.vendor == "postgresql":
        cf.postgresql_only()  # runs: nothing raised
        return
    monkeypatch.delenv("LIFTSAFE_TEST_DATABASE_URL", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL-only test on SQLite"):
        cf.postgresql_only()
    monkeypatch.setenv("LIFTSAFE_TEST_DATABASE_URL", "postgresql://x@127.0.0.1/none")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="postgresql is required in CI"):
        cf.postgresql_only()
