"""Chunks of an affected-datasets run, sized by expected cost so consumers share the work evenly.

A dataset's cost is taken as the number of types compared for it (its
instrument's affected types) plus one for reading and comparing it.  The plan
aims at about `AFFECTED_CHUNKS` chunks of equal cost over all instruments,
each of at least `AFFECTED_MIN_CHUNK` and at most `AFFECTED_CHUNK_SIZE`
datasets, and consumers take the biggest first: the small remainders come
last, so no consumer waits long for the others at the end of a run.

Chunk boundaries are found in the database (index range queries that return
only the first id of each chunk), so planning a million datasets never loads
a million ids into Python.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import Count, Max

from crds_server.datasets.models import Dataset

from .models import AffectedChunk, AffectedRun


def _setting(name: str, default: int) -> int:
    return max(1, int(getattr(settings, name, default)))


def rows_per_chunk(counts: dict[str, int], weights: dict[str, int]) -> dict[str, int]:
    """{instrument: datasets per chunk} giving chunks of about equal cost, within the bounds."""
    total = sum(counts[i] * weights[i] for i in counts)
    target = max(1, math.ceil(total / _setting("AFFECTED_CHUNKS", 64)))
    smallest, largest = _setting("AFFECTED_MIN_CHUNK", 200), _setting("AFFECTED_CHUNK_SIZE", 5000)
    return {i: min(largest, max(smallest, math.ceil(target / weights[i]))) for i in counts}


def _first_ids(instrument: str, rows: int) -> list[int]:
    """The first id of every run of `rows` consecutive datasets of `instrument` (by id).

    Each step is one index range query skipping `rows` entries (LIMIT 1
    OFFSET rows), so the database walks the instrument's index once in all.
    """
    mine = Dataset.objects.filter(instrument=instrument).order_by("pk").values_list("pk", flat=True)
    firsts: list[int] = []
    following = mine.first()
    while following is not None:
        firsts.append(following)
        following = next(iter(mine.filter(pk__gte=following)[rows:rows + 1]), None)
    return firsts


def chunks(run: AffectedRun, affected: dict[str, list[str]]) -> list[AffectedChunk]:
    """Unsaved chunks of the affected instruments' datasets, costliest first."""
    found = (Dataset.objects.filter(instrument__in=[i.upper() for i in affected]).order_by()
             .values("instrument").annotate(n=Count("pk"), last=Max("pk")))
    stats = {row["instrument"].lower(): row for row in found}
    weights = {i: len(affected[i]) + 1 for i in stats}
    sizes = rows_per_chunk({i: s["n"] for i, s in stats.items()}, weights)
    made = []
    for instrument, stat in sorted(stats.items()):
        rows, firsts = sizes[instrument], _first_ids(instrument.upper(), sizes[instrument])
        lasts = [following - 1 for following in firsts[1:]] + [stat["last"]]
        for index, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
            size = rows if index < len(firsts) - 1 else stat["n"] - rows * index
            made.append(AffectedChunk(run=run, instrument=instrument, first_id=first, last_id=last,
                                      size=size, cost=size * weights[instrument]))
    return sorted(made, key=lambda c: (-c.cost, c.instrument, c.first_id))
