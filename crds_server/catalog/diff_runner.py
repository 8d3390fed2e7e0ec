"""The child process of a reference difference: `python -m crds_server.catalog.diff_runner
OBSERVATORY OLD_PATH NEW_PATH` runs the crds library's own difference and prints it.

A child, not the web worker, runs it: the library prints to stdout (which a threaded
worker cannot capture safely), and fitsdiff on an odd or huge file may take any time
or memory, so the parent bounds it with a timeout and this process with rlimits.
No Django here: only the library.
"""

from __future__ import annotations

import resource
import sys

MEMORY_BYTES = 2 * 1024**3
CPU_SECONDS = 60
FAILED = 3


def main(argv: list[str]) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    observatory, old, new = argv[1:4]
    from crds import diff
    from crds.core import config

    kind = config.filetype(old)
    try:
        if kind == "mapping":  # an uploaded rules file against a catalogued one
            status = diff.difference(observatory, old, new, include_header_diffs=True,
                                     mapping_text_diffs=True)
        elif kind in ("geis", "json"):
            # GEIS headers are text; the library's json differencer cannot write its temporary
            # pretty-printed copy (str into a binary file), so both get the library's text diff.
            status = diff.text_difference(observatory, old, new)
        else:
            status = diff.difference(observatory, old, new)
    except Exception as exc:  # an odd file: say why, with a status apart from 0/1 (same/differ)
        sys.stdout.flush()
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return FAILED
    sys.stdout.flush()
    return {0: 0, 1: 1}.get(int(status or 0), FAILED)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
