"""The database part of planning an affected-datasets run, alone: counts and chunk boundaries.

    CRDS_SERVER_HOME=NEW_HOME python bench/_affected_plan.py COUNT

Runs with the server's settings on a new, initialised home (`crds-server init`):
inserts COUNT placeholder datasets spread over six instruments, then times
`planning.chunks` for a change of 20 types in every instrument (three times)
and prints "<datasets> <chunks> <best seconds>".  The mapping diff, the other
part of a plan, does not depend on the number of datasets.
"""

from __future__ import annotations

import sys
import time

import django

INSTRUMENTS = ["ACS", "COS", "NICMOS", "STIS", "WFC3", "WFPC2"]


def main() -> None:
    django.setup()
    from crds_server.datasets.models import Dataset
    from crds_server.reprocessing import planning
    from crds_server.reprocessing.models import AffectedRun

    count = int(sys.argv[1])
    Dataset.objects.all().delete()
    for start in range(0, count, 10_000):
        Dataset.objects.bulk_create(
            Dataset(product=f"P{n:08d}", exposure="E", instrument=INSTRUMENTS[n % 6], header={})
            for n in range(start, min(count, start + 10_000)))
    run = AffectedRun.objects.create(old_context="plan-a.pmap", new_context="plan-b.pmap")
    affected = {i.lower(): [f"type{k}" for k in range(20)] for i in INSTRUMENTS}
    times, chunks = [], []
    for _ in range(3):
        start = time.perf_counter()
        chunks = planning.chunks(run, affected)
        times.append(time.perf_counter() - start)
    run.delete()
    print(f"{count} {len(chunks)} {min(times):.3f}")


if __name__ == "__main__":
    main()
