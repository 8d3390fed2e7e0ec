from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crds_server.ops.backup import BackupError, create_backup, default_path


class Command(BaseCommand):
    help = ("Back up the database (JSON dump), every rule, the delivery catalogs and the "
            "configuration, with a manifest of sha1sums; references are listed, not copied.")

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="new directory (default HOME/backups/<date>)")
        parser.add_argument("--dry-run", action="store_true", help="say what would be written")

    def handle(self, *args, output, dry_run, **options):
        try:
            report = create_backup(output or default_path(), dry_run=dry_run)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for name in report.missing_mappings:
            self.stderr.write(f"warning: mapping {name} is catalogued but not in the file store")
        verb = "Would write" if dry_run else "Wrote"
        self.stdout.write(f"{verb} backup {report.path}: {report.files} files, {report.bytes} bytes; "
                          f"{report.counts.get('mappings', 0)} mappings and "
                          f"{report.counts.get('references', 0)} references catalogued")
