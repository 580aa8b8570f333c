"""Report tests: under CI a missing CJK font fails them with one clear reason (never pass or fail by luck)."""
import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cjk_font_installed_under_ci():
    """Under ``CI`` every report test fails at once, naming the Debian package, when no CJK font is installed
    (``scripts/bootstrap.sh`` / ``test.sh`` install ``fonts-noto-cjk`` as root after waiting for the apt lock).
    Locally each rendering test fails with :class:`~liftsafe.reports.fonts.MissingFontError`, which names it too."""
    if not os.environ.get("CI"):
        return
    from liftsafe.reports import fonts

    try:
        fonts.cjk_font()
    except fonts.MissingFontError as exc:
        pytest.fail(f"CI: the report tests need a CJK font and none is installed: {exc}", pytrace=False)
