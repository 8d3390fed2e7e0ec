"""Publish a CRDS cache elsewhere on disk (the seed's `sync_ops_to_grp`), kept current.

Readers (pipelines with ``CRDS_PATH`` on the published cache) must never see
half a file or a configuration naming files not yet there, so:

- every file is written under a temporary name, then renamed into place;
- references are hard links when the target is on the same file system
  (no copy, no extra space), copies otherwise;
- new mappings and references go first, `bad_files.txt` next and
  `server_config` last: until the last rename, readers keep the previous
  consistent state, whatever fails (a full disk, a crash) on the way.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from crds_server.catalog import serverinfo
from crds_server.catalog.models import File


@dataclass
class PublishReport:
    """What one publication added."""

    mappings: int = 0
    references: int = 0
    linked: int = 0
    copied: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def line(self, target: Path) -> str:
        return (f"Published to {target}: {self.mappings} mappings and {self.references} references "
                f"added ({self.linked} linked, {self.copied} copied, {self.bytes} bytes) "
                f"in {self.seconds:.1f} s.")


def publish(target: Path, hard_links: bool = True) -> PublishReport:
    """Bring the cache at `target` up to date with the catalog's distributable files."""
    start, report, obs = time.monotonic(), PublishReport(), settings.OBSERVATORY
    target = Path(target)
    rows = File.objects.distributable().filter(observatory=obs).order_by("type", "name")
    for row in rows.only("name", "type", "size", "observatory"):
        kind = "mappings" if row.is_mapping() else "references"
        destination = target / kind / obs / row.name
        if _current(destination, row.size):
            continue
        _place(row.store_path(), destination, hard_links, report)
        report.bytes += row.size
        if row.is_mapping():
            report.mappings += 1
        else:
            report.references += 1
    config = target / "config" / obs
    write_text(config / "ref_cache_subdir_mode", "flat\n")
    write_text(config / "bad_files.txt", serverinfo.bad_files_text())
    write_text(config / "server_config", serverinfo.server_config_text())  # last: the commit point
    report.seconds = time.monotonic() - start
    return report


def _current(path: Path, size: int) -> bool:
    """Published names are immutable, so a file of the right size is the right file."""
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _place(source: Path, destination: Path, hard_links: bool, report: PublishReport) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = destination.with_name(f".publish-{os.getpid()}-{destination.name}")
    try:
        if hard_links and _link(source, temp):
            report.linked += 1
        else:
            _copy(source, temp)
            report.copied += 1
        os.replace(temp, destination)
    finally:
        temp.unlink(missing_ok=True)


def _link(source: Path, temp: Path) -> bool:
    """Hard-link `source` at `temp`; False when the file systems (or permissions) do not allow it."""
    try:
        os.link(source, temp)
        return True
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            return False
        raise


def _copy(source: Path, temp: Path) -> None:
    shutil.copyfile(source, temp)


def write_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all (temporary file, flushed, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".publish-{os.getpid()}-{path.name}")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
