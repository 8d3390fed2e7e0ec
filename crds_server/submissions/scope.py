"""What a submission touches: the instruments it changes and the files it brings into the rules.

Two rules hold for every kind, checked when processing ends (and, for the
instruments, already at start to take the locks):

- a submission changes only instruments whose locks it holds: an rmap or
  imap belongs to its instrument, and a `.pmap` to every instrument whose
  imap it names differently from the context it derives from;
- no new mapping brings a file marked bad (rejected or blacklisted) into
  the rules: the names a new mapping adds to the one it replaces are
  checked against the catalog's flags.

Mappings are read with the `crds` library (`Mapping.from_file` gives the raw
selector of a context without loading what it names; `ReferenceMapping`
lists an rmap's references).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crds.core import config, rmap
from django.db.models import Q

from crds_server.catalog.models import File

from .errors import SubmissionError


def pmap_instruments(path: Path, derive_from: str) -> set[str]:
    """The instruments whose imap the .pmap at `path` names differently from `derive_from`."""
    new = _selector(path)
    old = _selector(Path(config.locate_mapping(derive_from)))
    return {key for key in set(new) | set(old) if new.get(key) != old.get(key)}


def _selector(path: Path) -> dict[str, str]:
    mapping = rmap.Mapping.from_file(str(path), ignore_checksum=True)
    return {str(key).lower(): str(value) for key, value in mapping.selector.items()}


def touched_instruments(result: dict[str, Any], staging: Path, derive_from: str) -> set[str]:
    """Every instrument the prepared `result` changes (its new files' own, and its pmaps')."""
    touched = {str(meta.get("instrument") or "").lower() for meta in result.get("metadata", {}).values()}
    for name in result.get("metadata", {}):
        if name.endswith(".pmap") and (staging / name).exists():
            touched |= pmap_instruments(staging / name, derive_from)
    return touched - {""}


def refuse_new_bad_files(result: dict[str, Any], staging: Path) -> None:
    """SubmissionError if a new mapping of `result` names a bad file its predecessor did not."""
    old_of = {new: old for old, new in (result.get("replaced_rmaps") or {}).items()}
    for diff in result.get("diffs") or []:
        old_of.setdefault(diff["new"], diff["old"])
    added: dict[str, str] = {}
    for name in result.get("new_mappings") or []:
        if not (staging / name).exists():
            continue
        before = _names(Path(config.locate_mapping(old_of[name]))) if name in old_of else set()
        for listed in _names(staging / name) - before:
            added.setdefault(listed, name)
    if not added:
        return
    bad = sorted(File.objects.filter(Q(rejected=True) | Q(blacklisted=True), name__in=list(added))
                 .values_list("name", flat=True))
    if bad:
        shown = ", ".join(f"{name} (in {added[name]})" for name in bad[:10])
        raise SubmissionError(f"The new rules would name {len(bad)} file(s) marked bad: {shown}. "
                              "A bad file cannot go back into the rules unless an operator marks it OK.")


def _names(path: Path) -> set[str]:
    """The files a mapping names: an rmap's references, a context's mappings."""
    if path.suffix == ".rmap":
        return set(rmap.ReferenceMapping.from_file(str(path), ignore_checksum=True).reference_names())
    return {value for value in _selector(path).values() if config.is_mapping(value)}
