#!/usr/bin/env python3
"""Best references: the server's JSON-RPC vs the `crds` library in-process.

1. Bulk: `get_best_references_by_header_map` in batches of BATCH headers,
   one client at a time (and, for information, two clients at once: the
   server has two workers), vs `hv_best_references` in a loop in-process.
   Every pass (warm-up and timed, both sides) gives each header a fresh
   value of a keyword no rule reads, so no whole-header answer can be
   replayed: what the server may share is only each type's answer for the
   values its rules match on.  Throughput in headers/s both ways and the
   ratio (goal >= 1.2x).
2. Single call: `get_best_references` on a new connection per call (the
   client's urllib opens one per call), median and p95 over CALLS calls, vs
   the same single call in-process; the difference is the server overhead.
3. Identity: every server result must equal the library's, error strings
   included; the mismatch count is printed (must be 0).

Environment: BENCH_DATASETS (default 2000), BENCH_BATCH (500), BENCH_CALLS (200).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CONTEXT = "hst.pmap"
IGNORED = "XBENCHROUND"  # a keyword no rule reads (as _bestrefs_library.IGNORED)
DATASETS = int(os.environ.get("BENCH_DATASETS", "2000"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
CALLS = int(os.environ.get("BENCH_CALLS", "200"))


def post(port: int, method: str, params: list, keep: http.client.HTTPConnection | None = None):
    """One JSON-RPC call as the client makes it (POST /json/<method>/<id>/); returns result."""
    body = json.dumps({"jsonrpc": "1.0", "method": method, "params": params, "id": "1"})
    conn = keep or http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", f"/json/{method}/1/", body=body,
                 headers={"Content-Type": "application/json", "Connection": "close"})
    response = conn.getresponse()
    reply = json.loads(response.read())
    conn.close()
    if reply.get("error"):
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def by_header_map(port: int, batches: list[dict]) -> dict:
    results: dict = {}
    for batch in batches:
        results.update(post(port, "get_best_references_by_header_map", [CONTEXT, batch]))
    return results


def fresh_batches(items: list[dict], value: str) -> list[dict]:
    """The headers in batches of BATCH, each with IGNORED = `value` (new for every pass)."""
    return [{d["id"]: dict(d["header"], **{IGNORED: value}) for d in items[i:i + BATCH]}
            for i in range(0, len(items), BATCH)]


def parallel(port: int, batches: list[dict], clients: int) -> dict:
    results: dict = {}
    lock = threading.Lock()
    queue = list(batches)

    def work():
        while True:
            with lock:
                if not queue:
                    return
                batch = queue.pop()
            answer = post(port, "get_best_references_by_header_map", [CONTEXT, batch])
            with lock:
                results.update(answer)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def warm_up(port: int, header: dict, workers: int) -> None:
    """Make every worker load the context (concurrent calls land on different workers)."""
    for _ in range(3):
        threads = [threading.Thread(target=post, args=(port, "get_best_references", [CONTEXT, header]))
                   for _ in range(workers * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main() -> None:
    common.require_corpus("bench_bestrefs")
    report = common.Report("bestrefs", f"best references, server vs crds library ({CONTEXT})")
    datasets_path = common.datasets_file(DATASETS)
    items = common.read_datasets(datasets_path)
    home = common.fresh_server("bestrefs", datasets_path)
    workers = 2
    server = common.start_server(home, workers=workers)

    # Library baseline first, in a subprocess with the library's local-mode environment.
    common.step("library in-process (subprocess, CRDS_MODE=local)")
    out = common.workdir() / "bestrefs-library.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_bestrefs_library.py")), CONTEXT,
         str(datasets_path), str(CALLS), str(out)],
        env=common.library_env(common.corpus_cache()), check=True,
    )
    library = json.loads(out.read_text())

    warm_up(server.port, items[0]["header"], workers)
    common.step("server: untimed passes so that every worker has loaded every .rmap")
    for index in range(2):
        parallel(server.port, fresh_batches(items, f"warm-{index}"), workers)

    batches = fresh_batches(items, "round-0")
    common.step(f"server: {len(items)} headers in {len(batches)} batches of {BATCH}, one client, "
                f"a fresh {IGNORED} value each pass")
    runs = []
    busy = common.busy_fraction()
    for index in range(3):
        batches = fresh_batches(items, f"round-{index}")  # round-2 matches the library's results
        seconds, served = common.timed(by_header_map, server.port, batches)
        runs.append(seconds)
    seconds = common.median(runs)
    common.step(f"server: the same with {workers} clients at once")
    par_seconds, _ = common.timed(parallel, server.port, fresh_batches(items, "parallel"), workers)

    lib_rate = len(items) / library["bulk_seconds"]
    srv_rate = len(items) / seconds
    ratio = srv_rate / lib_rate
    report.row("bulk by_header_map, 1 client (headers/s)", common.fmt_rate(srv_rate, "h/s"),
               common.fmt_rate(lib_rate, "h/s"), f"{ratio:.2f}x", ">= 1.2x",
               common.verdict(ratio >= 1.2))
    par_rate = len(items) / par_seconds
    report.row(f"bulk by_header_map, {workers} clients (headers/s)", common.fmt_rate(par_rate, "h/s"),
               common.fmt_rate(lib_rate, "h/s"), f"{par_rate / lib_rate:.2f}x", "(info)")

    # Identity.
    mismatches = [k for k, v in library["results"].items() if served.get(k) != v]
    missing = len(set(library["results"]) ^ set(served))
    errors = sum(1 for v in served.values() if not v[0])
    report.row("results identical to the library (mismatches)", str(len(mismatches) + missing),
               f"{len(items)} datasets", "", "0", common.verdict(not mismatches and not missing))
    if errors:
        report.note(f"{errors} datasets failed as a whole ([false, 'FAILED: ...']) both ways")
    if mismatches:
        first = mismatches[0]
        report.note(f"first mismatch {first}: server {served.get(first)!r:.300} "
                    f"library {library['results'][first]!r:.300}")

    # Single-call latency.
    common.step(f"server: {CALLS} single get_best_references calls, new connection each")
    single = []
    for index in range(CALLS):
        header = items[index % len(items)]["header"]
        start = time.perf_counter()
        post(server.port, "get_best_references", [CONTEXT, header])
        single.append(time.perf_counter() - start)
    med, tail = common.median(single) * 1000, common.p95(single) * 1000
    lib_med, lib_tail = common.median(library["single"]) * 1000, common.p95(library["single"]) * 1000
    report.row("single get_best_references median (ms)", f"{med:.2f} ms", f"{lib_med:.2f} ms",
               f"{med - lib_med:+.2f} ms", "<= +1 ms", common.verdict(med - lib_med <= 1.0))
    report.row("single get_best_references p95 (ms)", f"{tail:.2f} ms", f"{lib_tail:.2f} ms",
               f"{tail - lib_tail:+.2f} ms", "(overhead)")
    report.note(f"{len(items)} synthetic datasets (make_datasets.py seed 7); server: {workers} gunicorn "
                f"workers; library: one process; both warmed by untimed passes (the library loads .rmaps "
                f"lazily), bulk times are the median of 3 passes, each with a fresh {IGNORED} value; "
                f"machine busy {busy:.0%} (other processes) when the timed passes began")
    report.save()


if __name__ == "__main__":
    main()
