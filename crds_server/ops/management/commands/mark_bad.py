from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from crds_server.accounts.actions import has_role
from crds_server.catalog.actions import mark_bad, mark_ok
from crds_server.catalog.badfiles import KINDS
from crds_server.catalog.errors import CatalogError


class Command(BaseCommand):
    help = ("Mark files bad (references rejected, mappings blacklisted with every mapping containing "
            "them) or, with --ok, OK again.")

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="+", metavar="NAME")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--ok", action="store_true", help="clear the bad flags instead")
        parser.add_argument("--kind", choices=KINDS,
                            help="rejected: only the named files; blacklisted: spread upward "
                                 "(default: references rejected, mappings blacklisted)")
        parser.add_argument("--force", action="store_true",
                            help="mark files of the latest context bad all the same")
        parser.add_argument("--user", default="operator",
                            help="the operator recorded in the audit log (an operator account if it exists)")

    def handle(self, *args, names, reason, ok, kind, force, user, **options):
        account = User.objects.filter(username=user).first()
        if account is not None and not has_role(account, "operator"):
            raise CommandError(f"User '{user}' is not an operator.")
        try:
            done = mark_ok(user, names, reason) if ok else mark_bad(user, names, reason, kind, force)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        prefix = "no longer " if ok else ""
        for flag in ("rejected", "blacklisted"):
            for name in getattr(done, flag):
                self.stdout.write(f"{name}: {prefix}{flag}")
        if not done.names():
            self.stdout.write("Nothing changed.")
