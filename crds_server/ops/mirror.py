"""Mirror another running server: its backup over HTTP, then every file this store lacks.

Everything that needs the source happens before anything here changes: the
backup is fetched and verified, and every missing reference is downloaded
(size and sha1 checked) into a staging directory.  Only then does the
restore run, locally, in maintenance mode.  A source that is down or
answers wrongly leaves this server exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from crds_server.catalog.models import DISTRIBUTABLE_STATES, File

from . import check
from .backup import BackupError, extract_archive, sha1_of, verify
from .restore import RestoreReport, restore

CHUNK = 1 << 20
TIMEOUT = 600


class MirrorError(Exception):
    """The source cannot be mirrored (down, refused, or sent something wrong)."""


@dataclass
class MirrorReport:
    """What a mirror fetched and restored (or, with dry_run, would fetch)."""

    source: str
    manifest: dict[str, Any] = field(default_factory=dict)
    needed: list[str] = field(default_factory=list)
    fetched_bytes: int = 0
    restore: RestoreReport | None = None


def mirror(source: str, token: str, *, dry_run: bool = False) -> MirrorReport:
    """Make this server a copy of the server at `source` (its observatory, any usecase)."""
    source = source.rstrip("/")
    report = MirrorReport(source)
    work = Path(settings.HOME) / "backups" / f".mirror-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        archive = work / "backup.tar.gz"
        _download(f"{source}/backup/latest", archive, headers={"Authorization": f"Bearer {token}"})
        try:
            root = extract_archive(archive, work)
            report.manifest = verify(root, usecase=None)
        except (BackupError, OSError, EOFError) as exc:
            raise MirrorError(f"The backup sent by {source} is not usable: {exc}") from exc
        report.needed = needed_references(report.manifest)
        if dry_run:
            return report
        staged = _fetch_all(source, report, work / "files")
        report.restore = restore(root, usecase=None, staged=staged, why=f"mirror of {source}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def needed_references(manifest: dict[str, Any]) -> list[str]:
    """Distributable references of the source that this store lacks or holds with other bytes."""
    local = dict(File.objects.references().values_list("name", "sha1sum"))
    store = check.store_dir("references")
    needed = []
    for name, entry in sorted(manifest["catalog"].items()):
        if entry["type"] != File.REFERENCE or entry["state"] not in DISTRIBUTABLE_STATES:
            continue
        path = store / name
        if not path.is_file() or path.stat().st_size != entry["size"]:
            needed.append(name)
        elif name in local and local[name] != entry["sha1"]:
            needed.append(name)  # same name, other bytes (another server's numbering)
        elif name not in local and entry["sha1"] and sha1_of(path) != entry["sha1"]:
            needed.append(name)
    return needed


def _fetch_all(source: str, report: MirrorReport, target: Path) -> dict[str, Path]:
    target.mkdir(parents=True, exist_ok=True)
    staged = {}
    obs = settings.OBSERVATORY
    for name in report.needed:
        entry = report.manifest["catalog"][name]
        path = target / name
        _download(f"{source}/unchecked_get/references/{obs}/{name}", path,
                  size=entry["size"], sha1=entry["sha1"])
        report.fetched_bytes += entry["size"]
        staged[name] = path
    return staged


def _download(url: str, path: Path, *, headers: dict[str, str] | None = None,
              size: int | None = None, sha1: str = "") -> None:
    """GET `url` into `path` through a temporary name; check size and sha1 when given."""
    temp = path.with_name(f".part-{path.name}")
    digest = hashlib.sha1()
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response, open(temp, "wb") as out:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        temp.unlink(missing_ok=True)
        detail = exc.read(500).decode("utf-8", "replace").strip()
        raise MirrorError(f"{url} answered {exc.code}: {detail}") from exc
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise MirrorError(f"Cannot fetch {url}: {exc}") from exc
    got = temp.stat().st_size
    if (size is not None and got != size) or (sha1 and digest.hexdigest() != sha1):
        temp.unlink()
        raise MirrorError(f"{url} sent {got} bytes that do not match the catalog "
                          f"({size} bytes, sha1 {sha1}).")
    temp.replace(path)
