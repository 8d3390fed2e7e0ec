from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from crds_server.accounts.actions import has_role
from crds_server.locks.actions import break_lock


class Command(BaseCommand):
    help = "Remove the lock on an instrument, whoever holds it, with a reason for the audit log."

    def add_arguments(self, parser):
        parser.add_argument("instrument")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--user", default="operator",
                            help="the operator recorded in the audit log (an operator account if it exists)")

    def handle(self, *args, instrument, reason, user, **options):
        account = User.objects.filter(username=user).first()
        if account is not None and not has_role(account, "operator"):
            raise CommandError(f"User '{user}' is not an operator.")
        if break_lock(account or User(username=user), instrument.lower(), reason):
            self.stdout.write(f"Lock on '{instrument.lower()}' broken.")
        else:
            self.stdout.write(f"Instrument '{instrument.lower()}' was not locked.")
