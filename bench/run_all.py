#!/usr/bin/env python3
"""Run every benchmark in sequence; write a summary to bench/results/latest.txt.

    .venv/bin/python bench/run_all.py [NAME ...]     (or: make bench)

NAME picks benchmarks by name (bestrefs, file_info_map, file_serving, serving, import, submit, pages;
serving_options, the side-by-side evaluation of servers, runs only when named).
All benchmarks of one run share one work directory (BENCH_WORKDIR, default a
new temp dir removed at the end unless BENCH_KEEP=1), so the corpus cache and
the datasets are built once.  Benchmarks print ratios against baselines
measured in the same run; they never fail on a timing.  Without the corpus
(../shared/corpus) every benchmark skips with a message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

BENCHMARKS = ["bestrefs", "file_info_map", "file_serving", "serving", "import", "submit", "pages"]


def main(argv: list[str]) -> int:
    chosen = argv or BENCHMARKS
    unknown = [name for name in chosen if name not in [*BENCHMARKS, "serving_options"]]
    if unknown:
        print(f"unknown benchmarks {unknown}; choose from {BENCHMARKS}")
        return 2
    if not (common.CORPUS / "make_cache.py").is_file():
        text = f"benchmarks SKIPPED: the corpus {common.CORPUS} is absent.\n"
        print(text, end="")
        common.RESULTS.mkdir(parents=True, exist_ok=True)
        (common.RESULTS / "latest.txt").write_text(text)
        return 0
    own = "BENCH_WORKDIR" not in os.environ
    work = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="crds-bench-"))
    env = dict(os.environ, BENCH_WORKDIR=str(work), PYTHONUNBUFFERED="1")
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    status = {}
    try:
        for name in chosen:
            (common.RESULTS / f"{name}.json").unlink(missing_ok=True)
            print(f"\n##### bench_{name}.py", flush=True)
            start = time.monotonic()
            done = subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")], env=env)
            status[name] = (done.returncode, time.monotonic() - start)
    finally:
        if own and os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)

    lines = [f"CRDS server benchmarks, {started}, {common.machine()}", ""]
    for name in chosen:
        code, seconds = status[name]
        saved = common.RESULTS / f"{name}.json"
        if code != 0 or not saved.exists():
            lines += [f"== {name}: FAILED or skipped (exit status {code}); see its output above", ""]
            continue
        data = json.loads(saved.read_text())
        report = common.Report.__new__(common.Report)
        report.bench, report.title = data["bench"], data["title"]
        report.rows, report.notes = data["rows"], data["notes"]
        lines += [report.table(), f"  ({seconds:.0f} s)", ""]
    summary = "\n".join(lines)
    (common.RESULTS / "latest.txt").write_text(summary + "\n")
    print("\n" + "#" * 78 + "\n" + summary)
    print(f"(written to {common.RESULTS / 'latest.txt'})")
    return 1 if any(code for code, _ in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
