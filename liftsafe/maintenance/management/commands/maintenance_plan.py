"""``liftsafe maintenance_plan``: plan the next visits of every maintenance unit (idempotent; run daily)."""
from django.core.management.base import BaseCommand

from liftsafe.maintenance.tasks import plan_all


class Command(BaseCommand):
    help = "Plan due maintenance visits for every maintenance unit's contracted lifts (running twice creates nothing new)."

    def handle(self, *args, **opts):
        res = plan_all()
        self.stdout.write(f"{res['created']} visits planned, {res['existing']} already open")
        for y in sorted(res["calendar_unknown_years"]):
            self.stdout.write(f"official calendar for {y} not yet published: weekends-only working days used")
