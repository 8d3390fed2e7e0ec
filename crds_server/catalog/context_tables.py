"""A context as people read it: instruments -> reference types (with the library's description
of each type) -> the references each type's rmap selects, with their dates and descriptions.

The home page's Latest References and every context table are this one view of a
context.  The instrument/type summary walks every rmap of a context (~1 s cold
on HST's 14,576 references), so it is kept per process for each (context,
catalog version): a change to any file's dates or flags moves the version.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from crds.core import reftypes
from django.conf import settings

from crds_server.lib.lru import LRU

from . import loader, records, versioning
from .models import File
from .rules_table import rules_table

SUMMARY_CACHE_SIZE = 8
_summaries: LRU[list[InstrumentSummary]] = LRU(SUMMARY_CACHE_SIZE)


@dataclass
class TypeSummary:
    """One reference type of an instrument in a context: its rmap (or why none applies)."""

    filekind: str
    description: str
    rmap: str = ""
    not_applicable: str = ""
    references: int = 0
    activation: str = ""


@dataclass
class InstrumentSummary:
    """One instrument of a context: its imap and its reference types."""

    instrument: str
    imap: str
    activation: str = ""
    types: list[TypeSummary] = field(default_factory=list)

    @property
    def references(self) -> int:
        return sum(t.references for t in self.types)


@dataclass
class ReferenceRow:
    """One selection of an rmap: match values, useafter and the reference it names."""

    match: list[str]
    useafter: str
    name: str
    known: bool = False
    activation: str = ""
    description: str = ""


@dataclass
class TypeReferences:
    """Every selection of one type's rmap in a context, with the column names of its matches."""

    pmap: str
    instrument: str
    filekind: str
    description: str
    rmap: str
    parameters: list[str]
    rows: list[ReferenceRow]

    def matching(self, text: str) -> list[ReferenceRow]:
        """The rows with `text` (case-insensitive) in a match value, useafter or name."""
        needle = text.strip().lower()
        if not needle:
            return self.rows
        return [r for r in self.rows if needle in "\x00".join([*r.match, r.useafter, r.name]).lower()]


class UnknownType(LookupError):
    """The context has no rmap for this instrument and type."""


@functools.cache
def _types(observatory: str) -> Any:
    return reftypes.get_types_object(observatory)


def type_description(instrument: str, filekind: str) -> str:
    """The library's text description of a reference type, e.g. 'Dark Frame' ('' if unknown)."""
    try:
        types = _types(settings.OBSERVATORY)
        return str(types.unified_defs.get(instrument.lower(), {}).get(filekind.lower(), {})
                   .get("text_descr") or types.text_descr.get(filekind.lower(), ""))
    except Exception:  # an observatory whose specs the library cannot load has no descriptions
        return ""


def summary(pmap: str) -> list[InstrumentSummary]:
    """Instruments -> types of context `pmap`, with reference counts and activation dates."""
    key = (pmap, versioning.current(), settings.OBSERVATORY)
    return _summaries.get(key, lambda: _summarize(pmap))


def _activation(name: str) -> str:
    record = records.record(name)
    return record["activation_date"] if record else ""


def _summarize(pmap: str) -> list[InstrumentSummary]:
    context = loader.get_mapping(pmap)
    table = []
    for instrument, imap in sorted(context.selections.items()):
        if isinstance(imap, str):  # a special value such as N/A
            table.append(InstrumentSummary(instrument.lower(), imap))
            continue
        entry = InstrumentSummary(instrument.lower(), imap.basename, _activation(imap.basename))
        for filekind, rmapping in sorted(imap.selections.items()):
            kind = TypeSummary(filekind.lower(), type_description(instrument, filekind))
            if isinstance(rmapping, str):
                kind.not_applicable = rmapping
            else:
                kind.rmap, kind.activation = rmapping.basename, _activation(rmapping.basename)
                kind.references = len(rmapping.reference_names())
            entry.types.append(kind)
        table.append(entry)
    return table


def type_references(pmap: str, instrument: str, filekind: str) -> TypeReferences:
    """The selections of `instrument` `filekind` in context `pmap` (UnknownType if it has no rmap)."""
    for entry in summary(pmap):
        if entry.instrument != instrument.lower():
            continue
        for kind in entry.types:
            if kind.filekind == filekind.lower() and kind.rmap:
                return _references(pmap, entry.instrument, kind)
    raise UnknownType(f"Context {pmap} has no {instrument} {filekind} rules.")


def _references(pmap: str, instrument: str, kind: TypeSummary) -> TypeReferences:
    table = rules_table(kind.rmap)
    parameters = list(table.parameters[:-1])
    dated = bool(parameters) and parameters[-1].upper() == "USEAFTER"
    if dated:
        parameters.pop()
    rows = [ReferenceRow(row[:len(parameters)], row[-2] if dated else "", row[-1]) for row in table.rows]
    return TypeReferences(pmap, instrument, kind.filekind, kind.description, kind.rmap, parameters, rows)


def describe(rows: list[ReferenceRow]) -> list[ReferenceRow]:
    """Fill catalog activation dates and descriptions into `rows` (one query, for one page)."""
    names = {r.name for r in rows}
    found = {f["name"]: f for f in File.objects.public().filter(name__in=names)
             .values("name", "activation_date", "description")}
    for row in rows:
        values = found.get(row.name)
        row.known = values is not None
        if values:
            row.activation = values["activation_date"].strftime("%Y-%m-%d %H:%M:%S") \
                if values["activation_date"] else ""
            row.description = values["description"]
    return rows


@dataclass
class LookupPatterns:
    """Where context `pmap` selects one reference: its rmap, selector kinds and match groups."""

    pmap: str
    rmap: str
    classes: list[str]
    patterns: list[list[list[tuple[str, str]]]]


def lookup_patterns(pmap: str, instrument: str, filekind: str, name: str) -> LookupPatterns | None:
    """The library's match tuples (one group per selector level) under which `pmap` picks `name`."""
    try:
        rmapping = loader.get_mapping(pmap).get_imap(instrument).get_rmap(filekind)
    except Exception:  # no rules for this instrument and type in that context
        return None
    matches = rmapping.selector.file_matches(name)  # the mapping's own adds an (obs, instr, type) group
    groups = [[[(str(k), str(v)) for k, v in group] for group in match] for match in matches]
    return LookupPatterns(pmap, rmapping.basename, list(rmapping.selector.class_list), groups)


@dataclass
class SelectorSummary:
    """How an rmap chooses: selector kinds with their parameters, required keywords, sizes."""

    levels: list[tuple[str, list[str]]]
    required: list[str]
    selections: int
    references: int
    valid_values: list[tuple[str, str]]


def selector_summary(rmap: str) -> SelectorSummary:
    """The parkeys and selectors of rmap `rmap`, as the library reads them."""
    rmapping = loader.get_mapping(rmap)
    levels = [(str(cls), [str(p) for p in keys])
              for cls, keys in zip(rmapping.selector.class_list, rmapping.parkey, strict=False)]
    values = sorted((str(k), ", ".join(str(v) for v in vs)[:400])
                    for k, vs in rmapping.get_valid_values_map().items())
    return SelectorSummary(levels, [str(p) for p in rmapping.get_required_parkeys()],
                           len(rules_table(rmap).rows), len(rmapping.reference_names()), values)
