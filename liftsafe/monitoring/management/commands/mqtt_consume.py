"""``liftsafe mqtt_consume``: a monitoring worker on the MQTT shared subscription (see liftsafe.monitoring.mqtt)."""
import os
import signal
import socket

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Consume device messages from MQTT (QoS 1, persistent session, shared subscription); ack after commit."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=os.environ.get("LIFTSAFE_MQTT_URL", ""), help="mqtt://host:port (default LIFTSAFE_MQTT_URL)")
        parser.add_argument("--client-id", default=f"liftsafe-{socket.gethostname()}-1",
                            help="stable per worker: its persistent session lives under this id")
        parser.add_argument("--group", default="liftsafe", help="shared-subscription group")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--batch-wait", type=float, default=0.05, help="s to wait to fill a batch")
        parser.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds (benchmarks)")
        parser.add_argument("--no-share", action="store_true", help="plain subscription (a single worker)")

    def handle(self, *args, **o):
        if not o["url"]:
            raise CommandError("no broker: pass --url or set LIFTSAFE_MQTT_URL")
        from liftsafe.monitoring.mqtt import Consumer

        c = Consumer(o["url"], o["client_id"], group=o["group"], batch_size=o["batch_size"],
                     batch_wait_s=o["batch_wait"], shared=not o["no_share"])
        signal.signal(signal.SIGTERM, lambda *_: c.stop())
        c.start()
        try:
            n = c.run(idle_exit_s=o["idle_exit"])
        except KeyboardInterrupt:
            n = c.processed
        finally:
            c.close()
        self.stdout.write(f"processed {n} messages")
