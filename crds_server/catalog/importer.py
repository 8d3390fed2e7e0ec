"""Import a standard CRDS cache into the catalog and the file store.

Everything is checked before anything changes: every mapping's embedded
sha1sum (with the `crds` library), and every name already catalogued must
have the same bytes.  Files are then hard-linked (or copied) into the
store through a temporary name and a rename, and the rows are written in
one transaction.  Running it twice changes nothing the second time.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.io import fits
from crds import data_file
from crds.core import config as crds_config
from crds.core import rmap, utils
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import activation, versioning
from .errors import ImportRefused
from .models import AuditEntry, ContextHistory, ContextPointer, File

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
GEIS_HEADER_RE = re.compile(r"\.r\dh$")
GEIS_DATA_RE = re.compile(r"\.r\dd$")


@dataclass
class ImportReport:
    """What one import did."""

    mappings_added: int = 0
    references_added: int = 0
    already_present: int = 0
    context: str = ""
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def import_cache(
    cache_dir: Path, *, context: str | None = None, user: str = "import-cache",
    progress: bool = False,
) -> ImportReport:
    """Catalog every mapping and reference of the cache at `cache_dir`."""
    start = time.monotonic()
    obs = settings.OBSERVATORY
    report = ImportReport()
    mappings = _scan(Path(cache_dir) / "mappings" / obs, report, mapping=True)
    references = _scan(Path(cache_dir) / "references" / obs, report, mapping=False)
    if not mappings:
        raise ImportRefused(f"No {obs} mappings under {Path(cache_dir) / 'mappings' / obs}.")
    _check_mapping_checksums(mappings)
    target = context or _highest_pmap(mappings)
    if target not in mappings and not File.objects.filter(name=target).exists():
        raise ImportRefused(f"Context '{target}' is neither in the cache nor in the catalog.")
    known = dict(File.objects.values_list("name", "sha1sum"))
    map_rows = [_mapping_row(name, path) for name, path in _bar(mappings.items(), progress, "mappings")]
    new_maps = _refuse_conflicts(map_rows, known, report)
    _place_all(new_maps, mappings, "mappings")
    rules = _rules_metadata(new_maps + [r for r in map_rows if r.name in known])
    ref_rows = [
        _reference_row(name, path, rules)
        for name, path in _bar(references.items(), progress, "references")
    ]
    new_refs = _refuse_conflicts(ref_rows, known, report)
    _place_all(new_refs, references, "references")
    _commit(new_maps, new_refs, target, user, report)
    report.seconds = time.monotonic() - start
    return report


def _bar(items: Any, progress: bool, what: str) -> Any:
    """A progress bar over `items` when asked for (commands), else the items."""
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit=" files", leave=True)


def _scan(root: Path, report: ImportReport, mapping: bool) -> dict[str, Path]:
    """{basename: path} of the CRDS files under `root` (instrument subdirectories too)."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            wanted = crds_config.is_mapping(name) if mapping else crds_config.is_reference(name)
            if not NAME_RE.match(name) or not wanted or path.is_symlink() and not path.exists():
                report.skipped.append(str(path))
                continue
            found.setdefault(name, path)
    return found


def _check_mapping_checksums(mappings: dict[str, Path]) -> None:
    bad = []
    for name, path in mappings.items():
        try:
            rmap.Mapping.from_file(str(path))
        except Exception as exc:
            bad.append(f"{name}: {exc}")
    if bad:
        raise ImportRefused("Mappings failed their checksum or syntax check: " + "; ".join(bad))


def _highest_pmap(mappings: dict[str, Path]) -> str:
    pmaps = sorted(n for n in mappings if n.endswith(".pmap"))
    if not pmaps:
        raise ImportRefused("The cache holds no .pmap context.")
    return max(pmaps, key=lambda n: (int(m.group(1)) if (m := re.search(r"_(\d+)\.pmap$", n)) else -1, n))


def _mapping_row(name: str, path: Path) -> File:
    header = rmap.Mapping.from_file(str(path), ignore_checksum=True).header
    return _new_row(
        name, path, File.MAPPING,
        instrument=str(header.get("instrument", "")).lower() if name.endswith((".imap", ".rmap")) else "",
        filekind=str(header.get("filekind", "")).lower() if name.endswith(".rmap") else "",
        derived_from=str(header.get("derived_from", ""))[:128],
        description=str(header.get("description", "")),
    )


def _new_row(name: str, path: Path, kind: str, **fields: Any) -> File:
    stat = path.stat()
    return File(
        name=name, type=kind, observatory=settings.OBSERVATORY, state="archived",
        size=stat.st_size, sha1sum=utils.checksum(str(path)), uploaded_as=name,
        delivery_date=datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC),
        **fields,
    )


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
    """Put `source` at `target` atomically: hard link if possible, else copy; temp + rename."""
    if target.exists() and target.stat().st_size == source.stat().st_size:
        if utils.checksum(str(target)) == utils.checksum(str(source)):
            return
    temp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, target)


def _rules_metadata(mapping_rows: Iterable[File]) -> dict[str, tuple[str, str, str]]:
    """{reference: (instrument, filekind, earliest useafter)} from the imported rmaps.

    Walks the library's own nested form of each selector (`Selector.todict`), so
    every shape it parses is read alike: Match -> UseAfter, Match -> N/A or OMIT
    (rows without a date column), plain UseAfter, ClosestTime, VersionAfter,
    SelectVersion, Bracket, GeometricallyNearest and any nesting of them.
    """
    found: dict[str, tuple[str, str, str]] = {}
    for row in mapping_rows:
        if not row.name.endswith(".rmap"):
            continue
        selector = rmap.load_mapping(row.name).selector
        for ref, useafter in _selected_files(selector.todict(), ""):
            old = found.get(ref)
            if old is None or (useafter and (not old[2] or useafter < old[2])):
                found[ref] = (row.instrument, row.filekind, useafter)
    return found


def _selected_files(node: Any, useafter: str) -> Iterable[tuple[str, str]]:
    """(reference, useafter date on its path or "") for every file a selector tree names."""
    if isinstance(node, dict) and "selections" in node:
        dated = tuple(node.get("parameters") or ()) == ("USEAFTER",)  # UseAfter, ClosestTime
        for key, choice in node["selections"]:
            date = str(key[0] if isinstance(key, (tuple, list)) else key) if dated else useafter
            yield from _selected_files(choice, date)
    elif isinstance(node, (tuple, list)):  # a choice naming several files
        for item in node:
            yield from _selected_files(item, useafter)
    elif isinstance(node, str) and node.upper() not in ("N/A", "OMIT") and crds_config.is_reference(node):
        yield node, useafter


def _reference_row(name: str, path: Path, rules: dict[str, tuple[str, str, str]]) -> File:
    header = _read_header(path)
    partner = GEIS_DATA_RE.sub(lambda m: m.group(0)[:-1] + "h", name)
    instrument, filekind, useafter = rules.get(name) or rules.get(partner) or _properties(path)
    return _new_row(
        name, path, File.REFERENCE, instrument=instrument, filekind=filekind,
        useafter_date=_parse_useafter(useafter or header.get("USEAFTER", "")),
        pedigree=str(header.get("PEDIGREE", ""))[:128],
        description=str(header.get("DESCRIP", "")),
        reference_file_type=filekind,
    )


def _read_header(path: Path) -> dict[str, Any]:
    """The header keywords of a reference, or {} if it cannot be read.

    FITS and GEIS headers are read with astropy (a fraction of a millisecond
    each); ASDF, JSON and YAML references carry a ``meta`` tree, read without
    building data models, whose keys are given their FITS-like names.
    """
    name = path.name
    try:
        if name.endswith(".fits"):
            return dict(fits.getheader(str(path)))
        if GEIS_HEADER_RE.search(name):
            with warnings.catch_warnings():  # GEIS cards are not all valid FITS
                warnings.simplefilter("ignore")
                return dict(fits.Header.fromstring(path.read_bytes().decode("ascii", "replace")))
        if name.endswith((".asdf", ".json", ".yaml")):
            return _meta_keywords(_load_tree(path).get("meta", {}))
        if GEIS_DATA_RE.search(name):
            return {}
        return dict(data_file.get_free_header(str(path), observatory=settings.OBSERVATORY))
    except Exception:
        return {}


def _load_tree(path: Path) -> dict[str, Any]:
    if path.name.endswith(".asdf"):
        import asdf

        with asdf.open(str(path), lazy_load=True, memmap=False) as handle:
            return {"meta": dict(handle.tree.get("meta", {}))}
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        return json.loads(text)
    import yaml

    return yaml.safe_load(text) or {}


def _meta_keywords(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    found = {"USEAFTER": meta.get("useafter", ""), "PEDIGREE": meta.get("pedigree", ""),
             "DESCRIP": meta.get("description", "")}
    return {k: str(v) for k, v in found.items() if v}


def _properties(path: Path) -> tuple[str, str, str]:
    try:
        instrument, filekind = utils.get_file_properties(settings.OBSERVATORY, str(path))
        return str(instrument).lower(), str(filekind).lower(), ""
    except Exception:
        return "", "", ""


def _parse_useafter(text: str) -> datetime.datetime | None:
    text = str(text).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%b %d %Y %H:%M:%S", "%Y-%m-%d"):
        try:
            stamp = datetime.datetime.strptime(text[:24].strip(), fmt)
            return stamp.replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None


def _commit(maps: list[File], refs: list[File], target: str, user: str, report: ImportReport) -> None:
    with transaction.atomic():
        File.objects.bulk_create(maps + refs, batch_size=2000)
        report.mappings_added, report.references_added = len(maps), len(refs)
        report.context = target
        for kind in ("latest", "edit"):
            moved = _point(kind, target)
            if moved and kind == "latest":
                now = timezone.now()
                ContextHistory.objects.create(
                    start_date=now, context=target, user=user,
                    description=f"Imported from a CRDS cache by {user}.",
                )
                # As a set-context would: the pmap is `latest`, its files dated active.
                activation.activate(target, activation.closure(target), now)
        AuditEntry.objects.create(
            user=user, action="import cache", filename=target,
            details=f"{len(maps)} mappings and {len(refs)} references added",
        )
        versioning.bump()


def _point(kind: str, context: str) -> bool:
    """Set pointer `kind` to `context`; True if it moved."""
    if ContextPointer.objects.filter(kind=kind, context=context).exists():
        return False
    ContextPointer.objects.update_or_create(kind=kind, defaults={"context": context})
    return True
