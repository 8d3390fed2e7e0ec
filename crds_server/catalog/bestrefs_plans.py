"""Which .rmap answers can be shared across datasets, and what their keys are made of.

A plan says what one rmap's answer depends on: the values of every keyword the
rmap reads apart from its dates (match keys, reffile switch, every name its
relevance and omit expressions use) and the position of the dataset's date
among useafter dates.  Only rules of the shape Match -> UseAfter (or a lone
UseAfter) with file name choices get a plan; no comment keys, no relevance
expression naming a date or a keyword the header lacks.

Rules with the library's header hooks (`precondition_header`,
`fallback_header`: ACS and WFC3 BIASFILE, WFPC2 FLATFILE) get a plan too: the
memo calls the hook itself, the library's own function, and keys the
selection on the header the hook returns (`bestrefs_memo`).
"""

from __future__ import annotations

import dataclasses
import threading
import types
from dataclasses import dataclass
from typing import Any

from crds.core import rmap as crds_rmap
from crds.core import selectors

from crds_server.lib.lru import LRU

from .loader import checksum

PLANS_SIZE = 4_000
_NO_HOOK = object()


@dataclass(eq=False)
class Plan:
    """What one rmap's answer depends on: keyword values and the date's position."""

    rmap: Any
    token: Any  # (name, checksum); per header shape, a small number for that and the value keys
    value_keys: tuple[str, ...]
    date_keys: tuple[str, ...]
    dates: tuple[str, ...]  # every useafter date of the rmap, sorted
    date_reader: Any  # a UseAfter selector of the rmap: the library's own date handling
    names: frozenset[str]  # every name its expressions read
    precondition: Any = None  # the library's precondition_header hook of the rmap, if it has one
    fallback: Any = None  # the library's fallback_header hook, if it has one


_plans: LRU[Plan | None] = LRU(PLANS_SIZE)
_tokens: dict[tuple, int] = {}
_token_lock = threading.Lock()


def forget() -> None:
    """Drop every plan (tests; after a restore)."""
    global _plans
    _plans = LRU(PLANS_SIZE)


def plan_for(mapping: Any) -> Plan | None:
    """The plan of rmap `mapping`, or None when its answers must come from the library each time."""
    token = (str(mapping.basename), checksum(mapping))
    return _plans.get(token, lambda: _build_plan(mapping, token))


def _build_plan(mapping: Any, token: tuple[str, str]) -> Plan | None:
    if type(mapping) is not crds_rmap.ReferenceMapping or not token[1]:
        return None
    if mapping._comment_parkeys:
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
    return Plan(mapping, token, value_keys, date_keys, dates, reader, frozenset(names),
                precondition=_hook(mapping, "precondition_header"),
                fallback=_hook(mapping, "fallback_header"))


def _hook(mapping: Any, name: str) -> Any:
    """The library's hook `name` of the rules, as the library itself finds it, or None."""
    hook = mapping.get_hook(name, _NO_HOOK)
    return None if hook is _NO_HOOK else hook


def _useafters(selector: Any) -> tuple[tuple[str, ...], tuple[str, ...], Any] | None:
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
    return date_keys, tuple(sorted(dates)), nested[0]


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

