from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crds_server.ops.backup import BackupError
from crds_server.ops.mirror import MirrorError, mirror

from .restore import write_restore_report


class Command(BaseCommand):
    help = ("Make this server a copy of another running server: fetch its backup and every "
            "reference this store lacks, then restore; a source that is down changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("source_url")
        parser.add_argument("--token", default=None,
                            help="the source's mirror token (default CRDS_SERVER_MIRROR_TOKEN)")
        parser.add_argument("--dry-run", action="store_true", help="fetch the backup, list what would change")

    def handle(self, *args, source_url, token, dry_run, **options):
        token = token or settings.MIRROR_TOKEN
        if not token:
            raise CommandError("A mirror token is needed: --token or CRDS_SERVER_MIRROR_TOKEN.")
        try:
            report = mirror(source_url, token, dry_run=dry_run)
        except (MirrorError, BackupError) as exc:
            raise CommandError(f"{exc} This server was not changed.") from exc
        verb = "Would fetch" if dry_run else "Fetched"
        self.stdout.write(f"{verb} {len(report.needed)} references from {report.source}")
        if report.restore is None:
            return
        write_restore_report(self, report.restore)
        if not report.restore.check.ok:
            raise CommandError("The mirrored server is not consistent; it stays in maintenance mode.")
