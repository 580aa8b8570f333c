"""Shared pytest fixtures. Tests that need PostgreSQL, Redis or MQTT must fail (not skip) when CI is set."""
import os
from pathlib import Path

import pytest

from liftsafe.testing import make_world


def pytest_sessionstart(session):
    """Compile stale translation catalogs (.po → .mo, polib) so pages render in zh-Hans; remove SQLite test
    databases left behind by killed runs."""
    from liftsafe.core.i18n import compile_catalogs

    compile_catalogs()
    _remove_stale_sqlite_test_databases()


def _remove_stale_sqlite_test_databases() -> None:
    """Delete ``<data dir>/test_liftsafe_<pid>.sqlite3`` (and its -wal / -shm / pytest-xdist ``_gwN`` variants)
    whose process no longer runs. settings.py puts the SQLite test database in a file named after the test
    process; a finished run removes it, a killed one (SIGTERM, SIGKILL, a CI timeout) leaves it behind."""
    import re

    from django.conf import settings

    name = re.compile(r"test_liftsafe_(\d+)\.sqlite3(_gw\d+)?(-wal|-shm|-journal)?")
    for path in Path(settings.DATA_DIR).glob("test_liftsafe_*.sqlite3*"):
        m = name.fullmatch(path.name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:  # that run is gone
            path.unlink(missing_ok=True)
        except OSError:  # alive (another user's process) or unknown: keep
            pass


@pytest.fixture
def world(db):
    """A small two-district world with a user per role (see liftsafe.testing), and the shipped rating sheets (a
    data migration's rows, which a transactional test's flush removes)."""
    from liftsafe.rating.sheets import install_shipped

    install_shipped()
    return make_world()


def require_service(name: str, ok: bool, why: str = "") -> None:
    """Skip locally when a service is missing, but fail in CI (where it must be there)."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI but unavailable: {why}")
    pytest.skip(f"{name} unavailable: {why}")


def require_module(module: str, why: str = ""):
    """``import module`` for a test, or :func:`require_service` (skip locally, FAIL under ``CI``) when it is missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        require_service(module, False, why or f"cannot import {module}: {exc}")


def postgresql_only() -> None:
    """A PostgreSQL-only test (row locks, concurrency) running on SQLite: skip it there, by name — SQLite is not a
    missing service, the PostgreSQL pass runs it. When ``LIFTSAFE_TEST_DATABASE_URL`` asks for PostgreSQL but the
    test database is not PostgreSQL, that IS a missing service (:func:`require_service`: fails under ``CI``)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    if not os.environ.get("LIFTSAFE_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL-only test on SQLite: runs in the PostgreSQL pass of the suite (LIFTSAFE_TEST_DATABASE_URL)")
    require_service("postgresql", False, "LIFTSAFE_TEST_DATABASE_URL is set but the test database is not PostgreSQL")


#: Debian's chromium, headless, no network chatter (the browser is never downloaded)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def browser_requirements():
    """Playwright's ``sync_api`` module, after checking Playwright and :data:`CHROMIUM` are there; each missing
    one goes through :func:`require_service` (skip locally, FAIL under ``CI``)."""
    sync_api = require_module("playwright.sync_api", "Playwright is not installed (pip install -e .[dev])")
    require_service("chromium", CHROMIUM.exists(), f"chromium not installed at {CHROMIUM} (apt-get install chromium)")
    return sync_api


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium (:data:`CHROMIUM`) driven by Playwright, shared by one test module's
    end-to-end tests; when Playwright or chromium is missing it skips locally and FAILS under ``CI``
    (:func:`browser_requirements`). While Playwright's event loop runs in
    the test thread, Django's "async unsafe" guard would refuse the test's own ORM calls, so it is lifted."""
    sync_api = browser_requirements()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
