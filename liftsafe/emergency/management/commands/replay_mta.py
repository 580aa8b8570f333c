"""``liftsafe replay_mta``: replay the real NYC MTA 2023 outage tickets as emergency cases (see mta_replay)."""
from pathlib import Path

from django.core.management.base import BaseCommand

from liftsafe.emergency.mta_replay import DEFAULT_FILES, replay


class Command(BaseCommand):
    help = ("Replay the NYC MTA 2023 outage tickets (liftsafe/emergency/data) through intake/dispatch/milestones in time "
            "order. Import the units first: liftsafe import … mta-units. Idempotent: a re-run records nothing twice.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="ticket CSV(.gz) files (default: the two bundled files)")
        parser.add_argument("--source", help="registry source of the MTA units (default: match any source by unit id)")
        parser.add_argument("--import-units", metavar="PATH", help="first import this MTA units file with mapping mta-units")
        parser.add_argument("--markdown", action="store_true", help="print the counts as Markdown tables")

    def handle(self, *args, **opts):
        if opts["import_units"]:
            from liftsafe.registry.importer import run_import

            run = run_import(opts["import_units"], "mta-units")
            self.stdout.write(f"imported units: {run.rows_created} created, {run.rows_updated} updated, {run.rows_rejected} rejected")
        rep = replay([Path(f) for f in opts["files"]] or DEFAULT_FILES, source=opts["source"])
        if opts["markdown"]:
            self.stdout.write(rep.as_markdown())
            return
        for k, v in sorted(rep.rows.items()):
            self.stdout.write(f"{k}: {v} rows")
        for k, v in rep.outcome.most_common():
            self.stdout.write(f"  {v:5d}  {k}")
        self.stdout.write("milestones: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.milestones.items())))
        self.stdout.write(f"units not in the registry: {len(rep.missing_units)} ({sum(rep.missing_units.values())} tickets)")
        for outage, problem in rep.problems:
            self.stdout.write(f"  ticket {outage}: {problem}")
