"""Settings from the environment: production profile passes `check --deploy`; safe defaults; `liftsafe serve`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from liftsafe.core.management.commands.serve import default_workers, gunicorn_argv

REPO = Path(__file__).resolve().parents[3]


def clean_env(tmp_path, **extra) -> dict:
    # a production process never has the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE (check --deploy refuses it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFTSAFE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(LIFTSAFE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="liftsafe.settings", **extra)
    return env


def run_manage(args, env, timeout=300):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def test_check_deploy_passes_in_production_profile(tmp_path):
    env = clean_env(tmp_path, LIFTSAFE_PROFILE="production",
                    LIFTSAFE_SECRET_KEY="x7#Kq9!vR2p$Lm4@Zt8^Wn6&Yb3*Hc5(Jd1)Fg0_Se+Ua-Qi=Xo~Pl|Ek",
                    LIFTSAFE_ALLOWED_HOSTS="example.org", LIFTSAFE_IMPORT_DIR=str(tmp_path / "imports"))
    out = run_manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues (0 silenced)." in out.stdout
    del env["LIFTSAFE_IMPORT_DIR"]  # unset: the deploy check warns (issue 18 item 14)
    out = run_manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert out.returncode != 0 and "liftsafe.W001" in out.stdout + out.stderr and "LIFTSAFE_IMPORT_DIR" in out.stdout + out.stderr


def test_production_profile_refuses_to_start_without_a_secret_key(tmp_path):
    env = clean_env(tmp_path, LIFTSAFE_PROFILE="production", LIFTSAFE_ALLOWED_HOSTS="example.org")
    out = run_manage(["check"], env)
    assert out.returncode != 0
    assert "LIFTSAFE_SECRET_KEY must be set" in out.stderr


def test_dev_profile_fails_check_deploy(tmp_path):
    """The development defaults (no HTTPS settings) are not deployable, and the check says so."""
    out = run_manage(["check", "--deploy", "--fail-level", "WARNING"], clean_env(tmp_path))
    assert out.returncode != 0
    assert "security.W004" in out.stdout + out.stderr  # no HSTS
    debug = run_manage(["check", "--deploy", "--fail-level", "WARNING"], clean_env(tmp_path, LIFTSAFE_DEBUG="1"))
    assert "security.W018" in debug.stdout + debug.stderr  # DEBUG on when asked for


def test_defaults_time_zone_and_database(tmp_path):
    code = ("from django.conf import settings as s; "
            "print(s.TIME_ZONE, s.LANGUAGE_CODE, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'])")
    out = run_manage(["shell", "-c", code], clean_env(tmp_path))
    assert out.returncode == 0, out.stderr
    tz, lang, engine, name = out.stdout.strip().splitlines()[-1].split()
    assert (tz, lang, engine) == ("Asia/Shanghai", "zh-hans", "django.db.backends.sqlite3")
    assert name == str(tmp_path / "liftsafe.sqlite3")
    out = run_manage(["shell", "-c", code], clean_env(tmp_path, LIFTSAFE_TIME_ZONE="UTC",
                                                     LIFTSAFE_DATABASE_URL="postgresql://u:p@db.example:5432/liftsafe"))
    tz, _lang, engine, name = out.stdout.strip().splitlines()[-1].split()
    assert (tz, engine, name) == ("UTC", "django.db.backends.postgresql", "liftsafe")


def test_gunicorn_command_line():
    assert 1 <= default_workers() <= 12
    argv = gunicorn_argv("127.0.0.1:9000", 3)
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "liftsafe.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:9000"
    assert argv[argv.index("--workers") + 1] == "3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_serve_runs_gunicorn_with_several_workers_and_static_files(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "liftsafe.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                            cwd=REPO, env=clean_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/liftsafe/app.css", timeout=5) as resp:
                    body = resp.read()
                    headers = resp.headers
                break
            except OSError:
                time.sleep(0.3)
        assert body, "gunicorn did not serve the static file"
        assert body == (REPO / "liftsafe/static/liftsafe/app.css").read_bytes()
        assert "max-age" in headers.get("Cache-Control", "")  # WhiteNoise
        assert (tmp_path / "static" / "liftsafe" / "app.css").exists()  # collectstatic ran
        assert len(children_of(proc.pid)) == 2  # the gunicorn arbiter's worker processes
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Booting worker" in out


def test_media_on_s3_compatible_storage_by_configuration(tmp_path):
    code = ("from django.conf import settings as s; d = s.STORAGES['default']; "
            "print(d['BACKEND'], d.get('OPTIONS', {}).get('bucket_name'), d.get('OPTIONS', {}).get('endpoint_url'))")

    def backend(**extra):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean_env(tmp_path, **extra), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert backend() == "django.core.files.storage.FileSystemStorage None None"
    assert backend(LIFTSAFE_S3_BUCKET="liftsafe-media", LIFTSAFE_S3_ENDPOINT_URL="https://minio.example:9000") == \
        "storages.backends.s3.S3Storage liftsafe-media https://minio.example:9000"
