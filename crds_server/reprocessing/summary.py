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


def consumers(run: AffectedRun) -> list[dict]:
    """Per consumer ("host:pid") of a run's done chunks: its work and its waiting, by name.

    `wall` and `cpu` are the seconds its chunks took and the CPU its thread
    used in them (CPU well below wall: the consumer was starved or waiting);
    `between` is the time between its chunks and `tail` the time from its
    last chunk to the end of the run's last one (idle while others worked).
    """
    done = list(AffectedChunk.objects.filter(run=run).exclude(consumer="").exclude(finished=None)
                .order_by("started").values("consumer", "size", "seconds", "cpu_seconds", "started",
                                            "finished"))
    if not done:
        return []
    end = max(c["finished"] for c in done)
    rows = []
    for name in sorted({c["consumer"] for c in done}):
        mine = [c for c in done if c["consumer"] == name]
        gaps = [(b["started"] - a["finished"]).total_seconds() for a, b in zip(mine, mine[1:], strict=False)]
        rows.append({"consumer": name, "chunks": len(mine), "datasets": sum(c["size"] for c in mine),
                     "wall": sum(c["seconds"] for c in mine), "cpu": sum(c["cpu_seconds"] for c in mine),
                     "between": sum(max(0.0, g) for g in gaps),
                     "tail": (end - mine[-1]["finished"]).total_seconds()})
    return rows


def consumer_lines(run: AffectedRun) -> list[str]:
    """One line per consumer for the run's report."""
    return [f"{r['consumer']}: {r['chunks']} chunks, {r['datasets']} datasets, wall {r['wall']:.1f} s, "
            f"CPU {r['cpu']:.1f} s, idle between chunks {r['between']:.1f} s, at the end {r['tail']:.1f} s"
            for r in consumers(run)]
