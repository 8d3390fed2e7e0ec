"""Best references that share the library's per-type answers across datasets.

Many datasets ask one .rmap the same question: the same values of the few
keywords it matches on, and a date that falls between the same two useafter
dates.  Each answer is computed by the `crds` library (never re-implemented
here) and kept under a key that provably gives the same answer:

* the key is the rmap's name and checksum, the values of every keyword the
  rmap reads apart from its date keywords (its match keys, its reffile switch
  and every name its relevance expressions use), and the position of the
  dataset's date, as the library itself reformats it, among every useafter
  date of the rmap (the library compares dates only with those);
* only rmaps of the shape Match -> UseAfter (or a lone UseAfter) with file
  name choices, no hooks, no comment keys, no relevance expression naming a
  date or an unknown keyword get a key; every other type, and any dataset
  whose date the library refuses, goes to the plain library call;
* only answers the library reaches without a failed selection are kept: a
  file, an omitted type, and "NOT FOUND n/a" where it comes from the rules or
  a relevance expression.  Lookup errors (their text names the date) and an
  n/a that may come from the library's do-not-reprocess check after a failed
  selection are never kept.

The caches are bounded and per process, keyed by the rules' names and
checksums, so contexts sharing an rmap (old and new context of an
affected-datasets run) share its answers.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import types
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from crds.core import exceptions as crexc
from crds.core import rmap as crds_rmap
from crds.core import selectors, utils

from crds_server.lib.lru import LRU

ANSWERS_SIZE = 200_000
PLANS_SIZE = 4_000
_MISSING = object()  # a keyword absent from the header (a value no header has)
_NO_HOOK = object()
_HOOKS = ("precondition_header", "fallback_header")


@dataclass(eq=False)
class Plan:
    """What one rmap's answer depends on: keyword values and the date's position."""

    rmap: Any
    token: Any  # (name, checksum); per header shape, a small number for that and the value keys
    value_keys: tuple[str, ...]
    date_keys: tuple[str, ...]
    dates: list[str]
    date_reader: Any  # a UseAfter selector of the rmap: the library's own date handling
    names: frozenset[str]  # every name its expressions read


class _Answers:
    """A bounded map of kept answers (least recently used dropped first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, default: Any) -> Any:
        with self._lock:
            value = self._values.get(key, default)
            if value is not default:
                self._values.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            if len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_answers = _Answers(ANSWERS_SIZE)
_plans: LRU[Plan | None] = LRU(PLANS_SIZE)
_tables: LRU[dict] = LRU(256)
_NOT_KEPT = object()
_FAILED = object()  # kept for (values, date position): the library's selection fails there
_tokens: dict[tuple, int] = {}
_token_lock = threading.Lock()


def forget() -> None:
    """Drop every kept answer and plan (tests; after a restore)."""
    global _plans, _tables
    _answers.clear()
    _plans = LRU(PLANS_SIZE)
    _tables = LRU(256)


def _checksum(mapping: Any) -> str:
    return str(mapping.header.get("sha1sum", ""))


# -- plans: which rmaps get a key, and which keywords make it ----------------------------


def plan_for(mapping: Any) -> Plan | None:
    """The plan of rmap `mapping`, or None when its answers must come from the library each time."""
    token = (str(mapping.basename), _checksum(mapping))
    return _plans.get(token, lambda: _build_plan(mapping, token))


def _build_plan(mapping: Any, token: tuple[str, str]) -> Plan | None:
    if type(mapping) is not crds_rmap.ReferenceMapping or not token[1]:
        return None
    if mapping._comment_parkeys or any(mapping.get_hook(n, _NO_HOOK) is not _NO_HOOK for n in _HOOKS):
        return None
    shape = _useafters(mapping.selector)
    if shape is None:
        return None
    date_keys, dates, reader = shape
    if {k.lower() for k in date_keys} & set(mapping._parkey_relevance_exprs):
        return None  # a relevance rule could turn the date into N/A before the selection
    names = _expression_names(mapping)
    if names is None:
        return None
    value_keys = tuple(sorted(set(mapping.get_required_parkeys()) - set(date_keys)))
    return Plan(mapping, token, value_keys, date_keys, dates, reader, frozenset(names))


def _useafters(selector: Any) -> tuple[tuple[str, ...], list[str], Any] | None:
    """(date keywords, sorted useafter dates, a UseAfter) for Match->UseAfter or UseAfter rules."""
    if type(selector) is selectors.UseAfterSelector:
        nested = [selector]
    elif type(selector) is selectors.MatchSelector:
        nested = selector.choices()
        if not nested or not all(type(s) is selectors.UseAfterSelector for s in nested):
            return None
    else:
        return None
    params = {tuple(s._parameters) for s in nested}
    if len(params) != 1:
        return None
    dates: set[str] = set()
    for useafter in nested:
        for selection in useafter._selections:
            if not isinstance(selection.key, str) or not isinstance(selection.choice, str):
                return None
            dates.add(selection.key)
    date_keys = params.pop()
    if not date_keys or (type(selector) is selectors.MatchSelector
                         and set(date_keys) & set(selector._parameters)):
        return None
    return date_keys, sorted(dates), nested[0]


def _expression_names(mapping: Any) -> set[str] | None:
    """Every name the rmap's relevance and omit expressions read (None: not provable)."""
    exprs = [mapping._rmap_relevance_expr, mapping._rmap_omit_expr,
             *mapping._parkey_relevance_exprs.values()]
    names: set[str] = set()
    for _source, code in exprs:
        if not isinstance(code, types.CodeType):
            return None
        names |= _code_names(code)
    return names


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_varnames) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def for_header(plan: Plan, header_keys: Any) -> Plan | None:
    """`plan` with the keywords its expression names stand for in headers with `header_keys`.

    The library evaluates the expressions on the minimised header (whose keys are
    fixed per instrument) plus a copy of each dotted key spelled with '_' for '.',
    and, for parkey relevance, every required key; a name therefore reads the keys
    it equals in either spelling.  A name that stands for no key or for a date
    keyword leaves the rmap to the library.
    """
    candidates = set(header_keys) | set(plan.value_keys) | set(plan.date_keys)
    keys = set(plan.value_keys)
    for name in plan.names:
        spelled = {k for k in candidates if name in (k, k.replace(".", "_"))}
        if not spelled or spelled & set(plan.date_keys):
            return None
        keys |= spelled
    value_keys = tuple(sorted(keys))
    with _token_lock:  # one number per (rmap, checksum, keys), even with two threads at once
        token = _tokens.setdefault((*plan.token, value_keys), len(_tokens))
    return dataclasses.replace(plan, value_keys=value_keys, token=token)


# -- answers ------------------------------------------------------------------------------


def best_references(pmap: Any, minimized: dict[str, str], include: list[str] | None) -> dict:
    """What `pmap.get_best_references(minimized, include)` returns, sharing kept answers."""
    try:
        imap = pmap.get_imap(pmap.get_instrument(minimized))
    except Exception:
        return pmap.get_best_references(minimized, include=include)
    kinds = [str(k).lower() for k in (include or imap.selections.keys())]
    table = _tables.get((str(imap.basename), _checksum(imap), id(imap)), dict)
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
    date = dates.get(plan.date_keys, _NOT_KEPT)
    if date is _NOT_KEPT:
        date = dates[plan.date_keys] = _lookup_date(plan, header)
    if date is None:
        return _NOT_KEPT
    values = tuple(header.get(k, _MISSING) for k in plan.value_keys)
    key = (plan.token, values, bisect.bisect_right(plan.dates, date))
    answer = _answers.get(key, _NOT_KEPT)
    if answer is _FAILED:
        return _failed_answer(plan, imap, kind, header, (plan.token, values, date))
    if answer is not _NOT_KEPT:
        return answer
    answer = imap.get_best_references(header, include=[kind]).get(kind)
    if _selection_fails(plan.rmap, header, answer):
        _answers.put(key, _FAILED)
        _answers.put((plan.token, values, date, _dnr(plan.rmap, header)), answer)
    else:
        _answers.put(key, answer)
    return answer


def _lookup_date(plan: Plan, header: dict[str, str]) -> str | None:
    """The date the library's UseAfter selection compares, or None if the library refuses it."""
    if not all(k in header for k in plan.date_keys):
        return None
    try:
        date = plan.date_reader._validate_header(header)
    except Exception:
        return None
    return date if isinstance(date, str) else None


def _selection_fails(mapping: Any, header: dict[str, str], answer: Any) -> bool:
    """Whether the library's selection failed for this header (then the answer also depends on
    the exact date, which error texts name, and on the library's do-not-reprocess check).

    A file or an omitted type only come from a successful selection; n/a and errors are
    checked with the library's own steps, in its order: relevance, then selection.
    """
    if answer is None or (isinstance(answer, str) and not answer.startswith("NOT FOUND")):
        return False
    try:
        mapping.check_rmap_relevance(utils.condition_header_keys(dict(header)))
    except crexc.IrrelevantReferenceTypeError:
        return False
    try:
        mapping.selector.choose(mapping.map_irrelevant_parkeys_to_na(dict(header)))
    except Exception:
        return True
    return False


def _dnr(mapping: Any, header: dict[str, str]) -> bool:
    """The library's do-not-reprocess check, on the header it gives it after a failed selection."""
    return mapping.dnr_check(mapping.map_irrelevant_parkeys_to_na(dict(header))) is True


def _failed_answer(plan: Plan, imap: Any, kind: str, header: dict[str, str], key: tuple) -> Any:
    """A failed selection's answer, kept under the exact date and do-not-reprocess outcome."""
    key = (*key, _dnr(plan.rmap, header))
    answer = _answers.get(key, _NOT_KEPT)
    if answer is _NOT_KEPT:
        answer = imap.get_best_references(header, include=[kind]).get(kind)
        _answers.put(key, answer)
    return answer
