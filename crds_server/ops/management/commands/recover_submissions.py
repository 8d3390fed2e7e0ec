import datetime

from django.core.management.base import BaseCommand

from crds_server.submissions.recovery import MAX_ATTEMPTS, STUCK_AFTER, recover_stuck


class Command(BaseCommand):
    help = (
        "Requeue submissions whose job consumer died mid-way, from a clean state (staged files "
        f"and reserved names dropped); fail them with a `done` message after {MAX_ATTEMPTS} "
        "interruptions. The consumer does this every minute for submissions silent for "
        f"{int(STUCK_AFTER.total_seconds())} s."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=float, default=STUCK_AFTER.total_seconds(), metavar="SECONDS",
            help="recover submissions whose worker has been silent this long (default %(default)s)")

    def handle(self, *args, older_than, **options):
        recovered = recover_stuck(older_than=datetime.timedelta(seconds=older_than))
        for submission_id in recovered:
            self.stdout.write(f"  {submission_id}")
        self.stdout.write(f"Recovered {len(recovered)} submission(s).")
