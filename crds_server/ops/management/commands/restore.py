from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crds_server.ops.backup import BackupError
from crds_server.ops.restore import restore


class Command(BaseCommand):
    help = ("Restore a backup made by `backup`: verify it, then in maintenance mode replace the "
            "database, the rules and the delivery catalogs, quarantine files added since, and check.")

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="verify and list what would change")

    def handle(self, *args, backup, dry_run, **options):
        try:
            report = restore(backup, dry_run=dry_run)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        write_restore_report(self, report)
        if not dry_run and not report.check.ok:
            raise CommandError("The restored server is not consistent; it stays in maintenance mode. "
                               "Run `crds-server check` and repair, then `crds-server maintenance off`.")


def write_restore_report(command, report) -> None:
    """Print what a restore did or, on a dry run, would do (shared with `mirror`)."""
    out = command.stdout.write
    would = "would be " if report.dry_run else ""
    for path in report.orphans:
        out(f"{would}quarantined (not catalogued in the backup): {path}")
    for path in report.stale_server_files:
        out(f"{would}quarantined (delivery not in the backup): {path}")
    for name in report.missing:
        command.stderr.write(f"missing from the store, not in the backup: {name}")
    if report.dry_run:
        counts = report.manifest.get("counts", {})
        out(f"Backup {report.backup} is whole; restoring it would give {counts.get('mappings', 0)} "
            f"mappings and {counts.get('references', 0)} references. Nothing was changed.")
        return
    for line in report.check.lines():
        out(line)
    where = f"; quarantine {report.quarantine}" if report.quarantine else ""
    out(f"Restored {report.backup}: {report.mappings_placed} mappings placed, catalog version "
        f"{report.version}{where}.")
    if report.left_maintenance:
        out("Maintenance mode is off.")
