"""`liftsafe import_ontario [--report docs/hazards-ontario-mapping.md]`: Ontario TSSA incidents as hazard leads."""
from pathlib import Path

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Import the Ontario (TSSA) incident reports as incident-report hazard leads (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=None, help="CSV(.gz) to read (default: the bundled real file)")
        parser.add_argument("--report", default=None, help="write the mapping report (Markdown) here")

    def handle(self, *args, **opts):
        from liftsafe.hazards import ontario

        res = ontario.import_ontario(Path(opts["file"]) if opts["file"] else ontario.DATA_FILE)
        self.stdout.write(f"rows {res.rows}: leads created {res.leads_created}, existing {res.leads_existing}, "
                          f"rejected {len(res.rejected)}, elevators registered {res.elevators_created}")
        self.stdout.write("levels " + ", ".join(f"{k}={v}" for k, v in sorted(res.levels.items())))
        self.stdout.write("classes " + ", ".join(f"{k}={v}" for k, v in sorted(res.classes.items())))
        if opts["report"]:
            Path(opts["report"]).write_text(ontario.mapping_report(res), encoding="utf-8")
            self.stdout.write(f"report written to {opts['report']}")
