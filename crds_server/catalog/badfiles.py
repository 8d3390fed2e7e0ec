"""Bad files: which catalogued mappings contain a file, and what marking it bad or OK changes.

A file marked bad directly is *rejected*.  A blacklist is transitive: the
file and every mapping whose closure contains it are *blacklisted*.  A
directly blacklisted file carries both flags, which is how a blacklist's
root is told apart from a mapping blacklisted only by spreading; marking a
root OK clears every mapping that no other root still taints.

The upward walk parses only each candidate mapping's own header and
selector (an .rmap's references, an .imap's rmaps, a .pmap's imaps) level by
level, so it never loads whole contexts nor disturbs the loaded-context
cache: a file's candidates are the .rmaps and .imaps of its instrument,
then every .pmap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crds.core import config as crds_config
from crds.core import rmap
from django.conf import settings
from django.db.models import Q

from . import contexts, loader
from .errors import BadContextError, FileInUseError, UnknownFileError
from .models import File

log = logging.getLogger(__name__)
KINDS = ("rejected", "blacklisted")
LEVELS = (".rmap", ".imap", ".pmap")


@dataclass
class BadPlan:
    """What marking files bad (or OK) changes: names per flag, parents after children."""

    rejected: list[str] = field(default_factory=list)
    blacklisted: list[str] = field(default_factory=list)
    spread: list[str] = field(default_factory=list)  # blacklisted only because they contain a root

    def names(self) -> list[str]:
        return sorted(set(self.rejected) | set(self.blacklisted))


def require_files(names: Iterable[str]) -> list[File]:
    """The catalog rows of `names`, in the order given; UnknownFileError for any missing."""
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if not wanted:
        raise BadContextError("Name at least one file.")
    rows = {row.name: row for row in File.objects.filter(name__in=wanted)}
    missing = [n for n in wanted if n not in rows]
    if missing:
        raise UnknownFileError(f"Unknown file(s): {', '.join(missing)}.")
    return [rows[n] for n in wanted]


def default_kind(row: File) -> str:
    """References are rejected; mappings are blacklisted (contract §6.3)."""
    return "blacklisted" if row.is_mapping() else "rejected"


def plan_bad(names: Iterable[str], kind: str | None = None) -> BadPlan:
    """What marking `names` bad would flag; `kind` None picks per file (see default_kind)."""
    if kind not in (None, *KINDS):
        raise BadContextError(f"Unknown kind '{kind}'; use one of {', '.join(KINDS)}.")
    rows, plan, kids = require_files(names), BadPlan(), _children_reader()
    for row in rows:
        plan.rejected.append(row.name)
        if (kind or default_kind(row)) == "blacklisted":
            plan.blacklisted.append(row.name)
            plan.spread.extend(p for p in containing(row, kids) if p not in plan.spread)
    plan.spread = [n for n in plan.spread if n not in plan.blacklisted]
    plan.blacklisted += plan.spread
    return plan


def plan_ok(names: Iterable[str]) -> BadPlan:
    """What marking `names` OK would clear: their flags, and every mapping they alone tainted."""
    rows, kids = require_files(names), _children_reader()
    parents: list[File] = []
    for row in rows:
        parents.extend(p for p in _containing_rows(row, kids) if p not in parents)
    cleared = {row.name for row in rows}
    nearby = {p.name for p in parents} | {child for p in parents for child in kids(p.name)}
    flagged = File.objects.filter(name__in=nearby, blacklisted=True)
    blacklisted = set(flagged.values_list("name", flat=True)) - cleared
    roots = set(flagged.filter(rejected=True).values_list("name", flat=True)) - cleared
    plan = BadPlan(rejected=[r.name for r in rows if r.rejected],
                   blacklisted=[r.name for r in rows if r.blacklisted])
    for parent in sorted(parents, key=lambda p: _level(p.name)):
        if parent.name in blacklisted and parent.name not in roots and not kids(parent.name) & blacklisted:
            blacklisted.discard(parent.name)
            plan.spread.append(parent.name)
    plan.blacklisted += plan.spread
    return plan


def in_latest(names: Iterable[str]) -> list[str]:
    """Those of `names` in the closure of the latest context (which must stay clean)."""
    latest = contexts.pointer("latest")
    if not latest:
        return []
    context = loader.get_mapping(latest)
    closure = set(context.mapping_names()) | set(context.reference_names())
    return sorted(n for n in names if n in closure)


def refuse_latest(plan: BadPlan) -> None:
    """FileInUseError if marking `plan` bad would taint the latest context."""
    used = in_latest(plan.names())
    if used:
        raise FileInUseError(
            f"{', '.join(used)} {'is' if len(used) == 1 else 'are'} in the latest context "
            f"{contexts.pointer('latest')}: make a context without {'it' if len(used) == 1 else 'them'} "
            f"latest first, or force.")


def containing(row: File, kids: Callable[[str], set[str]] | None = None) -> list[str]:
    """Every catalogued mapping whose closure contains `row`, children before parents."""
    return [p.name for p in _containing_rows(row, kids or _children_reader())]


def _containing_rows(row: File, kids: Callable[[str], set[str]]) -> list[File]:
    tainted, found = {row.name}, []
    for suffix in _levels_above(row.name):
        for candidate in _candidates(suffix, row.instrument):
            if kids(candidate.name) & tainted:
                tainted.add(candidate.name)
                found.append(candidate)
    return found


def _levels_above(name: str) -> tuple[str, ...]:
    if not crds_config.is_mapping(name):
        return LEVELS
    return LEVELS[LEVELS.index("." + name.rsplit(".", 1)[-1]) + 1:]


def _candidates(suffix: str, instrument: str) -> list[File]:
    rows = File.objects.filter(type=File.MAPPING, name__endswith=suffix)
    if suffix != ".pmap" and instrument:
        rows = rows.filter(Q(instrument=instrument) | Q(instrument=""))
    return list(rows.only("name", "rejected", "blacklisted").order_by("name"))


def _level(name: str) -> int:
    return LEVELS.index("." + name.rsplit(".", 1)[-1]) if crds_config.is_mapping(name) else -1


def _children_reader() -> Callable[[str], set[str]]:
    """kids(name): the files a mapping names directly, each mapping parsed once per plan."""
    seen: dict[str, set[str]] = {}

    def kids(name: str) -> set[str]:
        if name not in seen:
            seen[name] = _children(name)
        return seen[name]

    return kids


def _children(name: str) -> set[str]:
    path = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
    try:
        return children_at(path)
    except Exception:  # a mapping missing from the store cannot contain anything we can see
        log.warning("cannot read mapping %s to spread a blacklist", name, exc_info=True)
        return set()


def children_at(path: Path, check: bool = False) -> set[str]:
    """The files the mapping at `path` names directly (see `children_of`); with `check`, its
    embedded sha1sum is checked too.  The library's exceptions pass through."""
    return children_of(read_mapping(path, check), path.name)


def read_mapping(path: Path, check: bool = False) -> rmap.Mapping:
    """The mapping at `path` parsed alone, by the library (an .rmap as a ReferenceMapping)."""
    kind = rmap.ReferenceMapping if path.name.endswith(".rmap") else rmap.Mapping
    return kind.from_file(str(path), ignore_checksum=not check)


def children_of(mapping: rmap.Mapping, name: str) -> set[str]:
    """The files a parsed mapping names directly: an .rmap's references, an .imap's rmaps,
    a .pmap's imaps (N/A and OMIT left out)."""
    if name.endswith(".rmap"):
        names = (set(mapping.reference_names()) | set(mapping.mapping_names())) - {name}
        return {n for n in names if n.upper() not in ("N/A", "OMIT")}
    # Keys are case-insensitive and the last spelling wins, as when the library loads it.
    selections = {str(key).lower(): value for key, value in mapping.selector.items()}
    return {value for value in selections.values()
            if isinstance(value, str) and value.upper() not in ("N/A", "OMIT")}
