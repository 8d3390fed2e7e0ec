from django.core.management.base import BaseCommand, CommandError

from crds_server.accounts.actions import ROLES, create_token, create_user
from crds_server.accounts.errors import AccountError

DEFAULT_LABEL = "crds-submit"


class Command(BaseCommand):
    help = ("Create or update a user with the submitter or operator role, and print a new "
            "API token for `crds submit` (MAST_API_TOKEN) unless --no-token.")

    def add_arguments(self, parser):
        parser.add_argument("name", help="user name (the e-mail of the MyST account, if you like)")
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--password", help="for the web login; without it only tokens work")
        parser.add_argument("--no-token", action="store_true", help="do not create an API token")
        parser.add_argument("--token-label", default=DEFAULT_LABEL)

    def handle(self, *args, name, email, role, password, no_token, token_label, **options):
        try:
            user = create_user(name, email, role, password)
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"User '{user.username}' saved with role {role}.")
        if not no_token:
            token = create_token(user, token_label)
            self.stdout.write(f"API token '{token_label}' (shown once; set MAST_API_TOKEN to it):")
            self.stdout.write(token)
