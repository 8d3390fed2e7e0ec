from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crds_server.catalog.errors import CatalogError
from crds_server.catalog.importer import import_cache


class Command(BaseCommand):
    help = ("Catalog every mapping and reference of a CRDS cache synced from a server, with the "
            "context history, pointers and bad files its config/<obs>/server_config records.")

    def add_arguments(self, parser):
        parser.add_argument("cache_dir", type=Path)
        parser.add_argument("--context", help="context to make latest and edit (default: the cache's "
                                              "latest context, else the highest .pmap)")
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
            f"({report.already_present} already present; {report.layout} layout) in "
            f"{report.seconds:.1f} s; latest context: {report.context}; "
            f"{report.history_added} history eras added; {len(report.flags_added)} files flagged bad; "
            f"{', '.join(report.moved) or 'no pointer moved'}.")
        for note in report.notes:
            self.stdout.write(f"Note: {note}")
