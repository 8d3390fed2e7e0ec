"""Taking on another server's context state: pointers, build contexts and context history.

Shared by the import of a synced cache (`importer`), which only adds what
is new, and by a replica (`replica.actions`), which follows its source whole.
Callers hold the transaction.
"""

from __future__ import annotations

import datetime

from . import contexts
from .models import BuildContext, ContextHistory, ContextPointer

# The calibration version a build context is kept under when its source does not say which
# (a cache's server_config and the public API give only the newest build context).
UNKNOWN_CALVER = "0"
Era = tuple[datetime.datetime, str, str]  # start date, context, description


def move_pointers(pointers: dict[str, str]) -> list[str]:
    """Set each non-empty pointer (latest, edit, versions); 'kind -> context' for each that moved."""
    moved = []
    for kind, context in pointers.items():
        if context and contexts.pointer(kind) != context:
            ContextPointer.objects.update_or_create(kind=kind, defaults={"context": context})
            moved.append(f"{kind} -> {context}")
    return moved


def set_builds(builds: dict[str, str], *, replace: bool) -> list[str]:
    """Record {calver: context}; with `replace`, drop the versions `builds` does not name."""
    current = dict(BuildContext.objects.values_list("calver", "context"))
    if current == builds or not replace and all(current.get(v) == c for v, c in builds.items()):
        return []
    if replace:
        BuildContext.objects.exclude(calver__in=builds).delete()
    for calver, context in builds.items():
        BuildContext.objects.update_or_create(calver=calver, defaults={"context": context})
    return [f"build contexts {builds}"]


def replace_history(history: list[Era], user: str) -> list[str]:
    """The given history, whole, when it differs from ours (dates compared to the second)."""
    wanted = [[contexts.format_date(d), c, t] for d, c, t in history]
    if contexts.history() == wanted:
        return []
    ContextHistory.objects.all().delete()
    ContextHistory.objects.bulk_create(
        [ContextHistory(start_date=d, context=c, description=t, user=user) for d, c, t in history])
    return [f"history ({len(history)} entries)"]


def add_history(history: list[Era], user: str) -> list[Era]:
    """The eras of `history` this server lacks (same second and context), added; oldest first."""
    known = {(row[0], row[1]) for row in contexts.history()}
    new = [era for era in history if (contexts.format_date(era[0]), era[1]) not in known]
    ContextHistory.objects.bulk_create(
        [ContextHistory(start_date=d, context=c, description=t, user=user) for d, c, t in new])
    return new
