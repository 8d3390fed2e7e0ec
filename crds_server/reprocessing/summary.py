"""Read-only numbers of an affected-datasets run for its page: datasets per instrument and type."""

from __future__ import annotations

from collections import Counter

from .models import AffectedChunk, AffectedRun


def datasets_by_type(run: AffectedRun) -> list[tuple[str, str, int]]:
    """(INSTRUMENT, filekind, affected exposures), by instrument then type.

    A finished run answers from its stored `update_counts`; a run still
    going counts what its finished chunks found so far.
    """
    if run.is_finished():
        stored = run.update_counts or {}
        counts = Counter({(instrument.upper(), kind): n for instrument, kinds in stored.items()
                          for kind, n in kinds.items()})
    else:
        counts = Counter()
        chunks = AffectedChunk.objects.filter(run=run).values_list("instrument", "affected")
        for instrument, affected in chunks:
            for kinds in affected.values():
                counts.update((instrument.upper(), kind) for kind in kinds)
    return [(instrument, kind, counts[(instrument, kind)]) for instrument, kind in sorted(counts)]
