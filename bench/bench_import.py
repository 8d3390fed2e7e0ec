#!/usr/bin/env python3
"""`crds-server import-cache` of the whole corpus into a fresh home.

Measures the command's wall time (process start included) and peak memory
(`/usr/bin/time -v` when available, else the wrapper's
`getrusage(RUSAGE_CHILDREN).ru_maxrss`), and as baselines, on the same tree:

- `cp -al` (hard-link the tree: the floor of placing files in a store);
- sha1 of every file in-process (the floor of checksumming every file);
- both together, the least any import that checks and places files must do;
- the straightforward import (`_import_reference.py`: whole headers parsed by
  astropy, a separate checksum read, `bulk_create`, the context loaded again),
  whose catalog rows must equal the import's, row for row.

The import writes ~18,700 catalog rows, checks every mapping's checksum with
the `crds` library and reads every reference's header besides.

Environment: BENCH_ROUNDS (imports, default 2; baselines 3).
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TIME = Path("/usr/bin/time")


def run_import(home: Path, cache: Path, argv: list[str] | None = None) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS in MB, how RSS was measured, CPU seconds) of one import-cache (or of
    `argv`).  CPU time (user + system, of the finished child) moves less than wall time when
    other work shares the machine."""
    before = _children_cpu()
    seconds, peak, how = _run_import(home, cache, argv)
    return seconds, peak, how, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_import(home: Path, cache: Path, argv: list[str] | None) -> tuple[float, float, str]:
    argv = argv or [str(common.BIN / "crds-server"), "import-cache", str(cache), "-v", "0"]
    env = common.server_env(home, "hst")
    if TIME.exists():
        start = time.perf_counter()
        done = subprocess.run([str(TIME), "-v", *argv], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        peak, how = (int(match.group(1)) / 1024 if match else float("nan")), "/usr/bin/time -v"
    else:
        wrapper = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                   "sys.exit(done.returncode)")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", wrapper, *argv], env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak, how = int(done.stdout.split()[-1]) / 1024, "getrusage(RUSAGE_CHILDREN)"
    if done.returncode != 0:
        raise RuntimeError(f"import-cache failed:\n{done.stdout}\n{done.stderr}")
    return seconds, peak, how


def catalog_rows(db: Path) -> list[list]:
    """The catalog's File rows in insertion order; activation dates (the import's own time) as
    their rank."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        columns = [r[1] for r in con.execute("PRAGMA table_info(catalog_file)")]
        rows = [list(r) for r in con.execute(f"SELECT {', '.join(columns)} FROM catalog_file ORDER BY id")]
    dated = columns.index("activation_date")
    stamps = sorted({r[dated] for r in rows if r[dated] is not None})
    for row in rows:
        row[dated] = None if row[dated] is None else stamps.index(row[dated])
    return rows


def reference_import(cache: Path) -> tuple[float, float, Path]:
    """(wall seconds, CPU seconds, database) of the straightforward import (bench/_import_reference.py)."""
    home = common.workdir() / "import-reference"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    common.manage(home, "hst", "init", "--observatory", "hst")
    common.step("the straightforward import (whole headers, bulk_create, context loaded), once")
    argv = [sys.executable, str(Path(__file__).with_name("_import_reference.py")), str(cache)]
    seconds, _, _, cpu = run_import(home, cache, argv)
    return seconds, cpu, home / "db.sqlite3"


def copy_links(cache: Path, target: Path) -> float:
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(["cp", "-al", str(cache), str(target)], check=True)
    return time.perf_counter() - start


def hash_tree(cache: Path) -> tuple[float, int, int]:
    """(seconds, files, bytes) to sha1 every file under `cache`."""
    start = time.perf_counter()
    files = total = 0
    for dirpath, _dirs, names in os.walk(cache):
        for name in names:
            if name.startswith("."):  # the work dir's build stamp, not corpus data
                continue
            digest = hashlib.sha1()
            with open(os.path.join(dirpath, name), "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    total += len(chunk)
            files += 1
    return time.perf_counter() - start, files, total


def main() -> None:
    common.require_corpus("bench_import")
    report = common.Report("import", "crds-server import-cache of the corpus into a fresh home")
    cache = common.corpus_cache()

    imports = []
    for index in range(ROUNDS):
        home = common.workdir() / f"import-{index}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        common.manage(home, "hst", "init", "--observatory", "hst")
        common.step(f"import-cache round {index + 1} of {ROUNDS}")
        imports.append(run_import(home, cache))
        if index:
            shutil.rmtree(home, ignore_errors=True)
    seconds = common.median(i[0] for i in imports)
    cpu = common.median(i[3] for i in imports)
    peak = max(i[1] for i in imports)
    how = imports[0][2]

    before, before_cpu, before_db = reference_import(cache)
    ours, theirs = catalog_rows(common.workdir() / "import-0" / "db.sqlite3"), catalog_rows(before_db)
    differing = sum(a != b for a, b in zip(ours, theirs, strict=False)) + abs(len(ours) - len(theirs))
    shutil.rmtree(before_db.parent, ignore_errors=True)

    common.step("baselines: cp -al and sha1 of every file, 3 rounds each")
    links = common.median(copy_links(cache, common.workdir() / "import-cp-al") for _ in range(3))
    shutil.rmtree(common.workdir() / "import-cp-al", ignore_errors=True)
    hashes = [hash_tree(cache) for _ in range(3)]
    hashing = common.median(h[0] for h in hashes)
    files, total = hashes[0][1], hashes[0][2]

    report.row("import-cache wall time", f"{seconds:.1f} s", f"{links:.2f} s cp -al",
               f"{seconds / links:.0f}x", "< 5 s", "ok" if seconds < 5 else "over")
    report.row("import-cache vs sha1 of every file", f"{seconds:.1f} s", f"{hashing:.2f} s sha1",
               f"{seconds / hashing:.1f}x", "(info)")
    report.row("import-cache vs cp -al + sha1", f"{seconds:.1f} s", f"{links + hashing:.2f} s",
               f"{seconds / (links + hashing):.1f}x", "(info)")
    report.row("import-cache vs the straightforward import", f"{seconds:.1f} s", f"{before:.1f} s",
               f"{seconds / before:.2f}x", "(info)")
    report.row("import-cache CPU time vs the straightforward import's", f"{cpu:.1f} s",
               f"{before_cpu:.1f} s", f"{cpu / before_cpu:.2f}x", "(info)")
    report.row("rows differing from the straightforward import", f"{differing} of {len(theirs):,}", "",
               "", "0", "ok" if differing == 0 else "DIFFERENT")
    report.row("import-cache peak memory (RSS)", f"{peak:.0f} MB", "", "", "(info)")
    report.row("import-cache rate", common.fmt_rate(files / seconds, "files/s"))
    home0 = common.workdir() / "import-0"
    db = home0 / "db.sqlite3"
    report.note(f"{files:,} files, {total / 1e6:.0f} MB, page cache warm; import wall time includes "
                f"process start (~1 s of Django + crds + astropy imports), median of {ROUNDS}; "
                f"peak RSS by {how}; database after import {db.stat().st_size / 1e6:.1f} MB (SQLite)")
    report.save()


if __name__ == "__main__":
    main()
