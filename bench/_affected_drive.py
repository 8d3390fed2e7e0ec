"""Driver for bench_affected: plan a run, queue its chunks and wait for the consumers.

    python _affected_drive.py OLD NEW OUT.json

Runs with the server's settings while `crds-server run_huey` consumers are up.
Deletes any earlier run of OLD -> NEW, then times planning (mapping diff,
chunks), queueing one job per chunk and the consumers' work until the run is
finished.  Writes to OUT.json {"affected": {compound id: [changed filekind,
...]}, "consumers": [per consumer: chunks, wall, cpu, between, tail], "plan":
seconds, "plan_chunks": seconds of its counts and chunk boundaries} and
prints "<seconds> <status> <chunks> <sum of chunk seconds>".
"""

from __future__ import annotations

import json
import sys
import time

import django


def main() -> None:
    django.setup()
    from huey.contrib.djhuey import HUEY

    from crds_server.reprocessing import actions, planning, summary, tasks
    from crds_server.reprocessing.models import AffectedChunk, AffectedRun

    old, new, out = sys.argv[1:4]
    AffectedRun.objects.filter(old_context=old, new_context=new).delete()
    HUEY.flush()
    start = time.perf_counter()
    run = actions.start_run(old, new)
    chunk_ids = actions.plan(run)
    planned = time.perf_counter() - start
    tasks.enqueue(chunk_ids)
    while not run.is_finished():
        time.sleep(0.1)
        run.refresh_from_db()
    seconds = time.perf_counter() - start
    again = time.perf_counter()  # the plan's database part alone: counts and chunk boundaries
    planning.chunks(run, run.affected)
    planned_chunks = time.perf_counter() - again
    chunks = list(AffectedChunk.objects.filter(run=run).values_list("affected", "seconds"))
    with open(out, "w") as handle:
        json.dump({"affected": {i: t for affected, _ in chunks for i, t in affected.items()},
                   "consumers": summary.consumers(run), "plan": planned,
                   "plan_chunks": planned_chunks}, handle)
    print(f"{seconds:.3f} {run.status} {len(chunks)} {sum(s for _, s in chunks):.3f}")


if __name__ == "__main__":
    main()
