from django.core.management.base import BaseCommand, CommandError

from crds_server.reprocessing import actions, tasks
from crds_server.reprocessing.errors import ReprocessingError


class Command(BaseCommand):
    help = ("Start or show the affected-datasets run of a context transition (default: the newest "
            "change of the latest context); --wait computes its chunks here until it is done.")

    def add_arguments(self, parser):
        parser.add_argument("--old", help="old context (default: the newest transition's)")
        parser.add_argument("--new", help="new context (default: the newest transition's)")
        parser.add_argument("--wait", action="store_true",
                            help="work on the chunks in this process (beside any job consumer) "
                                 "and print the report")

    def handle(self, *args, old, new, wait, **options):
        try:
            actions.detect_transitions()
            if not (old and new):
                newest = actions.newest_transition()
                old, new = old or newest[0], new or newest[1]
            run = actions.start_run(old, new)
            if wait:
                run = actions.work(run)
            else:
                tasks.enqueue(actions.plan(run))
                run.refresh_from_db()
        except ReprocessingError as exc:
            raise CommandError(str(exc)) from exc
        done = actions.progress(run)
        self.stdout.write(f"{run.old_context} -> {run.new_context}: {run.status}, chunks "
                          f"{done['done']}/{done['total']} done, {run.affected_products} products "
                          f"affected, {run.errors} errors")
        if run.is_finished() and options["verbosity"] > 1:
            self.stdout.write(run.report)
