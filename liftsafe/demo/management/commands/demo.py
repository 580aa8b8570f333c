"""``liftsafe demo``: migrate, load the NYC registry and the generated organisations, create one
account per role, print them, then run the web server and the worker (LIFTSAFE_DEMO=1) until Ctrl-C."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from liftsafe.demo import services as demo


class Command(BaseCommand):
    help = ("Set up the demo and run it: the NYC registry, the MTA units and Ontario leads, generated organisations "
            "and one account per role (each loaded once), then the web server and the worker until Ctrl-C.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument("--workers", type=int, default=2, help="web worker processes (default 2)")
        parser.add_argument("--no-serve", action="store_true", help="only set up the data and the accounts, then exit")

    #: a step still running after this many seconds says so again, every as many seconds (never silent)
    TICK_SECONDS = 10.0

    def log(self, msg: str) -> None:
        self.stdout.write(f"  {msg}")
        self.stdout.flush()

    @contextlib.contextmanager
    def step(self, label: str, *, ticker: bool = True):
        """Announce ``label``, then repeat "… still <label> (N s)" every :attr:`TICK_SECONDS` while it runs, so no
        step of the first start is silent (the Ontario import took 115 s on a loaded machine, with no output).
        ``ticker=False`` for a step that draws its own progress bar (the imports: tqdm on stderr)."""
        t0 = time.monotonic()
        self.log(f"{label} …")
        done = threading.Event()
        if not ticker:
            yield
            return

        def tick():
            while not done.wait(self.TICK_SECONDS):
                self.log(f"… still {label} ({time.monotonic() - t0:.0f} s)")

        ticker = threading.Thread(target=tick, name="demo-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()

    def handle(self, *args, port, host, workers, no_serve, **opts):
        t0, c0 = time.monotonic(), time.process_time()
        # where the demo's own exchange destinations (loopback receivers) reach this server
        shown = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
        os.environ.setdefault("LIFTSAFE_DEMO_BASE_URL", f"http://{shown}:{port}")
        self.stdout.write(f"liftsafe demo — data in {settings.DATA_DIR} ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
        with self.step("migrating the database"):
            call_command("migrate", interactive=False, verbosity=0)
        t_import, c_import = time.monotonic(), time.process_time()
        try:
            with self.step("NYC registry (76,088 devices)", ticker=False):
                imported = demo.load_registry(progress=True, log=self.log)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        if imported:
            self.log(f"NYC registry imported in {time.monotonic() - t_import:.1f} s (CPU {time.process_time() - c_import:.1f} s)")
        self.load_second_sources()
        with self.step("NYC inspection records (last periodic inspections) and validity"):
            demo.load_inspections(log=self.log)
        c_gen = time.process_time()
        with self.step("generating the organisations, contracts and codes the NYC registry lacks"):
            result = demo.generate(log=self.log)
        self.log(f"generated data in {result.seconds:.1f} s (CPU {time.process_time() - c_gen:.1f} s)")
        with self.step("generating the maintenance history, insurance policies and long entrapments"):
            from liftsafe.demo import maintenance as demo_maintenance

            demo_maintenance.generate(log=self.log)
        with self.step("risk colours of every lift (the nightly full recompute)"):
            from liftsafe.demo.risk import compute_risk

            compute_risk(log=self.log)
        with self.step("publicity: the published 2023 report of the MTA replay, articles and this year's campaigns"):
            from liftsafe.demo.publicity import seed_publicity

            seed_publicity(demo.NYC_CITY_CODE, log=self.log)
        with self.step("creating the demo accounts"):
            accounts = demo.create_accounts()
            counts = demo.visible_counts(accounts)
        with self.step("maintenance-unit ratings (a month of the demo's data, one objection through review and reply)"):
            from liftsafe.demo.rating import load_ratings

            load_ratings(password=demo.DEMO_PASSWORD, log=self.log)
        with self.step("public codes for every lift and generated public reports (disclosure)"):
            from liftsafe.demo import disclosure as demo_disclosure

            self.log(demo_disclosure.seed(log=self.log))
        self.stdout.write(f"demo ready in {time.monotonic() - t0:.1f} s (CPU {time.process_time() - c0:.1f} s)\n")
        self.print_accounts(accounts, counts)
        if no_serve:
            return
        self.serve(host, port, workers)

    def load_second_sources(self) -> None:
        """Real second sources, each idempotent: the MTA station units, completed like the NYC registry
        (:func:`liftsafe.demo.services.complete_mta`), with their 2023 outage tickets replayed as emergency
        cases (issue 3), and Ontario's TSSA incident reports as hazard leads of a second jurisdiction (issue 5)."""
        from liftsafe.registry.models import Elevator

        if not Elevator.objects.filter(source=demo.MTA_SOURCE).exists():
            from liftsafe.registry.importer import run_import

            with self.step("MTA station units (638)", ticker=False):
                run = run_import(demo.MTA_DATA_FILE, "mta-units", progress=True)
            self.log(f"MTA station units imported: {run.rows_created} created, {run.rows_rejected} rejected")
        with self.step("completing the MTA units (use unit, maintenance contract, rescue code, coordinates)"):
            demo.complete_mta(log=self.log)
        from liftsafe.emergency.mta_replay import DEFAULT_FILES, replay

        t = time.monotonic()
        with self.step("replaying the MTA 2023 outage tickets as 96333 cases"):
            rep = replay(DEFAULT_FILES)
        self.log(f"{demo.describe_replay(rep)} in {time.monotonic() - t:.1f} s")
        if not Elevator.objects.filter(source="on-tssa").exists():
            t = time.monotonic()
            from liftsafe.hazards import ontario

            with self.step("Ontario incident reports as hazard leads", ticker=False):
                res = ontario.import_ontario(ontario.DATA_FILE, progress=True)
            self.log(f"Ontario incident leads imported: {res.leads_created} leads, {res.elevators_created} elevators "
                     f"in {time.monotonic() - t:.1f} s")

    def print_accounts(self, accounts, counts) -> None:
        rows = [("username", "password", "role", "organisation / area", "elevators", "what they see")]
        for a in accounts:
            rows.append((a.username, demo.DEMO_PASSWORD, a.role, a.organisation or a.area or "-", f"{counts[a.username]:,}", a.sees))
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        for n, r in enumerate(rows):
            self.stdout.write("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write(f"\nAll demo accounts share the password {demo.DEMO_PASSWORD!r}. Never expose the demo on a public host.")

    def serve(self, host: str, port: int, workers: int) -> None:
        env = dict(os.environ, LIFTSAFE_DEMO="1", DJANGO_SETTINGS_MODULE="liftsafe.settings")
        cli = [sys.executable, "-m", "liftsafe.cli"]
        web = subprocess.Popen(cli + ["serve", "--bind", f"{host}:{port}", "--workers", str(workers)], env=env)
        worker = subprocess.Popen(cli + ["worker"], env=env)
        shown = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
        self.stdout.write(self.style.SUCCESS(f"\nliftsafe is running at http://{shown}:{port}/  (Ctrl-C to stop)\n"))
        self.stdout.flush()
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and web.poll() is None and worker.poll() is None:
                time.sleep(0.3)
        finally:
            for p in (web, worker):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in (web, worker):
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        if not stopping:
            raise CommandError(f"{'web server' if web.poll() is not None else 'worker'} exited unexpectedly")
        self.stdout.write("liftsafe demo stopped")
