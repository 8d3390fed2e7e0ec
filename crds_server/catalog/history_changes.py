"""Which instruments and reference types changed at each era of the context history.

Two consecutive contexts are compared by their selections, read with the
`crds` library's own parser (`rmap.Mapping.from_file`, header and selector
only, no nested loading): an instrument changed when its .imap differs, and
its types changed are those whose .rmap (or N/A) differs between the two
.imaps.  Parsing a .pmap or .imap takes a fraction of a millisecond; each
file's selections and each pair's changes are kept per process (a file is
re-read when its size or time changes), and a whole timeline is kept per
history version (the eras it was asked for).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crds.core import rmap
from django.conf import settings

from crds_server.lib.lru import LRU

from . import versioning

CACHE_SIZE = 2048
TIMELINE_CACHE_SIZE = 32
_selections: LRU[dict[str, str]] = LRU(CACHE_SIZE)
_timelines: LRU[list[Era]] = LRU(TIMELINE_CACHE_SIZE)


@dataclass(frozen=True)
class Change:
    """One instrument's change between two contexts: its .imaps and the types whose rmap moved."""

    instrument: str
    old_imap: str
    new_imap: str
    filekinds: tuple[str, ...]


@dataclass(frozen=True)
class Era:
    """One history era: from `start`, `context` was latest after `previous` (blank for the first)."""

    start: datetime.datetime
    context: str
    previous: str
    changes: tuple[Change, ...] = ()
    problem: str = ""

    @property
    def instruments(self) -> list[str]:
        return [c.instrument for c in self.changes]


def selections(name: str) -> dict[str, str]:
    """{key: selected mapping or special value} of a .pmap (instruments, lower case) or .imap (types).

    Raises OSError when the file is not in the store, and the library's
    MappingError when it does not parse.
    """
    path = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)

    def parse() -> dict[str, str]:
        mapping: Any = rmap.Mapping.from_file(str(path), ignore_checksum=True)
        return {str(k).lower(): _selected(v) for k, v in mapping.selector.items()}

    return _selections.get(key, parse)


def _selected(value: Any) -> str:
    return value if isinstance(value, str) else str(getattr(value, "basename", value))


def changes_between(old: str, new: str) -> tuple[Change, ...]:
    """Every instrument whose .imap differs from `old` to `new`, with the types that moved.

    An instrument present in only one of the two has every type of its .imap
    as changed.
    """
    before, after = selections(old), selections(new)
    found = []
    for instrument in sorted(set(before) | set(after)):
        old_imap, new_imap = before.get(instrument, ""), after.get(instrument, "")
        if old_imap == new_imap:
            continue
        found.append(Change(instrument, old_imap, new_imap, _moved_types(old_imap, new_imap)))
    return tuple(found)


def _moved_types(old_imap: str, new_imap: str) -> tuple[str, ...]:
    old_types = selections(old_imap) if old_imap.endswith(".imap") else {}
    new_types = selections(new_imap) if new_imap.endswith(".imap") else {}
    return tuple(sorted(k for k in set(old_types) | set(new_types) if old_types.get(k) != new_types.get(k)))


def timeline(eras: Sequence[tuple[datetime.datetime, str]]) -> list[Era]:
    """The eras of `eras` (oldest first) but the first, each with its changes from the one before.

    Pass one era more than wanted, the one before the oldest, so that the
    oldest wanted era has something to be compared with; pass the very first
    era of the history twice over with a blank context to show it with no
    changes.  A context missing from the store or refused by the parser gives
    an era with a `problem` instead of changes.
    """
    def build() -> list[Era]:
        pairs = zip(eras, eras[1:], strict=False)
        return [_era(previous, start, context) for (_, previous), (start, context) in pairs]

    return _timelines.get((versioning.current(), tuple(eras)), build)


def _era(previous: str, start: datetime.datetime, context: str) -> Era:
    if not previous:
        return Era(start, context, "")
    try:
        return Era(start, context, previous, changes_between(previous, context))
    except Exception as exc:  # a missing or unparsable context still has its era
        return Era(start, context, previous, problem=f"cannot compare with {previous}: {exc}"[:300])


def instruments(eras: Sequence[Era]) -> list[str]:
    """The instruments of the newest era's context and every one that changed in `eras`, sorted."""
    found = {c.instrument for era in eras for c in era.changes}
    if eras:
        try:
            found.update(selections(eras[-1].context))
        except Exception:  # the era says what is wrong with its context
            pass
    return sorted(found)
