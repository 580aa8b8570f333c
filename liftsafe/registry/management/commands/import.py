"""`liftsafe import <file> --mapping nyc-dob [--dry-run] [--report rejected.csv]`."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from liftsafe.registry.importer import ImportFileError, MappingError, available_mappings, run_import


class Command(BaseCommand):
    help = "Import a registry file (CSV, CSV.GZ or XLSX) with a declarative mapping; prints counts and the rejected-rows report."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv, .csv.gz or .xlsx file")
        parser.add_argument("--mapping", required=True, help=f"mapping name ({', '.join(available_mappings())})")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, commit nothing")
        parser.add_argument("--report", help="write the rejected/dropped values report (CSV) to this path")
        parser.add_argument("--user", help="username recorded as the author of the changes")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, mapping, dry_run, report, user, no_progress, **options):
        author = None
        if user:
            from django.contrib.auth import get_user_model

            author = get_user_model().objects.filter(username=user).first()
            if author is None:
                raise CommandError(f"no such user: {user}")
        try:
            run = run_import(file, mapping, user=author, dry_run=dry_run, progress=not no_progress)
        except (ImportFileError, MappingError) as exc:
            raise CommandError(str(exc)) from exc
        s = run.summary
        head = "DRY RUN (nothing committed): " if dry_run else f"import run #{run.pk}: "
        self.stdout.write(
            f"{head}{run.rows_total} rows: {run.rows_created} created, {run.rows_updated} updated, "
            f"{run.rows_unchanged} unchanged, {run.rows_rejected} rejected"
            + (f", {s['duplicates_merged']} repeated rows merged" if s.get("duplicates_merged") else "")
            + f" ({s['seconds']} s)")
        orgs = ", ".join(f"{v} {k}" for k, v in s.get("organisations_created", {}).items())
        self.stdout.write(f"  areas created {s['areas_created']}, buildings {s['buildings_created']}, organisations: {orgs or 'none'}, "
                          f"lifecycle events {s['events_created']}, contracts {s['contracts_created']} (closed {s['contracts_closed']})")
        for title, key in (("rejected rows by reason", "rejected_reasons"), ("dropped values by reason", "dropped_reasons")):
            if s.get(key):
                self.stdout.write(f"  {title}:")
                for reason, n in sorted(s[key].items(), key=lambda kv: -kv[1]):
                    self.stdout.write(f"    {n:>7}  {reason}")
        if report:
            Path(report).write_text(run.report_csv, encoding="utf-8")
            self.stdout.write(f"  report (row, column, reason for every rejected row / dropped value): {Path(report).resolve()}")
        elif run.pk:
            self.stdout.write(f"  report stored in ImportRun #{run.pk}.report_csv (use --report FILE to write it out)")
