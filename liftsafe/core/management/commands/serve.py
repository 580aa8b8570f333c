"""``liftsafe serve``: the production web server (gunicorn, several worker processes, static files via WhiteNoise)."""
from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 × cores + 1, capped at 12 (each worker holds its own DB connections)."""
    return min(2 * (os.cpu_count() or 1) + 1, 12)


def gunicorn_argv(bind: str, workers: int, timeout: int = 60, threads: int = 4, extra: list[str] | None = None) -> list[str]:
    """The gunicorn command line ``liftsafe serve`` executes (serving ``liftsafe.wsgi:application``).

    ``workers`` processes of ``threads`` threads each (gthread worker class: a slow
    client or an htmx poll does not hold a whole process).
    """
    return [sys.executable, "-m", "gunicorn", "liftsafe.wsgi:application",
            "--bind", bind, "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--timeout", str(timeout),
            "--access-logfile", "-", "--error-logfile", "-", "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            *_no_control_socket(), *(extra or [])]


def _no_control_socket() -> list[str]:
    """gunicorn ≥ 24 opens a control socket at one fixed path per user; two servers on a host would
    fight over it and liftsafe does not use it, so it is turned off where the option exists."""
    from gunicorn import config

    return ["--no-control-socket"] if hasattr(config, "ControlSocketDisable") else []


class Command(BaseCommand):
    help = ("Serve liftsafe with gunicorn (several worker processes) after collecting static files; "
            "put a reverse proxy (TLS) in front in production. Run `liftsafe migrate` first.")

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port or unix:/path (default 127.0.0.1:8000)")
        parser.add_argument("--workers", type=int, default=None, help=f"web worker processes (default 2×cores+1, capped at 12: {default_workers()} here)")
        parser.add_argument("--threads", type=int, default=4, help="threads per worker process (default 4)")
        parser.add_argument("--timeout", type=int, default=60, help="seconds before a stuck request's worker is restarted")
        parser.add_argument("--no-collectstatic", action="store_true", help="skip collectstatic (already done at deploy time)")

    def handle(self, *args, bind, workers, threads, timeout, no_collectstatic, **opts):
        workers = workers or default_workers()
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1")
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"liftsafe serve: gunicorn, {workers} worker process(es) × {threads} threads, http://{bind}/ (static from {settings.STATIC_ROOT})")
        self.stdout.flush()
        argv = gunicorn_argv(bind, workers, timeout, threads)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liftsafe.settings")
        os.execv(argv[0], argv)  # gunicorn replaces this process: signals reach it directly
