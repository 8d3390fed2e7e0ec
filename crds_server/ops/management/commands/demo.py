import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crds_server.accounts.actions import create_user
from crds_server.catalog.actions import set_context
from crds_server.catalog.importer import import_cache
from crds_server.datasets.actions import import_datasets
from crds_server.demo import build_demo_cache, demo_datasets
from crds_server.demo.server import live_in, ship_files
from crds_server.ops.management.commands.init import initialise
from crds_server.ops.setup import OBSERVATORIES, USECASES

DEMO_USERS = (("demo-submitter", "submitter"), ("demo-operator", "operator"))


class Command(BaseCommand):
    help = ("Initialise a dev or test server and load demo rules, references and datasets made "
            "from the crds specs, with a demo submitter and operator (never on ops); with --story, "
            "also a short history played with the server's own actions: two confirmed and "
            "archived deliveries, contexts made latest on dated days, a bad file, "
            "affected-datasets reports.")
    # Like init, demo creates the secret key that the security checks ask for.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--observatory", choices=OBSERVATORIES, default=settings.OBSERVATORY)
        parser.add_argument("--usecase", choices=USECASES, default="dev")
        parser.add_argument("--datasets", type=int, default=60)
        parser.add_argument("--story", action="store_true",
                            help="also play the demo story (deliveries, dated history, a bad file, "
                                 "affected datasets); `make demo` does")

    def handle(self, *args: Any, observatory: str, usecase: str, datasets: int, story: bool,
               **options: Any) -> None:
        if usecase == "ops":
            raise CommandError("Demo rules and references never go on an ops server: "
                               "pipelines would get them. Use --usecase dev or test.")
        initialise(observatory, usecase, options["verbosity"], self.stderr)
        with tempfile.TemporaryDirectory(dir=settings.HOME / "run") as tmp:
            cache = Path(tmp)
            pmap = build_demo_cache(cache, observatory)
            report = import_cache(cache, context=pmap, user="demo")
            lines = cache / "datasets.jsonl"
            with open(lines, "w") as out:
                for entry in demo_datasets(cache, observatory, datasets):
                    out.write(json.dumps(entry) + "\n")
            count = import_datasets(lines)
        users = demo_users(usecase)
        if report.mappings_added:
            set_context("demo", pmap, "versions", "Demo data")
        if report.mappings_added and story:
            played = live_in(*(User.objects.get(username=name) for name, _ in DEMO_USERS),
                            log=lambda line: self.stdout.write(f"  {line}"))
            pmap = played.contexts[-1] if played.contexts else pmap
            for path in ship_files(settings.HOME / "demo_files", pmap):
                self.stdout.write(f"A reference to submit (it certifies against {pmap}): {path}")
        self.stdout.write(
            f"Demo {observatory} server ready: {report.mappings_added} mappings, "
            f"{report.references_added} references, {count} datasets; latest context {pmap}"
        )
        for name, role, password in users:
            if password is None:
                self.stdout.write(f"Demo {role}: user '{name}' already exists; its password is unchanged")
            elif usecase == "dev":
                self.stdout.write(f"Demo {role}: user '{name}', password '{password}' (dev servers only)")
            else:
                self.stdout.write(f"Demo {role}: user '{name}', password '{password}' (shown only once)")


def demo_users(usecase: str) -> list[tuple[str, str, str | None]]:
    """A submitter and an operator to try the site with: (name, role, password or None if kept).

    On dev each has its name as password; on a test server, reachable by others,
    each new one gets a random password, shown once, and an existing one keeps its own.
    """
    made = []
    for name, role in DEMO_USERS:
        if usecase == "dev":
            if not User.objects.filter(username=name).exists():
                create_user(name, f"{name}@localhost", role, password=name)
            made.append((name, role, name))
        elif User.objects.filter(username=name).exists():
            made.append((name, role, None))
        else:
            password = secrets.token_urlsafe(12)
            create_user(name, f"{name}@localhost", role, password=password)
            made.append((name, role, password))
    return made
