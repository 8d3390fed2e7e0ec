from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crds_server.catalog.errors import CatalogError
from crds_server.catalog.importer import import_cache


class Command(BaseCommand):
    help = "Catalog every mapping and reference of a standard CRDS cache and set latest/edit."

    def add_arguments(self, parser):
        parser.add_argument("cache_dir", type=Path)
        parser.add_argument("--context", help="context to make latest and edit (default: highest .pmap)")
        parser.add_argument("--user", default="import-cache")

    def handle(self, *args, cache_dir, context, user, **options):
        if not cache_dir.is_dir():
            raise CommandError(f"{cache_dir} is not a directory.")
        try:
            report = import_cache(cache_dir, context=context, user=user, progress=options["verbosity"] > 0)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Imported {report.mappings_added} mappings and {report.references_added} references "
            f"({report.already_present} already present) in {report.seconds:.1f} s; "
            f"latest and edit context: {report.context}"
        )
