"""Name globs as database wildcard matches: bounded, linear work, no regular expressions.

A user's name pattern (the browse page's "Name (glob)") once became a regular
expression run by the database on every catalog row; `*******X` backtracked
for seconds.  Here a glob becomes an SQL `LIKE` pattern instead, which every
supported database matches without exponential backtracking (SQLite,
PostgreSQL and MariaDB/MySQL all give up on a `%` as soon as the rest of the
pattern cannot match anywhere later), and the pattern itself is bounded:

* `*` matches any run of characters (runs of `*` count as one), `?` exactly
  one character; every other character is literal (`[`, `%`, `_` and `\\`
  included: there are no character classes);
* the whole name must match, ignoring case (like the `iexact` and `icontains`
  lookups of the same database);
* at most `MAX_LENGTH` characters and `MAX_WILDCARDS` wildcards, else
  `LimitExceeded` with a message naming the limit.

Use it as a lookup on any text field: `File.objects.filter(name__glob="hst_*_dark?.fits")`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db.models import CharField, Lookup, TextField

from .errors import LimitExceeded

MAX_LENGTH = 64
MAX_WILDCARDS = 8
WILDCARDS = "*?"
_STARS = re.compile(r"\*{2,}")
_PIECES = re.compile(r"([*?])")


def is_glob(text: str) -> bool:
    """Whether `text` has a wildcard (else a search may use a plain substring match)."""
    return any(c in text for c in WILDCARDS)


def normalize(glob: str) -> str:
    """The glob with runs of `*` collapsed, after checking the limits; raises `LimitExceeded`."""
    if len(glob) > MAX_LENGTH:
        raise LimitExceeded(f"A name pattern is at most {MAX_LENGTH} characters; this one has {len(glob)}.")
    collapsed = _STARS.sub("*", glob)
    wildcards = sum(collapsed.count(c) for c in WILDCARDS)
    if wildcards > MAX_WILDCARDS:
        raise LimitExceeded(f"A name pattern has at most {MAX_WILDCARDS} wildcards (* or ?, a run of * "
                            f"counting as one); this one has {wildcards}.")
    return collapsed


def like_pattern(glob: str, escape: Callable[[str], str]) -> str:
    """The SQL LIKE pattern of `glob`; `escape` quotes literal text (the backend's own escaping)."""
    pieces = _PIECES.split(normalize(glob))
    return "".join("%" if p == "*" else "_" if p == "?" else escape(p) for p in pieces)


class Glob(Lookup):
    """`field__glob=pattern`: a whole-value, case-insensitive wildcard match (see the module).

    The SQL is the database's own `icontains` operator and column cast
    (`UPPER(col::text) LIKE UPPER(%s)` on PostgreSQL, `col LIKE %s ESCAPE '\\'`
    on SQLite, `col LIKE %s` on MySQL/MariaDB, whose escape is `\\`), with the
    pattern built here instead of wrapped in `%...%`.
    """

    lookup_name = "glob"
    prepare_rhs = False

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        if not self.rhs_is_direct_value() or not isinstance(self.rhs, str):
            raise TypeError("A glob lookup takes a plain string pattern.")
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        internal_type = self.lhs.output_field.get_internal_type()
        lhs_sql = connection.ops.lookup_cast("icontains", internal_type) % lhs_sql
        operator = connection.operators["icontains"] % "%s"
        pattern = like_pattern(self.rhs, connection.ops.prep_for_like_query)
        return f"{lhs_sql} {operator}", [*lhs_params, pattern]


CharField.register_lookup(Glob)
TextField.register_lookup(Glob)
