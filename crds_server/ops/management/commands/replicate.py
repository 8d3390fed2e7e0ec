import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crds_server.replica import actions
from crds_server.replica.errors import ReplicaError
from crds_server.replica.fetch import MAX_WORKERS

MIN_INTERVAL, MAX_INTERVAL = 10, 24 * 3600


class Command(BaseCommand):
    help = ("Make this server a read-only replica of any CRDS server through the client's public "
            "API: one catch-up, then exit; --follow keeps catching up. A source that is down or "
            "wrong leaves the replica serving its last consistent state.")

    def add_arguments(self, parser):
        parser.add_argument("source_url", nargs="?", default=None,
                            help="the source server (default CRDS_SERVER_REPLICA_OF)")
        parser.add_argument("--follow", action="store_true", help="keep catching up every --interval")
        parser.add_argument("--interval", type=int, default=300,
                            help=f"seconds between catch-ups with --follow ({MIN_INTERVAL}..{MAX_INTERVAL})")
        parser.add_argument("--max-runs", type=int, default=0,
                            help="with --follow, stop after N runs (0: never)")
        parser.add_argument("--workers", type=int, default=settings.REPLICA_WORKERS,
                            help=f"parallel downloads (1..{MAX_WORKERS})")
        parser.add_argument("--contexts", type=int, default=settings.REPLICA_CONTEXTS,
                            help="keep only the rules and references of the last N contexts (0: all)")
        parser.add_argument("--calver", action="append", default=list(settings.REPLICA_CALVERS),
                            help="a calibration software version whose build context to copy (repeatable; "
                                 "default CRDS_SERVER_REPLICA_CALVERS)")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer")

    def handle(self, *args, source_url, follow, interval, max_runs, workers, contexts, calver, timeout,
               **options):
        source = source_url or settings.REPLICA_OF
        if not source:
            raise CommandError("Name the source server (or set CRDS_SERVER_REPLICA_OF).")
        if not (1 <= workers <= MAX_WORKERS) or contexts < 0:
            raise CommandError(f"--workers must be 1..{MAX_WORKERS} and --contexts 0 or more.")
        interval = min(max(interval, MIN_INTERVAL), MAX_INTERVAL)
        runs = 0
        while True:
            runs += 1
            try:
                report = actions.catch_up(source, workers=workers, keep_contexts=contexts,
                                          calvers=tuple(calver), timeout=timeout,
                                          progress=options["verbosity"] > 0)
                self.stdout.write(report.line())
            except ReplicaError as exc:
                if not follow:
                    raise CommandError(f"{exc} This replica was not changed: it serves its last "
                                       f"consistent state.") from exc
                self.stderr.write(f"Catch-up failed, nothing changed: {exc}")
            if not follow or (max_runs and runs >= max_runs):
                return
            time.sleep(interval)
