"""scripts/apt-install.sh waits, bounded, for another apt/dpkg run to release its lock (issue 16)."""
from __future__ import annotations

import fcntl
import os
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "apt-install.sh"


def run_wait(locks: list[Path], timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIFTSAFE_APT_LOCKS=" ".join(map(str, locks)), LIFTSAFE_APT_LOCK_TIMEOUT=str(timeout))
    return subprocess.run([str(SCRIPT), "--wait-only"], env=env, capture_output=True, text=True, timeout=60)


def test_free_locks_pass_at_once(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    t0 = time.monotonic()
    done = run_wait([lock, tmp_path / "absent"], 30)
    assert done.returncode == 0 and done.stderr == ""
    assert time.monotonic() - t0 < 10


def test_a_held_lock_is_waited_for_until_released(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    fd = os.open(lock, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)  # as dpkg holds it (a POSIX lock of another process)
    threading.Timer(2.5, lambda: (fcntl.lockf(fd, fcntl.LOCK_UN), os.close(fd))).start()
    t0 = time.monotonic()
    done = run_wait([lock], 30)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - t0 >= 2
    assert "waiting up to 30 s for another package install" in done.stderr and "package locks free" in done.stderr


def test_a_lock_held_too_long_fails_with_the_reason(tmp_path):
    lock = tmp_path / "lock"
    lock.write_text("")
    fd = os.open(lock, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        t0 = time.monotonic()
        done = run_wait([lock], 2)
    finally:
        os.close(fd)
    assert done.returncode == 1
    assert 2 <= time.monotonic() - t0 < 20
    assert f"apt/dpkg still locked after 2 s ({lock})" in done.stderr


def test_scripts_use_the_bounded_wait_before_apt_get():
    for script in ("scripts/bootstrap.sh", "test.sh"):
        text = (ROOT / script).read_text()
        assert "scripts/apt-install.sh" in text
        assert "apt-get update" not in text and "apt-get install -y" not in text, script
    assert "DPkg::Lock::Timeout" in SCRIPT.read_text()
