"""``liftsafe mqtt_consume``: a monitoring worker on the MQTT shared subscription (see liftsafe.monitoring.mqtt)."""
import os
import signal
import socket

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Consume device messages from MQTT (QoS 1, shared subscription, 5-minute session); ack after commit; a graceful stop drains and ends the session."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=os.environ.get("LIFTSAFE_MQTT_URL", ""), help="mqtt://host:port (default LIFTSAFE_MQTT_URL)")
        parser.add_argument("--client-id", default=f"liftsafe-{socket.gethostname()}-1",
                            help="stable per worker slot (host + ordinal, never random): a restarted worker resumes "
                                 "its session under this id and gets back what it had not acknowledged")
        parser.add_argument("--session-expiry", type=int, default=None,
                            help="MQTT 5 session expiry, s (default 300): how long the broker keeps a crashed "
                                 "worker's session (see docs/monitoring.md 'Sessions')")
        parser.add_argument("--prefix", default="liftsafe/v1", help="topic root: <prefix>/<device>/<type>")
        parser.add_argument("--group", default="liftsafe", help="shared-subscription group")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--batch-wait", type=float, default=0.05, help="s to wait to fill a batch")
        parser.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds (benchmarks)")
        parser.add_argument("--no-share", action="store_true", help="plain subscription (a single worker)")

    def handle(self, *args, **o):
        if not o["url"]:
            raise CommandError("no broker: pass --url or set LIFTSAFE_MQTT_URL")
        from liftsafe.monitoring.mqtt import Consumer

        from liftsafe.monitoring.mqtt import SESSION_EXPIRY_S

        c = Consumer(o["url"], o["client_id"], group=o["group"], batch_size=o["batch_size"],
                     batch_wait_s=o["batch_wait"], shared=not o["no_share"], prefix=o["prefix"],
                     session_expiry_s=SESSION_EXPIRY_S if o["session_expiry"] is None else o["session_expiry"])
        signal.signal(signal.SIGTERM, lambda *_: c.stop())
        c.start()
        try:
            n = c.run(idle_exit_s=o["idle_exit"])
        except KeyboardInterrupt:
            n = c.processed
        finally:
            # graceful stop (SIGTERM, Ctrl-C, idle exit): leave the shared subscription, drain, end the session,
            # so a worker scaled away holds nothing; a crash keeps the session for the restart (SESSION_EXPIRY_S)
            if not c.leave():
                self.stderr.write("session kept: some messages were not processed; restart this worker "
                                  f"with --client-id {o['client_id']} to get them again")
        self.stdout.write(f"processed {n} messages")
