import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from crds_server.accounts.actions import create_user
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
        users = self._demo_users(usecase)
        self.stdout.write(
            f"Demo {observatory} server ready: {report.mappings_added} mappings, "
            f"{report.references_added} references, {count} datasets; latest context {pmap}"
        )
        for name, role, password in users:
            self.stdout.write(f"Demo {role}: user '{name}', password '{password}' (dev servers only)")

    def _demo_users(self, usecase):
        """A submitter and an operator to try the site with; never on an ops server."""
        if usecase == "ops":
            return []
        made = []
        for name, role in (("demo-submitter", "submitter"), ("demo-operator", "operator")):
            if not User.objects.filter(username=name).exists():
                create_user(name, f"{name}@localhost", role, password=name)
            made.append((name, role, name))
        return made
