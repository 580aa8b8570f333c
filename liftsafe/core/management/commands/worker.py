"""``liftsafe worker``: run the periodic jobs of every app until SIGTERM/SIGINT (see liftsafe.core.worker)."""
from __future__ import annotations

import logging

from django.core.management.base import BaseCommand

from liftsafe.core.worker import Worker, demo_mode


class Command(BaseCommand):
    help = ("Run every periodic job registered in the apps' tasks.py at its interval until SIGTERM/SIGINT. "
            "demo_only jobs run only with LIFTSAFE_DEMO=1. Several workers may run at once (jobs are idempotent).")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run each job once, then exit (status 1 if any failed)")
        parser.add_argument("--threads", type=int, default=4, help="jobs that may run at the same time (default 4)")
        parser.add_argument("--list", action="store_true", help="list the jobs and their intervals, then exit")

    def handle(self, *args, once=False, threads=4, list=False, **opts):
        logging.getLogger("liftsafe.worker").setLevel(logging.INFO)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per job run
        worker = Worker(demo=demo_mode(), threads=max(1, threads))
        if list:
            for job in worker.jobs:
                state = "skipped (demo only)" if job in worker.skipped else "runs"
                self.stdout.write(f"{job.name}\tevery {job.seconds:g}s\t{state}")
            return
        if once:
            failed = [j.name for j in worker.scheduled if not worker.run_job(j)]
            self.stdout.write(f"ran {len(worker.scheduled)} job(s), {len(failed)} failed")
            if failed:
                raise SystemExit(1)
            return
        self.stdout.write(f"liftsafe worker: {len(worker.scheduled)} job(s) scheduled, "
                          f"{len(worker.skipped)} demo-only skipped; stop with Ctrl-C or SIGTERM")
        self.stdout.flush()
        worker.run_forever()
