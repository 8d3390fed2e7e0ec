from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crds_server.ops.publish import publish


class Command(BaseCommand):
    help = ("Bring a CRDS cache elsewhere on disk up to date: new mappings and references "
            "(hard links when possible), then bad_files.txt and server_config, each file atomically.")

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, default=None,
                            help="the published cache (default: CRDS_SERVER_PUBLISH_DIR)")
        parser.add_argument("--copy", action="store_true", help="copy files instead of hard-linking")

    def handle(self, *args, to, copy, **options):
        target = to or (Path(settings.PUBLISH_DIR) if settings.PUBLISH_DIR else None)
        if target is None:
            raise CommandError("Give --to DIR or set CRDS_SERVER_PUBLISH_DIR.")
        try:
            report = publish(target, hard_links=not copy)
        except OSError as exc:
            raise CommandError(f"Publishing stopped, {target} keeps its previous state: {exc}") from exc
        self.stdout.write(report.line(target))
