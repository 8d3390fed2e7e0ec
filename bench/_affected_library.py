"""Baseline for bench_affected: the `crds` library's own bestrefs comparison, in-process.

    python _affected_library.py OLD NEW INSTRUMENT DATASETS.jsonl

Runs with CRDS_PATH on the server's file store (common.library_env).  Does what
`crds bestrefs --affected-datasets` does per dataset (types from the mapping
diff, `crds.getrecommendations` under both contexts, `_compare_bestrefs`) on the
instrument's headers already in memory; prints "<seconds> <affected exposures>".
"""

import json
import sys
import time


def main() -> None:
    old, new, instrument, path = sys.argv[1:5]
    import crds
    from crds import diff
    from crds.bestrefs.bestrefs import BestrefsScript

    with open(path) as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    headers = {i["id"]: i["header"] for i in items if i["instrument"] == instrument.upper()}
    start = time.perf_counter()
    script = BestrefsScript(["crds.bestrefs", "--affected-datasets", "--max-errors-per-class", "0",
                             "--old-context", old, "--new-context", new], reset_log=False)
    script.old_context, script.new_context = old, new
    script.affected_instruments = diff.get_affected(old, new, include_header_diffs=True,
                                                    hide_boring_diffs=True)
    affected = 0
    for ident, header in headers.items():
        new_refs = script.get_bestrefs(instrument.lower(), ident, new, header)
        old_refs = script.get_bestrefs(instrument.lower(), ident, old, header)
        updates, killed = script._compare_bestrefs(instrument.lower(), ident, old_refs, new_refs)
        affected += bool(updates and not killed)
    print(f"{time.perf_counter() - start:.3f} {affected} {len(headers)}")
    del crds


if __name__ == "__main__":
    main()
