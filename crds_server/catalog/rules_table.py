"""Rules files turned into tables for people: parameter rows, context tables, users of a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from crds_server.lib.lru import LRU

from . import contexts, loader


@dataclass
class RulesTable:
    """The selections of one mapping: a header row of parameter names and one row per choice."""

    name: str
    parameters: list[str]
    rows: list[list[str]]
    _search: list[str] | None = field(default=None, repr=False, compare=False)

    def matching(self, text: str) -> list[list[str]]:
        """The rows with `text` (case-insensitive) in any of their cells; all rows if blank."""
        needle = text.strip().lower()
        if not needle:
            return self.rows
        if self._search is None:
            self._search = ["\x00".join(row).lower() for row in self.rows]
        return [row for row, line in zip(self.rows, self._search, strict=True) if needle in line]


TABLE_CACHE_SIZE = 64
_tables: LRU[RulesTable] = LRU(TABLE_CACHE_SIZE)


@dataclass
class TypeEntry:
    """One reference type of an instrument: its rmap, or the reason it does not apply."""

    filekind: str
    rmap: str = ""
    not_applicable: str = ""


@dataclass
class InstrumentEntry:
    instrument: str
    imap: str
    types: list[TypeEntry] = field(default_factory=list)


def rules_table(name: str) -> RulesTable:
    """The rows of mapping `name`, kept per process while its stored file is unchanged.

    Flattening a large rmap (thousands of Match/UseAfter rows) takes ~100 ms,
    so a details page pays it once per worker, not once per request.
    """
    path = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
    try:
        stat = path.stat()
    except OSError:
        return _build(name)  # the loader explains what is missing
    key = (name, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return _tables.get(key, lambda: _build(name))


def _build(name: str) -> RulesTable:
    """An rmap's Match/UseAfter nesting is flattened by the library."""
    mapping = loader.get_mapping(name)
    if name.endswith(".rmap"):
        data = mapping.todict()
        parameters = [str(p) for p in data["parameters"]]
        rows = [[_text(v) for v in row] for row in data["selections"]]
        return RulesTable(name, parameters, rows)
    # A .pmap or .imap: its own selector, key -> the file name it selects (never the child's
    # header `name`, which in real rules need not be the file's name).
    key = "INSTRUMENT" if name.endswith(".pmap") else "REFERENCE TYPE"
    rows = [[str(k), str(v)] for k, v in sorted(mapping.selector.items())]
    return RulesTable(name, [key, "MAPPING"], rows)


def _text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)


def context_table(pmap: str) -> list[InstrumentEntry]:
    """Instruments -> reference types -> rmaps of context `pmap`; N/A types keep their reason."""
    context = loader.get_mapping(pmap)
    table = []
    for instrument, imap in sorted(context.selections.items()):
        if isinstance(imap, str):  # a special value such as N/A
            table.append(InstrumentEntry(instrument, imap))
            continue
        entry = InstrumentEntry(instrument, imap.basename)
        for filekind, rmapping in sorted(imap.selections.items()):
            if isinstance(rmapping, str):
                entry.types.append(TypeEntry(filekind, not_applicable=rmapping))
            else:
                entry.types.append(TypeEntry(filekind, rmap=rmapping.basename))
        table.append(entry)
    return table


def users_of(name: str) -> dict[str, list[str]]:
    """{context kind: mappings naming `name`} within the latest and edit contexts.

    A reference is named by rmaps; an rmap by imaps; an imap by the pmap.
    """
    found: dict[str, list[str]] = {}
    for kind in ("latest", "edit"):
        pmap = contexts.pointer(kind)
        if pmap and pmap.endswith(".pmap"):
            try:
                found[f"{kind} ({pmap})"] = sorted(_parents_index(pmap).get(name, ()))
            except Exception:  # an unloadable context names nothing; the page still shows
                found[f"{kind} ({pmap})"] = []
    return found


PARENTS_CACHE_SIZE = 4
_parents: LRU[tuple[Any, dict[str, set[str]]]] = LRU(PARENTS_CACHE_SIZE)


def _parents_index(pmap: str) -> dict[str, set[str]]:
    """{file name: mappings of `pmap` naming it}, built once per loaded context (~20 ms on HST)."""
    context = loader.get_mapping(pmap)
    # Keyed on the loaded object too, which the entry keeps alive (so its id is not reused): a
    # context loaded again (its file changed) is indexed again.
    return _parents.get((pmap, id(context)), lambda: (context, _index_parents(context)))[1]


def _index_parents(context: Any) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for imap in context.selections.values():
        if isinstance(imap, str):
            continue
        index.setdefault(imap.basename, set()).add(context.basename)
        for rmapping in imap.selections.values():
            if isinstance(rmapping, str):
                continue
            index.setdefault(rmapping.basename, set()).add(imap.basename)
            for reference in rmapping.reference_names():
                index.setdefault(reference, set()).add(rmapping.basename)
    return index


def required_parameters(pmap: str, instrument: str) -> list[tuple[str, list[str]]]:
    """[(parameter, values found in the rules)] for best references of `instrument` under `pmap`."""
    imap = loader.get_mapping(pmap).get_imap(instrument)
    valid = imap.get_valid_values_map()
    return [(key, sorted(str(v) for v in valid.get(key, ()) if str(v) not in ("N/A", "*")))
            for key in imap.get_required_parkeys() if key not in ("INSTRUME", "REFTYPE")]


def instruments(pmap: str) -> list[str]:
    """The instruments with rules in context `pmap`."""
    return sorted(k for k, v in loader.get_mapping(pmap).selections.items() if not isinstance(v, str))


def explain_choice(pmap: str, instrument: str, filekind: str, chosen: str) -> dict[str, str]:
    """{parameter: value} of the rule rows of `filekind` that select `chosen` ({} if unknown)."""
    try:
        rmapping = loader.get_mapping(pmap).get_imap(instrument).get_rmap(filekind)
    except Exception:  # types with no rmap (N/A) have nothing to explain
        return {}
    data = rmapping.todict()
    for row in data["selections"]:
        if row and row[-1] == chosen:
            return {str(k): _text(v) for k, v in zip(data["parameters"][:-1], row[:-1], strict=False)}
    return {}
