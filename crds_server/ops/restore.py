"""Restore a backup: the database, the rules, the delivery catalogs; then make the store agree.

Order of work (nothing changes until the backup has been verified whole):

1. verify the manifest (every file's size and sha1, the observatory, the usecase);
2. enter maintenance mode (every URL answers 503);
3. put the backup's rules into the store (mappings are small; names are immutable);
4. replace the database content: flush and `loaddata` in one transaction, then
   move the catalog version past both the old and the restored value, so every
   process's caches (keyed by the version) are rebuilt;
5. move store files the restored catalog does not know (added since the
   backup) and delivery catalogs it does not know to ``HOME/backups/orphans-<date>/``;
6. put back the delivery catalogs and the deliveries directory listing;
7. drop every context pickle (a restored name may now hold other rules);
8. run the consistency check and leave maintenance only if it passes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction

from crds_server.catalog import loader, versioning
from crds_server.catalog.models import CatalogVersion
from crds_server.lib import maintenance

from . import check
from .backup import CATALOG_SUFFIXES, DATABASE, dumped_models, sha1_of, verify


@dataclass
class RestoreReport:
    """What a restore did (or, with dry_run, would do)."""

    backup: Path
    dry_run: bool
    manifest: dict[str, Any]
    orphans: list[Path] = field(default_factory=list)
    stale_server_files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mappings_placed: int = 0
    version: int = 0
    quarantine: Path | None = None
    check: check.CheckReport | None = None
    left_maintenance: bool = False


def restore(root: Path, *, dry_run: bool = False, usecase: str | None = "",
            staged: dict[str, Path] | None = None, why: str = "restore") -> RestoreReport:
    """Make this server what the backup at `root` recorded.

    `usecase` "" means this server's (a restore); None accepts any (a mirror).
    `staged` are reference files fetched beforehand ({name: path}), moved into
    the store after the database is replaced.
    """
    root = Path(root).resolve()
    manifest = verify(root, usecase=settings.USECASE if usecase == "" else usecase)
    staged = staged or {}
    report = _plan(root, manifest, staged, dry_run)
    if dry_run:
        return report
    before = maintenance.flag_path().read_text() if maintenance.is_on() else None
    maintenance.enter(f"{why} from {root.name}")
    report.mappings_placed = _place_mappings(root, manifest)
    report.version = replace_database(root / DATABASE)
    for name, path in staged.items():
        _place(path, check.store_dir("references") / name, move=True)
    stale = check.find_orphans(set(manifest["catalog"])) + _stale_server_files(root, manifest)
    if stale:
        report.quarantine = check.quarantine(stale)
    _restore_server_files(root, manifest)
    drop_pickles()
    report.check = check.check_store(sha1_sample=10)
    if report.check.ok:
        _lower_flag(before)
        report.left_maintenance = before is None
    return report


def _plan(root: Path, manifest: dict[str, Any], staged: dict[str, Path], dry_run: bool) -> RestoreReport:
    report = RestoreReport(root, dry_run, manifest)
    catalog = manifest["catalog"]
    report.orphans = check.find_orphans(set(catalog))
    report.stale_server_files = _stale_server_files(root, manifest)
    refs = check.store_dir("references")
    report.missing = sorted(n for n, e in catalog.items() if e["type"] == "reference"
                            and n not in staged and not (refs / n).is_file())
    return report


def _lower_flag(before: str | None) -> None:
    """Leave maintenance, or put back the flag an operator had raised before the restore."""
    if before is None:
        maintenance.leave()
    else:
        maintenance.flag_path().write_text(before)


def _place(source: Path, target: Path, move: bool = False) -> None:
    """Put `source` at `target` through a temporary name and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".tmp-restore-{os.getpid()}-{target.name}")
    if move:
        shutil.move(str(source), str(temp))
    else:
        shutil.copyfile(source, temp)
    os.replace(temp, target)


def _place_mappings(root: Path, manifest: dict[str, Any]) -> int:
    """Copy every backed-up mapping whose store copy is missing or differs; returns how many."""
    placed = 0
    store = check.store_dir("mappings")
    for rel, entry in manifest["files"].items():
        if not rel.startswith("mappings/"):
            continue
        target = store / rel.split("/", 1)[1]
        if target.is_file() and target.stat().st_size == entry["size"] and sha1_of(target) == entry["sha1"]:
            continue
        _place(root / rel, target)
        placed += 1
    return placed


def replace_database(dump: Path) -> int:
    """Flush the backed-up tables and load `dump`, in one transaction; returns the new version.

    Only the tables a backup carries (and the sessions) are emptied:
    content types and permissions are rebuilt by migrations and matched by
    natural key.  DELETE-style flushing (no sequence reset) keeps MariaDB's
    TRUNCATE, which would commit, out of the transaction.
    """
    tables = _tables()
    with transaction.atomic():
        old = versioning.current()
        sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=False, allow_cascade=False)
        connection.ops.execute_sql_flush(sql)
        call_command("loaddata", str(dump), verbosity=0)
        restored = versioning.current()
        version = max(old, restored) + 1
        CatalogVersion.objects.update_or_create(pk=1, defaults={"counter": version})
    return version


def _tables() -> list[str]:
    tables = [apps.get_model("sessions.Session")._meta.db_table]
    for model in dumped_models():
        tables.append(model._meta.db_table)
        tables += [f.remote_field.through._meta.db_table for f in model._meta.local_many_to_many
                   if f.remote_field.through._meta.auto_created]
    return sorted(set(tables))


def _server_dir(folder: str) -> Path:
    return Path(settings.SERVER_FILES) / folder


def _stale_server_files(root: Path, manifest: dict[str, Any]) -> list[Path]:
    """Delivery catalogs and delivered files the backup did not have."""
    stale = []
    kept = {"catalogs": {p.name for p in (root / "catalogs").glob("*")},
            "deliveries": set(manifest.get("deliveries", []))}
    for folder, names in kept.items():
        base = _server_dir(folder)
        if base.is_dir():
            stale += [p for p in sorted(base.iterdir()) if p.is_file() and not p.name.startswith(".")
                      and p.name not in names
                      and (folder == "deliveries" or p.name.endswith(CATALOG_SUFFIXES))]
    return stale


def _restore_server_files(root: Path, manifest: dict[str, Any]) -> None:
    """Put back the permanent catalogs and the deliveries directory as it was."""
    for source in sorted((root / "catalogs").glob("*")):
        target = _server_dir("catalogs") / source.name
        if not target.is_file() or sha1_of(target) != sha1_of(source):
            _place(source, target)
    deliveries = _server_dir("deliveries")
    deliveries.mkdir(parents=True, exist_ok=True)
    for name in manifest.get("deliveries", []):
        target = deliveries / name
        if target.exists():
            continue
        source = root / "deliveries" / name
        if not source.is_file():
            kind = "mappings" if name.endswith("map") else "references"
            source = check.store_dir(kind) / name
        if source.is_file():
            _link_or_copy(source, target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def drop_pickles() -> int:
    """Remove every context pickle (rebuilt on demand) and forget loaded mappings."""
    base = Path(settings.FILE_CACHE) / "pickles" / settings.OBSERVATORY
    dropped = 0
    if base.is_dir():
        for path in base.iterdir():
            if path.is_file():
                path.unlink()
                dropped += 1
    loader.forget()
    return dropped
