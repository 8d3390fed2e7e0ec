"""Consistency of the catalog and the file store (read-only unless asked to repair).

- every catalogued distributable file is in the store with its catalogued
  size, and a sample of them has its catalogued sha1;
- no file in the store is unknown to the catalog (an orphan);
- the latest and edit contexts, and every mapping they include, are
  catalogued and present.

Repair moves orphans to ``HOME/backups/orphans-<date>/`` (never deletes);
everything else needs an operator and is reported as such.
"""

from __future__ import annotations

import datetime
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from crds.core import config as crds_config
from crds.core import rmap
from django.conf import settings

from crds_server.catalog import contexts
from crds_server.catalog.models import File

from .backup import sha1_of

STORE_KINDS = ("mappings", "references")


@dataclass
class CheckReport:
    """What a check found (and, with repair, where the orphans went)."""

    checked: int = 0
    sampled: int = 0
    missing: list[str] = field(default_factory=list)
    wrong_size: list[str] = field(default_factory=list)
    wrong_sha1: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    context_problems: list[str] = field(default_factory=list)
    quarantine: Path | None = None

    @property
    def ok(self) -> bool:
        orphans_left = self.orphans and self.quarantine is None
        return not (self.missing or self.wrong_size or self.wrong_sha1 or orphans_left
                    or self.context_problems)

    def lines(self) -> list[str]:
        """One line per problem, then a summary."""
        out = [f"missing: {n}" for n in self.missing]
        out += [f"wrong size: {n}" for n in self.wrong_size]
        out += [f"wrong sha1: {n}" for n in self.wrong_sha1]
        moved = f" (moved to {self.quarantine})" if self.quarantine else ""
        out += [f"orphan: {p}{moved}" for p in self.orphans]
        out += [f"context: {p}" for p in self.context_problems]
        state = "consistent" if self.ok else "NOT consistent"
        out.append(f"{self.checked} catalogued files checked ({self.sampled} by sha1); "
                   f"{len(self.orphans)} orphans; the catalog and the store are {state}.")
        return out


def store_dir(kind: str) -> Path:
    return Path(settings.FILE_CACHE) / kind / settings.OBSERVATORY


def check_store(sha1_sample: int = 10) -> CheckReport:
    """Compare the catalog with the store; change nothing."""
    report = CheckReport()
    rows = list(File.objects.distributable().filter(observatory=settings.OBSERVATORY)
                .values_list("name", "type", "size", "sha1sum"))
    present = []
    for name, kind, size, sha1 in rows:
        path = store_dir("mappings" if kind == File.MAPPING else "references") / name
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            report.missing.append(name)
            continue
        if actual != size:
            report.wrong_size.append(f"{name} ({actual} bytes, catalogued {size})")
        elif sha1:
            present.append((name, path, sha1))
    report.checked = len(rows)
    for name, path, sha1 in random.sample(present, min(max(sha1_sample, 0), len(present))):
        report.sampled += 1
        if sha1_of(path) != sha1:
            report.wrong_sha1.append(name)
    report.orphans = find_orphans(set(File.objects.values_list("name", flat=True)))
    report.context_problems = context_problems()
    return report


def find_orphans(catalogued: set[str]) -> list[Path]:
    """Files in the store whose names `catalogued` does not hold (temporary dot-files aside)."""
    found = []
    for kind in STORE_KINDS:
        base = store_dir(kind)
        if base.is_dir():
            found += [p for p in sorted(base.iterdir())
                      if p.is_file() and not p.name.startswith(".") and p.name not in catalogued]
    return found


def context_problems() -> list[str]:
    """Missing or uncatalogued mappings of the latest and edit contexts."""
    problems: list[str] = []
    catalogued = set(File.objects.mappings().values_list("name", flat=True))
    for kind in ("latest", "edit"):
        name = contexts.pointer(kind)
        if not name:
            continue
        for missing in _missing_mappings(name, catalogued):
            problems.append(f"{kind} context {name} needs {missing}")
    return sorted(set(problems))


def _missing_mappings(top: str, catalogued: set[str]) -> list[str]:
    """Mappings under `top` (itself included) not catalogued or not in the store."""
    missing, todo, seen = [], [top], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = store_dir("mappings") / name
        if name not in catalogued or not path.is_file():
            missing.append(f"{name} ({'not in the store' if name in catalogued else 'not catalogued'})")
            continue
        if name.endswith((".pmap", ".imap")):
            try:
                mapping = rmap.Mapping.from_file(str(path), ignore_checksum=True)
            except Exception as exc:
                missing.append(f"{name} (unreadable: {exc})")
                continue
            todo += [v for v in mapping.selector.values() if isinstance(v, str) and crds_config.is_mapping(v)]
    return missing


def quarantine(paths: list[Path]) -> Path:
    """Move `paths` into ``HOME/backups/orphans-<date>/<mappings|references|catalogs|...>/``.

    Never deletes: an operator can put a file back by hand.
    """
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d-%H%M%S")
    target = Path(settings.HOME) / "backups" / f"orphans-{stamp}"
    for path in paths:
        in_store = path.parent.parent.name in STORE_KINDS and path.parent.name == settings.OBSERVATORY
        folder = target / (path.parent.parent.name if in_store else path.parent.name)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(folder / path.name))
    return target


def repair(report: CheckReport) -> CheckReport:
    """Quarantine the orphans of `report`; the other problems are left for an operator."""
    if report.orphans:
        report.quarantine = quarantine(report.orphans)
    return report
