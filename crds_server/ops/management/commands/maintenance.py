from django.core.management.base import BaseCommand, CommandError

from crds_server.lib import maintenance
from crds_server.ops.check import check_store


class Command(BaseCommand):
    help = ("Turn maintenance mode on (every URL answers 503 + Retry-After, submissions refused) "
            "or off (only when the consistency check passes, unless --force).")

    def add_arguments(self, parser):
        parser.add_argument("state", choices=["on", "off", "status"])
        parser.add_argument("--reason", default="", help="shown to users (required with on)")
        parser.add_argument("--force", action="store_true", help="off even if the check fails")

    def handle(self, *args, state, reason, force, **options):
        if state == "status":
            why = maintenance.reason()
            self.stdout.write(f"Maintenance mode is on: {why}" if why else "Maintenance mode is off.")
        elif state == "on":
            if not reason:
                raise CommandError("Say why: --reason TEXT (users see it).")
            maintenance.enter(reason)
            self.stdout.write(f"Maintenance mode is on: {reason}")
        else:
            self._off(force)

    def _off(self, force: bool) -> None:
        report = check_store(sha1_sample=0)
        if not report.ok and not force:
            for line in report.lines():
                self.stdout.write(line)
            raise CommandError("The check fails; fix it (`crds-server check --repair`) or use --force.")
        self.stdout.write("Maintenance mode is off." if maintenance.leave() else "Maintenance mode was off.")
