"""``liftsafe door_analytics``: ingest the Huawei 4 Hz door series as a device's statistics stream and flag sustained abnormal vibration."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Ingest the real door sensor series (liftsafe/monitoring/data) for a bound device; report repairs and flags."

    def add_arguments(self, parser):
        parser.add_argument("device_id")
        parser.add_argument("--start", help="device time of the first sample (ISO 8601; default today 16:30 local, as recorded)")

    def handle(self, *args, **o):
        from liftsafe.monitoring.door import ingest
        from liftsafe.monitoring.models import MonitoringDevice

        dev = MonitoringDevice.objects.select_related("elevator").filter(device_id=o["device_id"], active=True).first()
        if dev is None:
            raise CommandError(f"device_id: no active device {o['device_id']!r} (bind one first)")
        if o["start"]:
            start = dt.datetime.fromisoformat(o["start"])
            if timezone.is_naive(start):
                raise CommandError("--start: give a UTC offset, e.g. 2026-11-28T16:30:00+08:00")
        else:
            start = timezone.localtime().replace(hour=16, minute=30, second=0, microsecond=0) - dt.timedelta(days=1)
        run = ingest(dev, start=start)
        self.stdout.write(f"{run.rows} samples, repaired {run.repairs}, rejected {run.rejected}, {len(run.flags)} abnormal-vibration windows")
