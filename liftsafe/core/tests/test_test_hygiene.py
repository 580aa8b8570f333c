"""Test hygiene (issue 16): tests read only the repository's own data, and write screenshots to a per-run folder."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from liftsafe.testing import screenshot_dir

REPO = Path(__file__).resolve().parents[3]


def test_screenshot_dir_is_per_run_not_a_fixed_shared_folder(monkeypatch):
    monkeypatch.delenv("LIFTSAFE_DOCS_SCREENSHOTS", raising=False)
    mine = screenshot_dir()
    assert mine == screenshot_dir() and mine.is_dir()  # one folder for the whole run
    assert mine != Path(tempfile.gettempdir()) / "liftsafe-e2e" and mine.name.startswith("liftsafe-e2e-")
    code = ("import os, django; os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"liftsafe.settings\"); django.setup(); "
            "from liftsafe.testing import screenshot_dir; print(screenshot_dir())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    assert Path(other).is_dir() and Path(other) != mine  # a concurrent run gets its own folder


def test_tests_and_benchmarks_read_no_data_outside_the_repository():
    """No test or benchmark opens ../shared or /work/shared: they use the repository's own copies."""
    pattern = re.compile(r"""["'/]shared/data|\.\./shared|/work/shared|parents\[\d\]\s*/\s*["']shared""")
    offenders = []
    for root in ("liftsafe", "bench"):
        for path in (REPO / root).rglob("*.py"):
            if path.resolve() == Path(__file__).resolve():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []
