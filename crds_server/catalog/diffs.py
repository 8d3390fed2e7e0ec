"""Differences between two mappings: the library's logical diff, grouped per mapping pair,
plus a unified text diff of each changed pair."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from crds import diff as crds_diff
from crds.core import config as crds_config
from django.conf import settings

from . import loader
from .errors import CatalogError


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
