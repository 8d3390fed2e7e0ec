#!/usr/bin/env python3
"""`crds-server replicate` of the corpus server (~18,700 files) against `crds sync` of the same server.

On one source (the corpus imported, `crds-server run`, 4 workers):

- first replication into an empty server (`crds-server replicate URL`, the
  command's wall time, process start included; BENCH_REPLICA_WORKERS
  parallel downloads, default 4);
- follow runs with nothing new (the same command again, FOLLOWS times: the
  first meets source workers that have not answered these calls yet, the
  others what the periodic job meets; goal under 2 s);
- baseline: `crds sync --all --fetch-references` of the same server into an
  empty cache, with the real client (goal: the first replication no slower).

Prints the times and their ratios; never fails on a timing.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WORKERS = os.environ.get("BENCH_REPLICA_WORKERS", "4")
FOLLOWS = int(os.environ.get("BENCH_FOLLOWS", "5"))


def replicate(home: Path, url: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = common.manage(home, "hst", "replicate", url, "--workers", WORKERS, "-v", "0")
    return time.perf_counter() - start, out.strip()


def main() -> None:
    common.require_corpus("bench_replicate")
    source = common.start_server(common.fresh_server("source"), workers=4)
    replica = common.workdir() / "replica"
    shutil.rmtree(replica, ignore_errors=True)
    replica.mkdir()
    common.manage(replica, "hst", "init", "--observatory", "hst", "--usecase", "test")
    common.step("first replication")
    first, first_out = replicate(replica, source.url)
    common.step(f"{FOLLOWS} follow runs with nothing new")
    follows = [replicate(replica, source.url) for _ in range(FOLLOWS)]
    inside = [float(re.search(r"([0-9.]+) s\.$", out).group(1)) for _, out in follows]
    follow = common.median(t for t, _ in follows[1:] or follows)
    common.step("crds sync --all --fetch-references into an empty cache")
    cache = common.workdir() / "sync-cache"
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    done = source.crds(cache, "sync", "--all", "--fetch-references")
    sync = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    files = re.search(r"(\d+) files downloaded", first_out)
    print(f"first replication : {first:7.1f} s  ({files.group(1) if files else '?'} files; {first_out})")
    print(f"follow, nothing new: first {follows[0][0]:5.1f} s, then median {follow:5.1f} s wall "
          f"(process start included); inside the command {inside}  ({follows[-1][1]})")
    print(f"crds sync baseline: {sync:7.1f} s")
    print(f"ratio first / sync: {first / sync:5.2f}  (goal <= 1)")
    print(f"follow under 2 s  : {common.verdict(follow < 2.0)} (wall), "
          f"{common.verdict(common.median(inside[1:] or inside) < 2.0)} (inside the command)")


if __name__ == "__main__":
    main()
