from django.core.management.base import BaseCommand

from crds_server.locks.actions import clear_expired


class Command(BaseCommand):
    help = "Remove expired instrument locks now (the periodic job does this every 5 minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"Removed {clear_expired()} expired lock(s).")
