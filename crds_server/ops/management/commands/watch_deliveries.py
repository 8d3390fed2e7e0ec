from django.core.management.base import BaseCommand, CommandError

from crds_server.deliveries.actions import watch
from crds_server.deliveries.errors import DeliveryError


class Command(BaseCommand):
    help = "Run one step of the delivery watcher: read the archive's progress, print what moved."

    def handle(self, *args, **options):
        try:
            changes = watch()
        except DeliveryError as exc:
            raise CommandError(str(exc)) from exc
        for catalog, old, new in changes:
            self.stdout.write(f"{catalog}: {old} -> {new}")
        if not changes:
            self.stdout.write("No delivery changed.")
