from django.core.management.base import BaseCommand, CommandError

from crds_server.deliveries.actions import redeliver
from crds_server.deliveries.errors import DeliveryError


class Command(BaseCommand):
    help = "Recreate a delivery's files and catalog in the deliveries directory from its permanent catalog."

    def add_arguments(self, parser):
        parser.add_argument("number", type=int, help="the delivery number (hst_0042.cat: 42)")
        parser.add_argument("--user", default="operator")

    def handle(self, *args, number, user, **options):
        try:
            delivery = redeliver(number, user)
        except DeliveryError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Redelivered {delivery.catalog} ({len(delivery.files)} files).")
