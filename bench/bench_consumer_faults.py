#!/usr/bin/env python3
"""Two job consumers on Redis, one killed with kill -9 mid-run: how soon the other takes over.

One demo server (SQLite database, Redis job queue of its own name), consumer
A slowed down so it holds the `watch-deliveries` lease and an affected-datasets
chunk when killed, consumer B a plain `run_huey` (tests/consumer_faults.py).
Prints, in seconds after the kill: the chunk claimed by B, the lease free
(its expiry), the run finished, and B's own scheduler running watch_deliveries.

    BENCH_FAULTS=default   the shipped settings (lease 60 s, stale 45 s, heartbeat 10 s)
    BENCH_FAULTS=short     the test's settings (lease 3 s, stale 6 s, heartbeat 1 s)

Never fails on a timing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.consumer_faults import Faults, kill_one_mid_run  # noqa: E402
from tests.live import port_open  # noqa: E402

SETTINGS = {
    "default": {"CRDS_SERVER_AFFECTED_CHUNK": "17"},
    "short": {"CRDS_SERVER_JOB_LEASE_SECONDS": "3", "CRDS_SERVER_AFFECTED_STALE_SECONDS": "6",
              "CRDS_SERVER_AFFECTED_HEARTBEAT_SECONDS": "1", "CRDS_SERVER_AFFECTED_CHUNK": "17"},
}


def main() -> int:
    if not port_open(6379):
        print("bench_consumer_faults SKIPPED: Redis is not running on 127.0.0.1:6379")
        return 0
    kind = os.environ.get("BENCH_FAULTS", "default")
    with tempfile.TemporaryDirectory(prefix="crds-faults-") as home:
        faults = Faults(Path(home), SETTINGS[kind])
        faults.prepare()
        try:
            outcome = kill_one_mid_run(faults, slow=2.5)
        finally:
            faults.stop()
    print(f"settings: {kind} {SETTINGS[kind]}")
    print(f"run {outcome.run_status}; chunk {outcome.killed_chunk} attempts "
          f"{[c[3] for c in outcome.chunks if c[0] == outcome.killed_chunk][0]}")
    print(f"after kill -9: chunk taken over {outcome.chunk_taken_over:6.1f} s")
    print(f"               lease free       {outcome.lease_free:6.1f} s")
    print(f"               run finished     {outcome.run_finished:6.1f} s")
    print(f"               periodic task    {outcome.periodic_after_kill:6.1f} s (B's scheduler)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
