import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crds_server.catalog.actions import set_context
from crds_server.catalog.demo import build_demo_cache, demo_datasets
from crds_server.catalog.importer import import_cache
from crds_server.datasets.actions import import_datasets
from crds_server.ops.setup import OBSERVATORIES, USECASES, SetupError, init_server


class Command(BaseCommand):
    help = "Initialise the server and load demo rules, references and datasets made from the crds specs."

    def add_arguments(self, parser):
        parser.add_argument("--observatory", choices=OBSERVATORIES, default=settings.OBSERVATORY)
        parser.add_argument("--usecase", choices=USECASES, default="dev")
        parser.add_argument("--datasets", type=int, default=60)

    def handle(self, *args, observatory, usecase, datasets, **options):
        try:
            init_server(observatory, usecase, options["verbosity"])
        except SetupError as exc:
            raise CommandError(str(exc)) from exc
        with tempfile.TemporaryDirectory(dir=settings.HOME / "run") as tmp:
            cache = Path(tmp)
            pmap = build_demo_cache(cache, observatory)
            report = import_cache(cache, context=pmap, user="demo")
            lines = cache / "datasets.jsonl"
            with open(lines, "w") as out:
                for entry in demo_datasets(cache, observatory, datasets):
                    out.write(json.dumps(entry) + "\n")
            count = import_datasets(lines)
        if report.mappings_added:
            set_context("demo", pmap, "versions", "Demo data")
        self.stdout.write(
            f"Demo {observatory} server ready: {report.mappings_added} mappings, "
            f"{report.references_added} references, {count} datasets; latest context {pmap}"
        )
