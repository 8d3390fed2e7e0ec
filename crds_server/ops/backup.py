"""Backups: a portable database dump, every rule, the delivery catalogs, the configuration.

A backup is a directory::

    manifest.json          what is inside (size and sha1 of every file), the catalog, counts
    database.json.gz       `dumpdata` of the project's apps and accounts (natural keys)
    mappings/<name>        every catalogued rules file
    catalogs/<name>.cat    the permanent delivery catalogs (server_files/catalogs)
    deliveries/<name>.cat* the catalogs waiting in the deliveries directory
    config/                server.json, the settings that matter, the installed packages

References are not copied (they can be terabytes); the manifest lists each
catalogued file with its size and sha1 so a restore or a mirror knows what
the store must hold.  The directory is written under a hidden temporary
name and renamed into place last, so a partial backup never looks whole.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Model

from crds_server.catalog import contexts, versioning
from crds_server.catalog.models import File
from crds_server.security import modes

from . import exactjson

FORMAT = "crds-server-backup/1"
MANIFEST = "manifest.json"
DATABASE = "database.json.gz"
# Delivery catalogs, as delivered (.cat) or renamed by the archive (.cat_submit, ...).
CATALOG_SUFFIXES = (".cat", ".cat_submit", ".cat_archiving", ".cat_failed")
_EXTRA_MODELS = ("auth.User", "auth.Group", "admin.LogEntry")


class BackupError(Exception):
    """A backup cannot be written, or one on disk is incomplete, damaged or foreign."""


@dataclass
class BackupReport:
    """What one backup wrote (or, with dry_run, would write)."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    missing_mappings: list[str] = field(default_factory=list)


def dumped_models() -> list[type[Model]]:
    """The models a backup carries: every project model plus users, groups and the admin log."""
    found = [m for m in apps.get_models()
             if m.__module__.startswith("crds_server.") and not m._meta.proxy]
    return [apps.get_model(label) for label in _EXTRA_MODELS] + found


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_path() -> Path:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H%M%S")
    return Path(settings.HOME) / "backups" / stamp


def create_backup(output: Path, *, dry_run: bool = False) -> BackupReport:
    """Write a whole backup to `output` (which must not exist yet)."""
    output = Path(output).resolve()
    if output.exists():
        raise BackupError(f"{output} already exists; choose a new directory.")
    report = BackupReport(output)
    if dry_run:
        return _plan(report)
    modes.create_dir(output.parent)  # a backup holds password hashes and session keys: 0700
    temp = output.with_name(f".partial-{output.name}-{os.getpid()}")
    try:
        temp.mkdir(modes.DIR_MODE)
        manifest = _write_contents(temp, report)
        _write_manifest(temp, manifest, report)
        modes.tighten_tree(temp)  # 0700/0600 throughout, even once copied off the machine
        temp.rename(output)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return report


def _plan(report: BackupReport) -> BackupReport:
    """Counts and sizes of what a backup would hold, without writing."""
    report.counts = _counts()
    maps = File.objects.mappings().values_list("size", flat=True)
    report.files = len(maps) + len(_server_files())
    report.bytes = sum(maps)
    return report


def _write_contents(root: Path, report: BackupReport) -> dict[str, Any]:
    """Dump the database and copy the rules in one consistent read; then the rest."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:  # the level can only be set before the transaction's first query
            _snapshot_isolation()
        serializers.register_serializer(exactjson.NAME, "crds_server.ops.exactjson")
        call_command("dumpdata", *[m._meta.label for m in dumped_models()], natural_foreign=True,
                     format=exactjson.NAME, output=str(root / DATABASE), verbosity=0)
        rows = list(File.objects.values_list("name", "type", "size", "sha1sum", "state"))
        manifest = {
            "format": FORMAT,
            "created": datetime.datetime.now(datetime.UTC).isoformat(),
            "observatory": settings.OBSERVATORY,
            "usecase": settings.USECASE,
            "source": settings.PUBLIC_URL,
            "catalog_version": versioning.current(),
            "contexts": {k: contexts.pointer(k) for k in ("latest", "edit", "versions", "build")},
            "counts": _counts(),
            "catalog": {name: {"type": kind, "size": size, "sha1": sha1, "state": state}
                        for name, kind, size, sha1, state in rows},
        }
        _copy_mappings(root, [r for r in rows if r[1] == File.MAPPING], report)
    manifest["deliveries"] = _copy_server_files(root)
    _write_config(root)
    report.counts = manifest["counts"]
    return manifest


def _snapshot_isolation() -> None:
    """On PostgreSQL read every table at one instant (SQLite and InnoDB already do)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _counts() -> dict[str, int]:
    counts = {m._meta.label_lower: m._default_manager.count() for m in dumped_models()}
    counts["mappings"] = File.objects.mappings().count()
    counts["references"] = File.objects.references().count()
    return counts


def _copy_mappings(root: Path, rows: list[tuple], report: BackupReport) -> None:
    target = root / "mappings"
    target.mkdir()
    for name, *_ in rows:
        source = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
        if source.is_file():
            shutil.copyfile(source, target / name)
        else:
            report.missing_mappings.append(name)


def _server_files() -> list[tuple[str, Path]]:
    """(backup folder, path) of every delivery catalog to keep."""
    found = []
    for folder in ("catalogs", "deliveries"):
        base = Path(settings.SERVER_FILES) / folder
        if base.is_dir():
            found += [(folder, p) for p in sorted(base.iterdir())
                      if p.is_file() and not p.name.startswith(".") and p.name.endswith(CATALOG_SUFFIXES)]
    return found


def _copy_server_files(root: Path) -> list[str]:
    """Copy the catalogs; return the listing of the deliveries directory."""
    for folder, path in _server_files():
        (root / folder).mkdir(exist_ok=True)
        shutil.copyfile(path, root / folder / path.name)
    deliveries = Path(settings.SERVER_FILES) / "deliveries"
    if not deliveries.is_dir():
        return []
    return sorted(p.name for p in deliveries.iterdir() if p.is_file() and not p.name.startswith("."))


def _write_config(root: Path) -> None:
    config = root / "config"
    config.mkdir()
    identity = Path(settings.HOME) / "server.json"
    if identity.exists():
        shutil.copyfile(identity, config / "server.json")
    (config / "settings.json").write_text(json.dumps(settings_that_matter(), indent=1) + "\n")
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    (config / "requirements.txt").write_text("".join(p + "\n" for p in packages))


def settings_that_matter() -> dict[str, Any]:
    """The settings an operator needs to rebuild this server, without any secret."""
    db = settings.DATABASES["default"]
    return {
        "OBSERVATORY": settings.OBSERVATORY, "USECASE": settings.USECASE,
        "PUBLIC_URL": settings.PUBLIC_URL, "HOME": str(settings.HOME),
        "DATABASE": {"ENGINE": db["ENGINE"], "NAME": str(db.get("NAME")), "HOST": db.get("HOST", "")},
        "CACHE": settings.CACHES["default"]["BACKEND"],
        "HUEY": settings.HUEY.get("huey_class"), "LOCK_HOURS": settings.LOCK_HOURS,
        "SUBMISSION_EXPIRY_HOURS": settings.SUBMISSION_EXPIRY_HOURS,
        "UPLOAD_MAX_BYTES": settings.UPLOAD_MAX_BYTES, "NOTIFY_LIST": settings.NOTIFY_LIST,
        "EMAIL_BACKEND": settings.EMAIL_BACKEND, "FORCE_REMOTE_MODE": settings.FORCE_REMOTE_MODE,
    }


def _write_manifest(root: Path, manifest: dict[str, Any], report: BackupReport) -> None:
    listing = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            listing[path.relative_to(root).as_posix()] = {"size": path.stat().st_size, "sha1": sha1_of(path)}
    manifest["files"] = listing
    report.files = len(listing)
    report.bytes = sum(entry["size"] for entry in listing.values())
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def verify(root: Path, *, usecase: str | None = None) -> dict[str, Any]:
    """The manifest of the backup at `root`, after checking every file it lists.

    Refuses (BackupError, listing every problem) a directory that is not a
    whole backup, a damaged or truncated file, or a backup of another
    observatory (or of another usecase, when `usecase` is given).
    """
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{root} is not a whole backup: no readable {MANIFEST} ({exc}).") from exc
    problems = _identity_problems(manifest, usecase)
    for name, entry in sorted(manifest.get("files", {}).items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{name} has {path.stat().st_size} bytes, the manifest says {entry['size']}")
        elif sha1_of(path) != entry["sha1"]:
            problems.append(f"{name} does not match its sha1 in the manifest")
    if DATABASE not in manifest.get("files", {}):
        problems.append(f"the manifest lists no {DATABASE}")
    if problems:
        raise BackupError(f"Backup {root} refused: " + "; ".join(problems[:20])
                          + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
    return manifest


def _identity_problems(manifest: dict[str, Any], usecase: str | None) -> list[str]:
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"format {manifest.get('format')!r} is not {FORMAT!r}")
    if manifest.get("observatory") != settings.OBSERVATORY:
        problems.append(f"it is a backup of a {manifest.get('observatory')} server; "
                        f"this server serves {settings.OBSERVATORY}")
    if usecase is not None and manifest.get("usecase") != usecase:
        problems.append(f"it is a backup of a {manifest.get('usecase')} server; this server is {usecase} "
                        f"(use `crds-server mirror` to copy another server)")
    return problems


def write_archive(root: Path, stream) -> None:
    """Write the backup directory `root` to `stream` as a tar.gz (for mirroring)."""
    with tarfile.open(fileobj=stream, mode="w|gz") as archive:
        archive.add(str(root), arcname="backup")


def extract_archive(archive: Path, target: Path) -> Path:
    """Unpack a backup tar.gz into `target`; returns the backup directory."""
    with tarfile.open(archive, mode="r:gz") as tar:
        tar.extractall(target, filter="data")
    root = target / "backup"
    if not root.is_dir():
        raise BackupError(f"{archive} does not hold a backup directory.")
    return root
