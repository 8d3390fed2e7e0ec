from django.core.management.base import BaseCommand, CommandError

from crds_server.catalog.actions import KINDS, set_context
from crds_server.catalog.errors import CatalogError


class Command(BaseCommand):
    help = "Move the latest, edit, build or versions context pointer, with a reason."

    def add_arguments(self, parser):
        parser.add_argument("pmap")
        parser.add_argument("--kind", choices=KINDS, required=True)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--calver", help="calibration software version (with --kind build)")
        parser.add_argument("--user", default="operator")

    def handle(self, *args, pmap, kind, reason, calver, user, **options):
        try:
            old = set_context(user, pmap, kind, reason, calver)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{kind} context changed from '{old}' to '{pmap}'")
