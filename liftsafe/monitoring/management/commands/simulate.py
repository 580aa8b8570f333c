"""``liftsafe simulate``: realistic device traffic for N registry elevators, to MQTT or in-process."""
import datetime as dt
import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Publish simulated monitoring traffic for N elevators of the registry (binds SIM-<id> devices first)."

    def add_arguments(self, parser):
        parser.add_argument("--elevators", type=int, default=100)
        parser.add_argument("--duration", type=float, default=60, help="simulated seconds")
        parser.add_argument("--step", type=float, default=1.0, help="simulated seconds per tick")
        parser.add_argument("--realtime", action="store_true", help="sleep between ticks (else as fast as possible)")
        parser.add_argument("--status-every", type=float, default=10)
        parser.add_argument("--heartbeat-every", type=float, default=60)
        parser.add_argument("--fault-rate", type=float, default=0.5, help="injected faults per car per hour")
        parser.add_argument("--faults", default="entrapment,alarm_button,door_open_running,over_travel,overspeed,power_cut")
        parser.add_argument("--bad-rate", type=float, default=0.0, help="bad messages per car per second")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--url", default=os.environ.get("LIFTSAFE_MQTT_URL", ""), help="broker (default LIFTSAFE_MQTT_URL)")
        parser.add_argument("--in-process", action="store_true", help="feed process_batch directly (no broker)")

    def handle(self, *args, **o):
        from liftsafe.monitoring.services import RawMessage, process_batch
        from liftsafe.monitoring.simulator import FAULTS, Simulator, devices_for_simulation

        faults = tuple(f for f in o["faults"].split(",") if f)
        if bad := set(faults) - set(FAULTS):
            raise CommandError(f"--faults: unknown {sorted(bad)}; known {list(FAULTS)}")
        if not o["in_process"] and not o["url"]:
            raise CommandError("pass --url (or LIFTSAFE_MQTT_URL) or --in-process")
        devices = devices_for_simulation(o["elevators"])
        if not devices:
            raise CommandError("no in-use elevators in the registry to simulate")
        now = timezone.now()
        sim = Simulator(devices, seed=o["seed"], status_every_s=o["status_every"], heartbeat_every_s=o["heartbeat_every"],
                        fault_rate=o["fault_rate"], bad_rate=o["bad_rate"], faults=faults, id_base=int(now.timestamp() * 1000))
        t = now - dt.timedelta(seconds=o["duration"]) if not o["realtime"] else now
        end = now if not o["realtime"] else now + dt.timedelta(seconds=o["duration"])
        total = 0
        while t < end:
            t += dt.timedelta(seconds=o["step"])
            msgs = sim.step(t, o["step"])
            total += len(msgs)
            if o["in_process"]:
                process_batch([RawMessage(p, topic=tp, received_at=max(t, timezone.now()) if o["realtime"] else timezone.now(),
                                          transport="sim") for tp, p in msgs])
            else:
                from liftsafe.monitoring.mqtt import publish_many

                publish_many(o["url"], msgs)
            if o["realtime"]:
                time.sleep(o["step"])
        self.stdout.write(f"{len(devices)} devices, {total} messages")
