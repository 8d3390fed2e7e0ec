from django.core.management.base import BaseCommand, CommandError

from crds_server.ops.setup import OBSERVATORIES, USECASES, SetupError, init_server


class Command(BaseCommand):
    help = "Create the data directory tree and the database schema for one observatory (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--observatory", choices=OBSERVATORIES, required=True)
        parser.add_argument("--usecase", choices=USECASES, default="dev")

    def handle(self, *args, observatory, usecase, **options):
        try:
            home = init_server(observatory, usecase, options["verbosity"])
        except SetupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Initialised {observatory}/{usecase} server in {home}")
