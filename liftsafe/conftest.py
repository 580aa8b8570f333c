"""Shared pytest fixtures. Tests that need PostgreSQL, Redis or MQTT must fail (not skip) when CI is set."""
import os

import pytest

from liftsafe.core.testing import make_world


def pytest_sessionstart(session):
    """Compile stale translation catalogs (.po → .mo, polib) so pages render in zh-Hans."""
    from liftsafe.core.i18n import compile_catalogs

    compile_catalogs()


@pytest.fixture
def world(db):
    """A small two-district world with a user per role (see liftsafe.core.testing)."""
    return make_world()


def require_service(name: str, ok: bool, why: str = "") -> None:
    """Skip locally when a service is missing, but fail in CI (where it must be there)."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI but unavailable: {why}")
    pytest.skip(f"{name} unavailable: {why}")
