from django.core.management.base import BaseCommand

from crds_server.locks.models import InstrumentLock


class Command(BaseCommand):
    help = "List the instrument locks: instrument, user, expiry and time remaining."

    def handle(self, *args, **options):
        locks = InstrumentLock.objects.select_related("user").order_by("instrument")
        if not locks:
            self.stdout.write("No instrument is locked.")
            return
        self.stdout.write(f"{'INSTRUMENT':<12} {'USER':<20} {'EXPIRES (UTC)':<20} REMAINING")
        for lock in locks:
            remaining = "expired" if lock.expired() else lock.time_remaining()
            self.stdout.write(f"{lock.instrument:<12} {lock.user.username:<20} "
                              f"{lock.expires:%Y-%m-%d %H:%M:%S}  {remaining}")
