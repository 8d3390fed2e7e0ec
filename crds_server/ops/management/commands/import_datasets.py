import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crds_server.datasets.actions import import_datasets
from crds_server.datasets.errors import DatasetError


class Command(BaseCommand):
    help = "Bulk-load archive dataset parameters from JSON Lines ({id, instrument, header})."

    def add_arguments(self, parser):
        parser.add_argument("jsonl", type=Path)

    def handle(self, *args, jsonl, **options):
        start = time.monotonic()
        try:
            count = import_datasets(jsonl)
        except (OSError, DatasetError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Loaded {count} datasets in {time.monotonic() - start:.1f} s")
