"""`liftsafe import <file> --mapping nyc-dob|./my-source.toml [--encoding gb18030] [--dry-run] [--report rejected.csv]`."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from liftsafe.registry.importer import ImportFileError, MappingError, available_mappings, run_import


class Command(BaseCommand):
    help = "Import a registry file (CSV, CSV.GZ or XLSX) with a declarative mapping; prints counts and the rejected-rows report."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv, .csv.gz or .xlsx file")
        parser.add_argument("--mapping", required=True,
                            help=f"a built-in mapping ({', '.join(available_mappings())}) or the path of a mapping file (./my-source.toml)")
        parser.add_argument("--encoding", help="text encoding of a CSV (e.g. gb18030, utf-8); default: detected "
                                               "(byte-order mark, then UTF-8, then GB18030)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, commit nothing")
        parser.add_argument("--report", help="write the rejected/dropped values report (CSV) to this path")
        parser.add_argument("--user", help="username recorded as the author of the changes")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, mapping, dry_run, report, user, no_progress, encoding=None, **options):
        author = None
        if user:
            from django.contrib.auth import get_user_model

            author = get_user_model().objects.filter(username=user).first()
            if author is None:
                raise CommandError(_("no such user: %(user)s") % {"user": user})
        try:
            run = run_import(file, mapping, user=author, dry_run=dry_run, progress=not no_progress, encoding=encoding)
        except (ImportFileError, MappingError) as exc:
            raise CommandError(str(exc)) from exc
        s = run.summary
        head = _("DRY RUN (nothing committed): ") if dry_run else _("import run #%(n)s: ") % {"n": run.pk}
        line = _("%(total)s rows: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected") % {
            "total": run.rows_total, "created": run.rows_created, "updated": run.rows_updated,
            "unchanged": run.rows_unchanged, "rejected": run.rows_rejected}
        if s.get("duplicates_merged"):
            line += _(", %(n)s repeated rows merged") % {"n": s["duplicates_merged"]}
        self.stdout.write(f"{head}{line} ({s['seconds']} s)")
        read = []
        if s.get("encoding"):
            read.append((_("encoding %(encoding)s (detected)") if s.get("encoding_detected") else _("encoding %(encoding)s"))
                        % {"encoding": s["encoding"]})
        if s.get("sheet"):
            read.append(_("sheet %(sheet)s") % {"sheet": f"“{s['sheet']}”"})
        if s.get("header_row"):
            read.append((_("header rows %(first)s-%(last)s") if s.get("header_rows", 1) > 1 else _("header row %(last)s"))
                        % {"first": s["header_row"] - 1, "last": s["header_row"]})
        if read:
            self.stdout.write("  " + _("read: %(how)s") % {"how": "; ".join(read)})
        from liftsafe.registry.models import Organisation

        kinds = dict(Organisation.Kind.choices)
        orgs = ", ".join(f"{kinds.get(k, k)} {v}" for k, v in s.get("organisations_created", {}).items())
        self.stdout.write("  " + _("areas created %(areas)s, buildings %(buildings)s, organisations: %(orgs)s, lifecycle events "
                                   "%(events)s, contracts %(contracts)s (closed %(closed)s)") % {
            "areas": s["areas_created"], "buildings": s["buildings_created"], "orgs": orgs or _("none"),
            "events": s["events_created"], "contracts": s["contracts_created"], "closed": s["contracts_closed"]})
        if s.get("unrecognised_columns"):
            self.stdout.write("  " + _("columns not used by the mapping (not imported): %(columns)s")
                              % {"columns": ", ".join(s["unrecognised_columns"])})
        if s.get("missing_optional_columns"):
            self.stdout.write("  " + _("optional columns missing from the file (fields left empty): %(columns)s")
                              % {"columns": ", ".join(s["missing_optional_columns"])})
        for title, key in ((_("rejected rows by reason"), "rejected_reasons"), (_("dropped values by reason"), "dropped_reasons"),
                           (_("corrections and notes"), "notes")):
            if s.get(key):
                self.stdout.write(f"  {title}:")
                for reason, n in sorted(s[key].items(), key=lambda kv: -kv[1]):
                    self.stdout.write(f"    {n:>7}  {reason}")
        if report:
            Path(report).write_text(run.report_csv, encoding="utf-8-sig")
            self.stdout.write("  " + _("report (row, column, reason for every rejected row, dropped value and note): %(path)s")
                              % {"path": Path(report).resolve()})
        elif run.pk:
            self.stdout.write("  " + _("report stored in import run #%(n)s (use --report FILE to write it out)") % {"n": run.pk})
