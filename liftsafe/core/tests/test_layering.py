"""Layering (issue 10): core imports no domain app; top > domain apps > core (import-linter contracts in
pyproject.toml), and ruff's rule set passes — so ./test.sh catches a violation, not only .ci/run."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from liftsafe.conftest import require_service

ROOT = Path(__file__).resolve().parents[3]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    require_service(name, path.exists(), f"{name} not installed (pip install -e .[dev])")
    return str(path)


def test_import_linter_contracts_are_kept():
    r = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "core imports no domain app KEPT" in r.stdout and "layers: top > domain apps > core KEPT" in r.stdout


def test_ruff_passes():
    r = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
