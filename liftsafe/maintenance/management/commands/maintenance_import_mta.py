"""``manage.py maintenance_import_mta [--source nyc-mta] [FILE ...]``: the MTA planned-work tickets as visits (idempotent)."""
from django.core.management.base import BaseCommand

from liftsafe.maintenance.mta_planned import import_planned_work


class Command(BaseCommand):
    help = "Import the NYC MTA 2023 planned-work tickets as maintenance visits of those units (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="ticket CSV(.gz) files (default: the two in liftsafe/emergency/data/)")
        parser.add_argument("--source", default="", help="registry source of the units (e.g. nyc-mta)")

    def handle(self, *args, files, source, **opts):
        rep = import_planned_work(files or None, source=source or None)
        self.stdout.write(f"tickets {rep.tickets}, planned {rep.planned}: {rep.created} visits created, {rep.existing} already imported")
        for reason, n in rep.skipped.most_common():
            self.stdout.write(f"  skipped ({reason}): {n}")
