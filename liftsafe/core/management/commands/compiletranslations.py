"""`liftsafe compiletranslations`: compile the .po catalogs to .mo with polib (no GNU gettext needed)."""
from django.core.management.base import BaseCommand

from liftsafe.core.i18n import compile_catalogs


class Command(BaseCommand):
    help = "Compile every liftsafe/**/locale/*/LC_MESSAGES/django.po to .mo when stale (no GNU gettext needed)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="compile all catalogs, stale or not")

    def handle(self, *args, force=False, **options):
        written = compile_catalogs(force=force)
        for path in written:
            self.stdout.write(f"compiled {path}")
        self.stdout.write(self.style.SUCCESS(f"{len(written)} catalog(s) compiled"))
