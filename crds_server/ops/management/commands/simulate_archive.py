from django.core.management.base import BaseCommand, CommandError

from crds_server.deliveries.actions import simulate_archive
from crds_server.deliveries.errors import DeliveryError


class Command(BaseCommand):
    help = ("Play the archive for tests and demos: advance every catalog in the deliveries "
            "directory by one step of the naming protocol (--steps N for more).")

    def add_arguments(self, parser):
        parser.add_argument("--fail", action="store_true", help="archiving fails (.cat_failed)")
        parser.add_argument("--steps", type=int, default=1, help="steps to take (default 1)")

    def handle(self, *args, fail, steps, **options):
        try:
            for _ in range(steps):
                for old, new in simulate_archive(fail=fail):
                    self.stdout.write(f"{old} -> {new or '(archived: removed with its files)'}")
        except DeliveryError as exc:
            raise CommandError(str(exc)) from exc
