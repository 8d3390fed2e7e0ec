from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from crds_server.accounts.actions import create_token, revoke_token

DEFAULT_LABEL = "crds-submit"


class Command(BaseCommand):
    help = ("Create an API token for a user (printed once, for MAST_API_TOKEN) "
            "or revoke a user's tokens by label.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="print a new token")
        create.add_argument("name")
        create.add_argument("--label", default=DEFAULT_LABEL)
        revoke = actions.add_parser("revoke", help="revoke every active token with this label")
        revoke.add_argument("name")
        revoke.add_argument("--label", required=True)

    def handle(self, *args, action, name, label, **options):
        user = User.objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"No user '{name}'.")
        if action == "create":
            self.stdout.write(create_token(user, label))
            return
        count = revoke_token(user, label)
        if not count:
            raise CommandError(f"User '{name}' has no active token labelled '{label}'.")
        self.stdout.write(f"Revoked {count} token(s) labelled '{label}' of '{name}'.")
