"""Best references that share the library's per-type answers across datasets.

Many datasets ask one .rmap the same question: the same values of the few
keywords it matches on, and a date that falls between the same two useafter
dates of the rows those values match.  Each answer is computed by the `crds`
library (never re-implemented here) and kept under a key that provably gives
the same answer (`bestrefs_plans` says which rmaps get one and which keywords
it reads):

* the rmap's name and checksum and the values of every keyword it reads apart
  from its dates;
* the position of the dataset's date, as the library itself reformats it,
  among the useafter dates of the rows those values can select.  Which rows
  those are is asked of the library's own selector (its validation and its
  winnowing match, on the header the library would give it) once per value
  tuple; when no row can match, the answer cannot depend on the date at all;
* for rules with a `precondition_header` hook, the values before the hook
  (the library's relevance checks read those) and the values and date
  position of the header the hook returns;
* only answers the library reaches without a failed selection are kept under
  that key alone.  After a failed selection the answer also depends on the
  library's do-not-reprocess check, on the exact date when the failure came
  from the useafter dates (their texts name it), and, for rules with a
  `fallback_header` hook, on the same kind of key for the header that hook
  returns; a failed fallback selection that could depend on the date is never
  kept.

The caches are bounded and per process, keyed by the rules' names and
checksums, so contexts sharing an rmap (old and new context of an
affected-datasets run) share its answers.
"""

from __future__ import annotations

import bisect
from typing import Any

from crds.core import exceptions as crexc
from crds.core import selectors, utils

from crds_server.lib.lru import LRU

from . import bestrefs_plans, loader
from .bestrefs_plans import Plan, for_header, plan_for

__all__ = ["best_references", "for_header", "forget", "plan_for"]

ANSWERS_SIZE = 200_000
GRIDS_SIZE = 50_000
_MISSING = object()  # a keyword absent from the header (a value no header has)


_answers: LRU[Any] = LRU(ANSWERS_SIZE)
_grids: LRU[Any] = LRU(GRIDS_SIZE)
_tables: LRU[dict] = LRU(256)
_NOT_KEPT = object()
_FAILED = object()  # kept for a key whose first selection fails: see the failure key
_NO_ROW = -1  # the date "position" when no row can match: the selection fails whatever the date


def forget() -> None:
    """Drop every kept answer and plan (tests; after a restore)."""
    global _tables, _grids
    _answers.clear()
    bestrefs_plans.forget()
    _tables = LRU(256)
    _grids = LRU(GRIDS_SIZE)


# -- answers ------------------------------------------------------------------------------


def best_references(pmap: Any, minimized: dict[str, str], include: list[str] | None) -> dict:
    """What `pmap.get_best_references(minimized, include)` returns, sharing kept answers."""
    try:
        imap = pmap.get_imap(pmap.get_instrument(minimized))
    except Exception:
        return pmap.get_best_references(minimized, include=include)
    kinds = [str(k).lower() for k in (include or imap.selections.keys())]
    table = _tables.get((str(imap.basename), loader.checksum(imap), id(imap)), dict)
    dates: dict[tuple[str, ...], Any] = {}
    found: dict[str, Any] = {}
    rest: list[str] = []
    for kind in kinds:
        plan = table.get(kind, _NOT_KEPT)
        if plan is _NOT_KEPT:
            plan = table[kind] = _kind_plan(imap, kind, minimized.keys())
        answer = _NOT_KEPT if plan is None else _lookup(plan, imap, kind, minimized, dates)
        if answer is _NOT_KEPT:
            rest.append(kind)
        else:
            found[kind] = answer
    if rest:
        found.update(imap.get_best_references(minimized, include=rest))
    return {kind: found[kind] for kind in dict.fromkeys(kinds) if found.get(kind) is not None}


def _kind_plan(imap: Any, kind: str, header_keys: Any) -> Plan | None:
    try:
        mapping = imap.get_rmap(kind)
    except Exception:
        return None  # unknown, N/A or omitted at the instrument level: the library says so
    plan = plan_for(mapping)
    return None if plan is None else for_header(plan, header_keys)


def _lookup(plan: Plan, imap: Any, kind: str, header: dict[str, str],
            dates: dict[tuple[str, ...], Any]) -> Any:
    """The kept answer (None: omitted), a new answer now kept, or _NOT_KEPT (ask the library)."""
    # The library gives both hooks one copy of the header, as here (a hook could change it).
    given = dict(header) if plan.precondition or plan.fallback else header
    if plan.precondition is None:
        chosen, first = header, _signature(plan, header, dates)
        key = (plan.token, first)
    else:
        try:
            chosen = plan.precondition(plan.rmap, given)
        except Exception:
            return _NOT_KEPT
        first = _signature(plan, chosen, {})
        key = (plan.token, _values(plan, header), first)
    if first is None:
        return _NOT_KEPT
    answer = _answers.find(key, _NOT_KEPT)
    if answer is _NOT_KEPT:
        answer = _ask(imap, kind, header)
        if not _selection_fails(plan, header, chosen, answer):
            _answers.put(key, answer)
            return answer
        _answers.put(key, _FAILED)
        failure = _failure_key(plan, key, first, given, chosen)
        if failure is not None:
            _answers.put(failure, answer)
        return answer
    if answer is not _FAILED:
        return answer
    failure = _failure_key(plan, key, first, given, chosen)
    if failure is None:
        return _NOT_KEPT
    answer = _answers.find(failure, _NOT_KEPT)
    if answer is _NOT_KEPT:
        answer = _ask(imap, kind, header)
        _answers.put(failure, answer)
    return answer


def _ask(imap: Any, kind: str, header: dict[str, str]) -> Any:
    """The library's own answer for one type."""
    return imap.get_best_references(header, include=[kind]).get(kind)


def _values(plan: Plan, header: dict[str, str]) -> tuple:
    return tuple(header.get(k, _MISSING) for k in plan.value_keys)


def _signature(plan: Plan, header: dict[str, str], dates: dict[tuple[str, ...], Any]) -> tuple | None:
    """(values, date position) of the header the rmap's selector is given; None: ask the library.

    The position is among the useafter dates of the rows these values can select
    (`_grid`), or _NO_ROW when none can: then the date is never read.
    """
    date = dates.get(plan.date_keys, _NOT_KEPT)
    if date is _NOT_KEPT:
        date = dates[plan.date_keys] = _lookup_date(plan, header)
    if date is None:
        return None
    values = _values(plan, header)
    grid = _grids.get((plan.token, values), lambda: _grid(plan, header))
    return (values, _NO_ROW if grid is None else bisect.bisect_right(grid, date))


def _grid(plan: Plan, header: dict[str, str]) -> tuple[str, ...] | None:
    """The sorted useafter dates of every row the library's selector can try for these values.

    The library's Match selection validates the match values, then tries the
    matching rows best first (equally good ones merged); each row compares only
    the date with its own useafter dates.  Asked here with the library's own
    steps on the header the library would give it; None when it fails before
    any row, whatever the date.
    """
    selector = plan.rmap.selector
    if type(selector) is selectors.UseAfterSelector:
        return plan.dates
    found: set[str] = set()
    tried = False
    try:
        given = _relevant(plan.rmap, header)
        selector._check_defined(given)
        for selection in selector.get_selection(selector._validate_header(given)):
            tried = True
            choice = selection.choice
            if not isinstance(choice, selectors.Selector):
                return plan.dates  # not the shape planned for: every date of the rules
            found.update(k for k in choice.keys() if isinstance(k, str))
    except Exception:
        pass  # the library's selection ends here too (after the rows tried, if any)
    return tuple(sorted(found)) if tried else None


def _lookup_date(plan: Plan, header: dict[str, str]) -> str | None:
    """The date the library's UseAfter selection compares, or None if the library refuses it."""
    if not all(k in header for k in plan.date_keys):
        return None
    try:
        date = plan.date_reader._validate_header(header)
    except Exception:
        return None
    return date if isinstance(date, str) else None


def _selection_fails(plan: Plan, header: dict[str, str], chosen: dict[str, str], answer: Any) -> bool:
    """Whether the library's first selection failed for this header (`chosen`: after its hook).

    Without a fallback hook, a file or an omitted type only come from a successful
    selection; n/a and errors are checked with the library's own steps, in its
    order: omission and relevance, then selection.
    """
    mapping = plan.rmap
    if plan.fallback is None and (answer is None or (isinstance(answer, str)
                                                     and not answer.startswith("NOT FOUND"))):
        return False
    try:
        conditioned = utils.condition_header_keys(dict(header))
        mapping.check_rmap_omit(conditioned)
        mapping.check_rmap_relevance(conditioned)
    except (crexc.IrrelevantReferenceTypeError, crexc.OmitReferenceTypeError):
        return False
    return _fails(mapping, chosen)


def _fails(mapping: Any, chosen: dict[str, str]) -> bool:
    try:
        mapping.selector.choose(_relevant(mapping, chosen))
    except Exception:
        return True
    return False


def _dnr(mapping: Any, chosen: dict[str, str]) -> bool:
    """The library's do-not-reprocess check, on the header it gives it after a failed selection."""
    return mapping.dnr_check(_relevant(mapping, chosen)) is True


def _relevant(mapping: Any, header: dict[str, str]) -> dict[str, str]:
    """The header after the library's parkey relevance step (a copy: unchanged without such rules)."""
    if not mapping._parkey_relevance_exprs:
        return dict(header)
    return mapping.map_irrelevant_parkeys_to_na(dict(header))


def _failure_key(plan: Plan, key: tuple, first: tuple, given: dict[str, str],
                 chosen: dict[str, str]) -> tuple | None:
    """The key of the answer after a failed first selection (None: not kept).

    The library then says n/a for a do-not-reprocess dataset; otherwise it tries
    the fallback hook's header, if any, and else reports the first failure (its
    text names the date unless no row could match).  A failed fallback selection
    is kept only when no row could match it either.
    """
    try:
        dnr = _dnr(plan.rmap, chosen)
    except Exception:
        return None  # the library's own call raises here too: nothing to keep
    if dnr:
        return (*key, "do not reprocess")
    if plan.fallback is None:
        return (*key, "failed", _exact(plan, first, chosen))
    try:
        fallback = plan.fallback(plan.rmap, given)
    except Exception:
        return None
    if not fallback:
        return (*key, "failed, no fallback", _exact(plan, first, chosen))
    try:
        minimized = plan.rmap.minimize_header(fallback)
    except Exception:
        return None
    second = _signature(plan, minimized, {})
    if second is None or (second[1] != _NO_ROW and _fails(plan.rmap, minimized)):
        return None
    return (*key, "fallback", second)


def _exact(plan: Plan, signature: tuple, header: dict[str, str]) -> str | None:
    """The exact date, when a failure's text can name it (some row was tried)."""
    return None if signature[1] == _NO_ROW else _lookup_date(plan, header)
