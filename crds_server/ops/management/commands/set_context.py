from django.core.management.base import BaseCommand, CommandError

from crds_server.catalog.actions import KINDS, set_context
from crds_server.catalog.errors import CatalogError


class Command(BaseCommand):
    help = ("Move the latest, edit, build or versions context pointer, with a reason.  A context "
            "naming files the archive does not hold yet becomes latest only with --force.")

    def add_arguments(self, parser):
        parser.add_argument("pmap")
        parser.add_argument("--kind", choices=KINDS, required=True)
        parser.add_argument("--reason", required=True,
                            help="why (letters, digits, spaces and . _ / , = - + only)")
        parser.add_argument("--calver", help="calibration software version (with --kind build)")
        parser.add_argument("--force", action="store_true",
                            help="make it latest even though some of its files are not archived yet "
                                 "(the audit entry lists them)")
        parser.add_argument("--user", default="operator")

    def handle(self, *args, pmap, kind, reason, calver, force, user, **options):
        try:
            old = set_context(user, pmap, kind, reason, calver, force=force)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{kind} context changed from '{old}' to '{pmap}'")
