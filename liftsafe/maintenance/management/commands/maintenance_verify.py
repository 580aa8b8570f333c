"""``liftsafe maintenance_verify [--elevator ID …]``: prove each lift's chain of frozen visit records intact.

Prints one line per broken chain and a summary; exit status 1 if any chain is broken (for cron / CI)."""
from django.core.management.base import BaseCommand, CommandError

from liftsafe.maintenance.models import Visit
from liftsafe.maintenance.services import verify_chain
from liftsafe.registry.models import Elevator


class Command(BaseCommand):
    help = "Verify the hash chain of frozen (countersigned) maintenance records, per elevator."

    def add_arguments(self, parser):
        parser.add_argument("--elevator", type=int, action="append", help="elevator id (repeatable); default: all with records")

    def handle(self, *args, elevator=None, **opts):
        ids = elevator or Visit.objects.filter(frozen=True).values_list("elevator_id", flat=True).distinct().order_by()
        broken = checked = 0
        for e in Elevator.objects.filter(pk__in=list(ids)).order_by("pk").iterator():
            rep = verify_chain(e)
            checked += rep.checked
            if not rep.ok:
                broken += 1
                self.stdout.write(f"BROKEN elevator {e.pk}: link {rep.broken_at} (visit {rep.visit_id}): {rep.reason}")
        self.stdout.write(f"{checked} records verified, {broken} broken chain(s)")
        if broken:
            raise CommandError(f"{broken} broken chain(s)", returncode=1)
