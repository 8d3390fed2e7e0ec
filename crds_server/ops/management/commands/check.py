from django.core.management.base import CommandError
from django.core.management.commands.check import Command as SystemCheckCommand

from crds_server.ops import check as store_check


class Command(SystemCheckCommand):
    help = ("Django's system checks, then the consistency of the catalog and the file store: "
            "missing or short files, a sha1 sample, orphans, the latest and edit contexts' rules. "
            "--repair quarantines orphans in HOME/backups/orphans-<date>/.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--repair", action="store_true", help="move orphans to the quarantine")
        parser.add_argument("--dry-run", action="store_true", help="with --repair: say what would move")
        parser.add_argument("--sha1-sample", type=int, default=10,
                            help="how many files (chosen at random) to checksum (default 10)")

    def handle(self, *app_labels, repair: bool = False, dry_run: bool = False, sha1_sample: int = 10,
               **options):
        super().handle(*app_labels, **options)
        if options.get("list_tags") or app_labels or options.get("tags"):
            return  # Django's own uses of `check`
        report = store_check.check_store(sha1_sample=sha1_sample)
        if repair and not dry_run:
            report = store_check.repair(report)
        for line in report.lines():
            self.stdout.write(line)
        if repair and dry_run and report.orphans:
            self.stdout.write(f"--dry-run: {len(report.orphans)} orphans would be quarantined")
        if not report.ok:
            raise CommandError("The catalog and the file store disagree"
                               + (": these problems need an operator." if repair and not dry_run else "."))

