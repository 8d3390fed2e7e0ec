"""Import a CRDS cache synced from a server (`crds sync`) into the catalog and the file store.

Faithful: besides every mapping and reference it takes what the cache's
``config/<obs>/`` records of its server (`cache_state`): the context history,
the latest, edit, versions and build contexts, the bad files, and, with a
``crds_db.sqlite3``, the server's own catalog records.  Without a
``server_config`` it imports the files alone, makes the highest (or the
given) context latest and edit, and says so.

Everything is checked before anything changes:

- every mapping's embedded sha1sum (with the `crds` library);
- every file a mapping names is in the cache or already catalogued;
- every file has the size and sha1sum its server listed (``download_metadata``);
- a name already catalogued has the same bytes (CRDS files never change);
- a sync older than one imported before is refused (it would move contexts back).

Files are then hard-linked (or copied) into the store through a temporary
name and a rename, and rows, flags, pointers and history are written in one
transaction.  Importing again adds only what is new (files, history eras, bad
flags) and never rewrites a catalogued file's row or bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crds.core import config as crds_config
from crds.core import utils
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crds_server.replica.guard import refuse_if_replica

from . import activation, adopting, badfiles, bulk, cache_state, import_rows, versioning
from .errors import ImportRefused
from .models import AuditEntry, CacheImport, ContextHistory, File

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
REPAIR = "crds sync --check-files --check-sha1sum --repair-files"


@dataclass
class ImportReport:
    """What one import did, and what the operator should know about it."""

    mappings_added: int = 0
    references_added: int = 0
    already_present: int = 0
    context: str = ""
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    layout: str = ""
    history_added: int = 0
    flags_added: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_cache(
    cache_dir: Path, *, context: str | None = None, user: str = "import-cache",
    progress: bool = False,
) -> ImportReport:
    """Catalog every mapping and reference of the cache at `cache_dir`, with its server's state."""
    refuse_if_replica(ImportRefused)  # a replica's catalog is its source's, whole
    start = time.monotonic()
    obs = settings.OBSERVATORY
    cache, report = Path(cache_dir), ImportReport()
    state = cache_state.read(cache, obs)
    _refuse_older_sync(state)
    mappings = _scan(cache / "mappings" / obs, report, mapping=True)
    references = _scan(cache / "references" / obs, report, mapping=False)
    if not mappings:
        raise ImportRefused(f"No {obs} mappings under {cache / 'mappings' / obs}.")
    report.layout = _layout(state, cache / "references" / obs)
    parsed = _check_mappings(mappings)  # each mapping parsed once, here
    children = {name: badfiles.children_of(mapping, name) for name, mapping in parsed.items()}
    known = dict(File.objects.values_list("name", "sha1sum"))
    _refuse_incomplete(children, set(mappings) | set(references) | set(known))
    pointers = _pointers(state, context, set(mappings) | {n for n in known if crds_config.is_mapping(n)},
                         mappings, report)
    sourced = state.catalog or {}
    map_rows = [import_rows.mapping_row(name, path, parsed[name], sourced.get(name))
                for name, path in _bar(mappings.items(), progress, "mappings")]
    _refuse_unlisted_bytes(map_rows, state)
    new_maps = _refuse_conflicts(map_rows, known, report)
    _place_all(new_maps, mappings, "mappings")
    rules = import_rows.rules_metadata(map_rows, parsed)
    ref_rows = [import_rows.reference_row(name, path, rules, sourced.get(name))
                for name, path in _bar(references.items(), progress, "references")]
    _refuse_unlisted_bytes(ref_rows, state)
    new_refs = _refuse_conflicts(ref_rows, known, report)
    _place_all(new_refs, references, "references")
    _commit(new_maps, new_refs, pointers, state, children, str(cache), user, report)
    report.seconds = time.monotonic() - start
    return report


def _refuse_older_sync(state: cache_state.CacheState) -> None:
    if not state.found or state.last_synced is None:
        return
    newer = CacheImport.objects.filter(server=state.server, last_synced__gt=state.last_synced).first()
    if newer is not None:
        raise ImportRefused(
            f"This cache was synced from {state.server or 'its server'} at "
            f"{state.last_synced:%Y-%m-%d %H:%M:%S}, "
            f"before the cache imported on {newer.date:%Y-%m-%d %H:%M:%S} (synced "
            f"{newer.last_synced:%Y-%m-%d %H:%M:%S}): importing it would move the contexts back. "
            f"Import a newer sync.")


def _layout(state: cache_state.CacheState, references: Path) -> str:
    """How the cache keeps its references: flat, or per instrument (references/<obs>/<instr>/)."""
    nested = False
    if references.is_dir():
        with os.scandir(references) as entries:
            nested = any(e.is_dir(follow_symlinks=False) for e in entries)
    found = "instrument" if nested else "flat"
    return state.subdir_mode or found


def _bar(items: Any, progress: bool, what: str) -> Any:
    """A progress bar over `items` when asked for (commands), else the items."""
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit=" files", leave=True)


def _scan(root: Path, report: ImportReport, mapping: bool) -> dict[str, Path]:
    """{basename: path} of the CRDS files under `root` (instrument subdirectories too).

    Directory entries say which are links and directories, so no file is stat'ed here.
    """
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    _scan_dir(str(root), found, report, mapping)
    return found


def _scan_dir(top: str, found: dict[str, Path], report: ImportReport, mapping: bool) -> None:
    """A directory's files in listing order, then its subdirectories (not linked ones), as os.walk."""
    with os.scandir(top) as listing:
        entries = list(listing)
    subdirs = []
    for entry in entries:
        if entry.is_dir():
            if not entry.is_symlink():
                subdirs.append(entry.path)
            continue
        _scanned(entry, found, report, mapping)
    for subdir in subdirs:
        _scan_dir(subdir, found, report, mapping)


def _scanned(entry: os.DirEntry, found: dict[str, Path], report: ImportReport, mapping: bool) -> None:
    name, path = entry.name, Path(entry.path)
    wanted = crds_config.is_mapping(name) if mapping else crds_config.is_reference(name)
    if not NAME_RE.match(name) or not wanted or entry.is_symlink() and not path.exists():
        report.skipped.append(str(path))
        return
    if name in found and not _same_bytes(found[name], path):
        raise ImportRefused(f"{name} is in the cache twice with different contents: "
                            f"{found[name]} and {path}.")
    found.setdefault(name, path)


def _same_bytes(one: Path, other: Path) -> bool:
    return one.stat().st_size == other.stat().st_size and \
        utils.checksum(str(one)) == utils.checksum(str(other))


def _highest_pmap(mappings: dict[str, Path]) -> str:
    pmaps = sorted(n for n in mappings if n.endswith(".pmap"))
    if not pmaps:
        raise ImportRefused("The cache holds no .pmap context.")
    return max(pmaps, key=lambda n: (int(m.group(1)) if (m := re.search(r"_(\d+)\.pmap$", n)) else -1, n))


def _refuse_conflicts(rows: list[File], known: dict[str, str], report: ImportReport) -> list[File]:
    """Rows not yet catalogued; a name catalogued with other bytes stops the import."""
    conflicts = [r.name for r in rows if r.name in known and known[r.name] != r.sha1sum]
    if conflicts:
        raise ImportRefused(
            f"{len(conflicts)} files are already catalogued with different contents, "
            f"e.g. {conflicts[:5]}; CRDS files never change once catalogued."
        )
    new = [r for r in rows if r.name not in known]
    report.already_present += len(rows) - len(new)
    return new


def _place_all(rows: list[File], paths: dict[str, Path], sub: str) -> None:
    target_dir = settings.FILE_CACHE / sub / settings.OBSERVATORY
    target_dir.mkdir(parents=True, exist_ok=True)
    for row in rows:
        place_file(paths[row.name], target_dir / row.name)


def place_file(source: Path, target: Path) -> None:
    """Put `source` at `target` atomically: hard link if possible, else copy; temp + rename.

    A new name is linked in place at once (a link appears whole, and refuses an existing name).
    """
    try:
        os.link(source, target)
        return
    except OSError:
        pass  # there already, or another file system: the careful way
    if target.exists() and target.stat().st_size == source.stat().st_size:
        if utils.checksum(str(target)) == utils.checksum(str(source)):
            return
    temp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, target)




def _check_mappings(mappings: dict[str, Path]) -> dict[str, Any]:
    """{name: the mapping parsed by the library}, every checksum and syntax checked."""
    bad, parsed = [], {}
    for name, path in mappings.items():
        try:
            parsed[name] = badfiles.read_mapping(path, check=True)
        except Exception as exc:
            bad.append(f"{name}: {exc}")
    if bad:
        raise ImportRefused("Mappings failed their checksum or syntax check: " + "; ".join(bad))
    return parsed


def _refuse_incomplete(children: dict[str, set[str]], present: set[str]) -> None:
    """A mapping naming a file that is neither in the cache nor catalogued stops the import.

    A GEIS header (.rNh) needs its data file (.rNd) too: clients fetch both.
    """
    missing: dict[str, str] = {}
    for mapping, names in sorted(children.items()):
        for name in sorted(names):
            wanted = [name] + ([name[:-1] + "d"] if import_rows.GEIS_HEADER_RE.search(name) else [])
            for file in wanted:
                if file not in present:
                    missing.setdefault(file, mapping)
    if missing:
        shown = "; ".join(f"{file} (named by {mapping})" for file, mapping in list(missing.items())[:10])
        raise ImportRefused(
            f"{len(missing)} files named by the cache's mappings are neither in the cache nor "
            f"catalogued: {shown}{'; ...' if len(missing) > 10 else ''}. Sync every file of the "
            f"contexts first (crds sync --all --fetch-references), then import again.")


def _pointers(state: cache_state.CacheState, context: str | None, available: set[str],
              mappings: dict[str, Path], report: ImportReport) -> dict[str, str]:
    """latest, edit, versions and build: the given context, else the cache's, else the highest."""
    latest = context or state.pointers.get("latest") or _highest_pmap(mappings)
    if latest not in available:
        raise ImportRefused(f"Context '{latest}' is neither in the cache nor in the catalog.")
    found = {"latest": latest, "edit": latest, "versions": "", "build": ""}
    if not state.found:
        report.notes.append(
            f"The cache has no config/{settings.OBSERVATORY}/server_config (written by crds sync): "
            f"only its files were imported, with no context history, bad files or build context; "
            f"{latest} was made latest and edit.")
        return found
    if context:
        report.notes.append(f"{context} was made latest and edit as asked, not the cache's "
                            f"latest context {state.pointers.get('latest') or '(none)'}.")
    wanted = {kind: state.pointers.get(kind, "") for kind in ("edit", "versions")} if not context else {}
    wanted["build"] = state.build
    for kind, name in wanted.items():
        if name and name in available:
            found[kind] = name
        elif name:
            then = "edit was set to latest." if kind == "edit" else f"no {kind} context set."
            report.notes.append(f"The cache's {kind} context {name} is not in the cache: {then}")
    return found


def _refuse_unlisted_bytes(rows: list[File], state: cache_state.CacheState) -> None:
    """Every file must have the size and sha1sum its server listed when the cache was synced."""
    wrong = [row.name for row in rows if row.name in state.metadata
             and (row.size != state.metadata[row.name][0]
                  or state.metadata[row.name][1] not in ("", row.sha1sum))]
    if wrong:
        raise ImportRefused(
            f"{len(wrong)} files of the cache are not the bytes {state.server or 'its server'} "
            f"listed (size or sha1sum), e.g. {wrong[:5]}: the cache is damaged; repair it with "
            f"`{REPAIR}`, then import again.")


def _commit(maps: list[File], refs: list[File], pointers: dict[str, str], state: cache_state.CacheState,
            children: dict[str, set[str]], cache: str, user: str, report: ImportReport) -> None:
    latest = pointers["latest"]
    with transaction.atomic():
        bulk.insert_rows(File, maps + refs)
        report.mappings_added, report.references_added = len(maps), len(refs)
        report.context = latest
        report.flags_added = _flag_bad(state, report)
        eras = adopting.add_history(state.history, user)
        report.history_added = len(eras)
        if state.catalog is None:  # dates as the source's set-contexts gave them
            _replay(eras, children, report)
        report.moved = adopting.move_pointers({k: pointers[k] for k in ("latest", "edit", "versions")})
        if pointers["build"]:
            report.moved += adopting.set_builds({adopting.UNKNOWN_CALVER: pointers["build"]}, replace=False)
        _make_latest(latest, user, children)
        summary = (f"{len(maps)} mappings and {len(refs)} references added, {len(eras)} history eras, "
                   f"{len(report.flags_added)} files flagged bad; "
                   + (", ".join(report.moved) or "no pointer moved"))
        CacheImport.objects.create(user=user, cache_dir=cache[:1024], server=state.server,
                                   last_synced=state.last_synced, latest_context=latest, summary=summary)
        AuditEntry.objects.create(user=user, action="import cache", filename=latest, details=summary)
        versioning.bump()


def _flag_bad(state: cache_state.CacheState, report: ImportReport) -> list[str]:
    """Flag the files the cache lists as bad that are clean here; never clear a flag.

    Without the source's records the kind is inferred as this server marks
    them (`badfiles`): a reference is rejected; a mapping naming another bad
    file is blacklisted by spreading; any other bad mapping is a blacklist root
    (both flags).
    """
    rows = {row.name: row for row in File.objects.filter(name__in=sorted(state.bad))}
    flagged = []
    for name, row in sorted(rows.items()):
        if row.is_bad():
            continue
        if row.is_mapping():
            spread = bool(badfiles.children_at(row.store_path()) & state.bad)
            flags = {"rejected": not spread, "blacklisted": True}
        else:
            flags = {"rejected": True, "blacklisted": False}
        # Conditional: a mark-bad made meanwhile is never overwritten by the inferred kind.
        if File.objects.filter(pk=row.pk, rejected=False, blacklisted=False).update(**flags) == 1:
            flagged.append(name)
    if len(rows) < len(state.bad):
        report.notes.append(f"{len(state.bad) - len(rows)} bad files of the cache's list are not in the "
                            f"cache, e.g. {sorted(state.bad - set(rows))[:5]}: not catalogued.")
    if state.found:
        here = set(File.objects.bad().values_list("name", flat=True)) - state.bad
        if here:
            report.notes.append(f"{len(here)} files are bad here but not in the cache's bad list, e.g. "
                                f"{sorted(here)[:5]}: left bad (mark them OK if their server did).")
    return flagged


def _replay(eras: list[adopting.Era], children: dict[str, set[str]], report: ImportReport) -> None:
    """Each new era's context made latest at its date, oldest first, as the source's set-contexts did.

    Closures come from the mapping graph read at the checks (no context is
    loaded: a real history names hundreds of contexts).
    """
    catalogued = set(File.objects.filter(name__in=[c for _, c, _ in eras]).values_list("name", flat=True))
    for date, context, _ in eras:
        if context in catalogued:
            activation.activate(context, _closure(context, children), date)
    absent = sorted({c for _, c, _ in eras} - catalogued)
    if absent:
        report.notes.append(f"The context history names {len(absent)} contexts the cache does not hold, "
                            f"e.g. {absent[:5]}: dates in their eras resolve to contexts this server "
                            f"cannot serve.")


def _closure(pmap: str, children: dict[str, set[str]]) -> set[str]:
    """Every file `pmap` names, itself included: the cache's mappings, else the store's."""
    found, todo = set(), [pmap]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        if crds_config.is_mapping(name):
            kids = children.get(name)
            if kids is None:
                kids = badfiles.children_at(settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name)
            todo.extend(kids)
    return found


def _make_latest(latest: str, user: str, children: dict[str, set[str]]) -> None:
    """`latest` is the one latest row with its files dated; a history era of its own if the
    history does not end with it (no history, or a context other than the cache's).

    Its files come from the mapping graph read at the checks: the context is not loaded again.
    """
    newest = ContextHistory.objects.order_by("-start_date", "-id").first()
    when = newest.start_date if newest is not None and newest.context == latest else timezone.now()
    if newest is None or newest.context != latest:
        ContextHistory.objects.create(start_date=when, context=latest, user=user,
                                      description=f"Imported from a CRDS cache by {user}.")
    activation.activate(latest, _closure(latest, children), when)
