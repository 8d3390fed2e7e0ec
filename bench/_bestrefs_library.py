"""Baseline for bench_bestrefs: the `crds` library in-process, in local mode.

Run as a subprocess with CRDS_PATH, CRDS_MODE=local and a serverless
CRDS_SERVER_URL already set (see common.library_env).

    python _bestrefs_library.py CONTEXT DATASETS.jsonl SINGLE_CALLS OUT.json

Loads the context and runs every header once (untimed: the library loads
each .rmap on first use), then times `hv_best_references` over every header
(median of 3 passes), then `SINGLE_CALLS` single calls one by one, and writes the results
and timings to OUT.json.  Every pass gives each header a fresh value of IGNORED, a
keyword no rule reads, as the server's passes do; the results are those of the value
IGNORED_LAST, the one of the server's last timed pass.
"""

import json
import sys
import time

IGNORED = "XBENCHROUND"
IGNORED_LAST = "round-2"


def main() -> None:
    context, datasets, single_calls, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    from crds.core import heavy_client

    with open(datasets) as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    start = time.perf_counter()
    heavy_client.get_symbolic_mapping(context, cached=True)
    load_seconds = time.perf_counter() - start

    def one(header):
        try:
            return [True, heavy_client.hv_best_references(context, header)]
        except Exception as exc:  # the server reports these as [false, "FAILED: ..."]
            return [False, f"FAILED: {exc}"]

    # The library loads each .rmap lazily on first use: one untimed pass first.
    results = {item["id"]: one(dict(item["header"], **{IGNORED: IGNORED_LAST})) for item in items}
    runs = []
    for round_ in range(3):
        start = time.perf_counter()
        for item in items:
            one(dict(item["header"], **{IGNORED: f"library-{round_}"}))
        runs.append(time.perf_counter() - start)
    bulk_seconds = sorted(runs)[1]

    single = []
    for index in range(single_calls):
        header = items[index % len(items)]["header"]
        start = time.perf_counter()
        one(header)
        single.append(time.perf_counter() - start)

    with open(out, "w") as handle:
        json.dump({"load_seconds": load_seconds, "bulk_seconds": bulk_seconds, "single": single,
                   "results": results}, handle)


if __name__ == "__main__":
    main()
