from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crds_server.ops.setup import OBSERVATORIES, USECASES, SetupError, init_server
from crds_server.security import modes
from crds_server.security.checks import private_paths


class Command(BaseCommand):
    help = ("Create the data directory tree, the secret key and the database schema for one "
            "observatory (idempotent); the data directory, database, job store, key and backups "
            "are made private.")
    # init creates the secret key that the security checks (crds_server.security.E001) ask for.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--observatory", choices=OBSERVATORIES, required=True)
        parser.add_argument("--usecase", choices=USECASES, default="dev")
        parser.add_argument("--public-url", help="the server's public address, recorded in server.json "
                            "for links in mails sent by any process (kept by later inits)")

    def handle(self, *args: Any, observatory: str, usecase: str, **options: Any) -> None:
        home = initialise(observatory, usecase, options["verbosity"], self.stderr, options["public_url"])
        self.stdout.write(f"Initialised {observatory}/{usecase} server in {home}")


def initialise(observatory: str, usecase: str, verbosity: int, stderr: TextIO,
               public_url: str | None = None) -> Path:
    """`init_server` inside a private data directory; the modes of an older one are tightened."""
    modes.prepare_home(settings.HOME)
    try:
        home = init_server(observatory, usecase, verbosity, public_url)
    except SetupError as exc:
        raise CommandError(str(exc)) from exc
    for path in modes.tighten_all(private_paths()):
        stderr.write(f"warning: cannot make {path} private (chmod it yourself)")
    return home
