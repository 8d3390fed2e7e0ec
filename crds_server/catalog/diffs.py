"""Differences between two mappings (the library's logical diff, grouped per mapping pair,
plus a unified text diff of each changed pair) and between two references (the library's
own difference: fitsdiff and rowdiff for FITS, text diffs otherwise), run in a bounded child."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crds import diff as crds_diff
from crds.core import config as crds_config
from django.conf import settings
from django.core.cache import cache

from . import loader
from .errors import CatalogError
from .models import File


class MappingKindMismatch(CatalogError):
    """Two mappings of different kinds (.pmap vs .rmap) cannot be compared."""


@dataclass
class PairDiff:
    """The changes from mapping `old` to mapping `new`: logical rows and text lines."""

    old: str
    new: str
    parameters: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def mapping_difference(old: str, new: str) -> list[PairDiff]:
    """Every changed mapping pair between `old` and `new`, top level first."""
    if old.rsplit(".", 1)[-1] != new.rsplit(".", 1)[-1] or not crds_config.is_mapping(old):
        raise MappingKindMismatch(f"'{old}' and '{new}' are not mappings of the same kind.")
    tuples = loader.get_mapping(old).difference(loader.get_mapping(new), include_header_diffs=True)
    pairs: dict[tuple[str, str], PairDiff] = {(old, new): PairDiff(old, new)}
    for diff in crds_diff.remove_boring(list(tuples)):
        pair, parameters, values = _split(diff)
        entry = pairs.setdefault(pair, PairDiff(*pair))
        if len(parameters) > len(entry.parameters):
            entry.parameters = parameters
        entry.rows.append(values)
    for pair in crds_diff.mapping_pairs(tuples):
        pairs.setdefault(pair, PairDiff(*pair))
    result = sorted(pairs.values(), key=lambda p: (_level(p.old), p.old, p.new))
    for entry in result:
        entry.text = text_difference(entry.old, entry.new)
    return [p for p in result if p.rows or p.text]


def _split(diff) -> tuple[tuple[str, str], list[str], list[str]]:
    """(lowest mapping pair, parameter names, values) of one library difference tuple."""
    flat = diff.flat
    names = list(flat.parameter_names)
    pair: tuple[str, str] = ("", "")
    start = 0
    for index, value in enumerate(flat):
        if isinstance(value, tuple) and len(value) == 2 and crds_config.is_mapping(str(value[0])):
            pair, start = (_base(value[0]), _base(value[1])), index + 1
    values = [str(v) for v in flat[start:]]
    return pair, [str(n) for n in names[start:]], values


def _base(path: str) -> str:
    return str(path).rsplit("/", 1)[-1]


def _level(name: str) -> int:
    return {"pmap": 0, "imap": 1, "rmap": 2}.get(name.rsplit(".", 1)[-1], 3)


def text_difference(old: str, new: str) -> list[str]:
    """The unified diff lines of two mapping files in the file store."""
    store = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY
    old_lines = (store / old).read_text(encoding="utf-8", errors="replace").splitlines()
    new_lines = (store / new).read_text(encoding="utf-8", errors="replace").splitlines()
    return list(difflib.unified_diff(old_lines, new_lines, old, new, lineterm=""))


# A reference difference is bounded: files up to this size, this long in the child, this much output.
REFERENCE_MAX_BYTES = 256 * 1024 * 1024
TIMEOUT_SECONDS = 30
OUTPUT_MAX_BYTES = 512 * 1024
NOTES_MAX_LINES = 20
CACHE_SECONDS = 24 * 3600
# Reference differences running at once on this machine, all web workers together: each is a
# child of up to 2 GB and 60 s of CPU, and anyone may ask for a pair not compared before.
SLOTS = 2


class NotComparable(CatalogError):
    """Two files the library cannot difference (different kinds, too large, a mapping)."""


class DiffBusy(NotComparable):
    """Every comparison slot is taken: try again shortly."""


@dataclass
class ReferenceDiff:
    """What the library says differs between two references: its report, line by line."""

    old: str
    new: str
    kind: str
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    problem: str = ""

    @property
    def identical(self) -> bool:
        return not self.problem and not self.notes and not any(line.strip() for line in self.lines)


def reference_difference(old: File, new: File) -> ReferenceDiff:
    """The library's difference of two catalogued references, kept a day per pair of sha1sums."""
    key = f"crds-refdiff:{settings.OBSERVATORY}:{old.name}:{old.sha1sum}:{new.name}:{new.sha1sum}"
    found = cache.get(key) if old.sha1sum and new.sha1sum else None
    if found is None:
        found = _compare(old.store_path(), new.store_path(), old.name, new.name)
        if not found.problem.startswith("The comparison took"):
            cache.set(key, found, CACHE_SECONDS)
    return found


def upload_difference(upload: Path | None, name: str) -> ReferenceDiff:
    """The library's difference of a file in an ingest area against the public catalogued file
    `name` (references as above; a rules file gets the library's logical and text differences)."""
    if upload is None:
        raise NotComparable("Choose one of the files in your ingest area "
                            "(upload it first on the Upload page).")
    catalogued = File.objects.public().filter(name=name).first() if 0 < len(name) <= 200 else None
    if catalogued is None:
        raise NotComparable(f"No file named '{name[:200]}' is in the catalog.")
    return _compare(catalogued.store_path(), upload, catalogued.name, upload.name, mappings=True)


def _compare(old: Path, new: Path, old_name: str, new_name: str, mappings: bool = False) -> ReferenceDiff:
    """The library's difference of two files; mappings only for an upload (catalogued pairs of
    mappings get `mapping_difference`, at every level)."""
    kind = crds_config.filetype(old_name)
    if not mappings and (kind == "mapping" or crds_config.is_mapping(new_name)):
        raise NotComparable("Rules files are compared as mappings: pick two mappings of the same kind.")
    if kind != crds_config.filetype(new_name) or Path(old_name).suffix != Path(new_name).suffix:
        raise NotComparable(f"'{old_name}' and '{new_name}' are files of different kinds.")
    for path, name in ((old, old_name), (new, new_name)):
        size = path.stat().st_size if path.is_file() else -1
        if size < 0:
            raise NotComparable(f"The bytes of '{name}' are not in the file store.")
        if size > REFERENCE_MAX_BYTES:
            raise NotComparable(f"'{name}' is {size:,} bytes; files up to {REFERENCE_MAX_BYTES:,} "
                                f"bytes are compared here: use `crds diff` on a copy.")
    return _run(old, new, ReferenceDiff(old_name, new_name, kind))


def _run(old: Path, new: Path, result: ReferenceDiff) -> ReferenceDiff:
    """Run the library in a child (`diff_runner`), bounded in time, memory and output."""
    command = [sys.executable, "-m", "crds_server.catalog.diff_runner", settings.OBSERVATORY,
               str(old), str(new)]
    try:
        with _slot():
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False,
                                  cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        result.problem = f"The comparison took more than {TIMEOUT_SECONDS} s and was stopped."
        return result
    out = done.stdout[:OUTPUT_MAX_BYTES].decode("utf-8", errors="replace")
    result.truncated = len(done.stdout) > OUTPUT_MAX_BYTES
    result.lines = [line.replace(str(old), result.old).replace(str(new), result.new)
                    for line in out.splitlines()]
    errors = [line for line in done.stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if done.returncode not in (0, 1):
        result.problem = (errors[-1] if errors else f"The library stopped with status {done.returncode}.")
        result.problem = result.problem.replace(str(old), result.old).replace(str(new), result.new)[:500]
    result.notes = [line.replace(str(old), result.old).replace(str(new), result.new)[:300]
                    for line in errors if "WARNING" in line][:NOTES_MAX_LINES]
    return result


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    """One of the machine's `SLOTS` comparison slots (an flock on HOME/run/diff-slot-N, freed by
    the kernel if the worker dies), or DiffBusy at once."""
    for number in range(SLOTS):
        handle = open(settings.HOME / "run" / f"diff-slot-{number}", "a")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            yield
        finally:
            handle.close()  # closing drops the lock
        return
    raise DiffBusy(f"The server is already comparing {SLOTS} pairs of files; try again in a minute.")
