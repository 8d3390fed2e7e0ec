"""Baseline for bench_affected: the `crds` library's own bestrefs comparison, in-process.

    python _affected_library.py OLD NEW DATASETS.jsonl OUT.json

Runs with CRDS_PATH on the server's file store (common.library_env).  Does what
`crds bestrefs --affected-datasets` does per dataset (instruments and types from
the mapping diff, `crds.getrecommendations` under both contexts,
`_compare_bestrefs`) on the affected instruments' headers already in memory;
writes {dataset id: [changed filekind, ...]} of the affected datasets to OUT.json
and prints "<seconds> <affected exposures> <datasets compared>".
"""

import json
import sys
import time


def main() -> None:
    old, new, path, out = sys.argv[1:5]
    import crds
    from crds import diff
    from crds.bestrefs.bestrefs import BestrefsScript

    wanted = {i.upper() for i in diff.get_affected(old, new, include_header_diffs=True,
                                                   hide_boring_diffs=True)}
    with open(path) as handle:  # only the affected instruments' headers, as the server reads them
        items = [item for item in map(json.loads, filter(str.strip, handle))
                 if item["instrument"] in wanted]
    start = time.perf_counter()
    script = BestrefsScript(["crds.bestrefs", "--affected-datasets", "--max-errors-per-class", "0",
                             "--old-context", old, "--new-context", new], reset_log=False)
    script.old_context, script.new_context = old, new
    script.affected_instruments = diff.get_affected(old, new, include_header_diffs=True,
                                                    hide_boring_diffs=True)
    affected = {}
    compared = 0
    for item in items:
        compared += 1
        ident, header, instrument = item["id"], item["header"], item["instrument"].lower()
        new_refs = script.get_bestrefs(instrument, ident, new, header)
        old_refs = script.get_bestrefs(instrument, ident, old, header)
        updates, killed = script._compare_bestrefs(instrument, ident, old_refs, new_refs)
        if updates and not killed:
            affected[ident] = sorted({u.filekind for u in updates})
    seconds = time.perf_counter() - start
    with open(out, "w") as handle:
        json.dump(affected, handle)
    print(f"{seconds:.3f} {len(affected)} {compared}")
    del crds


if __name__ == "__main__":
    main()
