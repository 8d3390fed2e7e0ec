"""Affected datasets over synthetic datasets for one-type, all-types and all-instruments changes.

Not a test.  For each change, times the server's run (plan, one job per chunk,
N running `crds-server run_huey` consumer processes until the run is finished)
with 1, 2 and 4 consumers, against the crds library's own bestrefs comparison
of the two contexts on the same headers in one process; prints the ratios,
the plan's seconds, each consumer's wall and CPU seconds in chunks and its
idle seconds, and checks that the server's affected datasets and types are
the library's (mismatches must be 0).

    .venv/bin/python bench/bench_affected.py [COUNT] [--consumers 1,2,4] [--changes one,all,every]
                                             [--library-sample N] [--postgres]

The changes (bench/_affected_contexts.py), all from hst.pmap:
  one    ACS ATODTAB: the reference most synthetic ACS headers select
         (kcb1734ij_a2d.fits, about half of them) is replaced by another file.
  all    every ACS rmap (17 types): each reference becomes the next one of its rmap.
  every  the same in every rmap of every instrument: every dataset is compared.

--library-sample N: run the library on the first N datasets only and count
mismatches on those (the library alone takes over an hour on an every-instrument
change of 1,000,000 datasets).  The goal run (on a quiet machine):

    .venv/bin/python bench/bench_affected.py 1000000 --changes every --consumers 1,2 \
        --library-sample 100000

--postgres: PostgreSQL (a fresh database `crds_bench_affected_COUNT` on
BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432) and Redis job
storage (BENCH_REDIS, default redis://127.0.0.1:6379/13), the production
setting for several consumers; default: SQLite database and job storage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import (
    BIN,
    REPO,
    Report,
    corpus_cache,
    datasets_file,
    library_env,
    manage,
    require_corpus,
    server_env,
    step,
    workdir,
)

CHANGES = {"one": ("acs", "atodtab", "kcb1734ij_a2d.fits", "9001"),
           "all": ("acs", "all", "-", "9002"),
           "every": ("all", "all", "-", "9003")}
OLD = "hst.pmap"


def server_extra(count: int, postgres: bool) -> dict[str, str]:
    if not postgres:
        return {}
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    name = f"crds_bench_affected_{count}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return {"DATABASE_URL": f"{base}/{name}",
            "HUEY_REDIS_URL": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")}


def setup_home(count: int, data: Path, extra: dict[str, str], report: Report) -> Path:
    """A new home with the corpus, `data` imported (timed) and the derived contexts."""
    home = workdir() / f"affected-{count}-{'pg' if extra else 'sqlite'}"
    subprocess.run(["rm", "-rf", str(home)], check=True)
    home.mkdir(parents=True)
    step(f"new server home {home}: init, import-cache, import-datasets")
    manage(home, "hst", "init", "--observatory", "hst", **extra)
    manage(home, "hst", "import-cache", str(corpus_cache()), "-v", "0", **extra)
    start = time.perf_counter()
    manage(home, "hst", "import-datasets", str(data), **extra)
    report.row(f"import-datasets of {count:,} datasets", f"{time.perf_counter() - start:.1f} s")
    env = server_env(home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings",
                     PYTHONPATH=str(REPO), **extra)
    for instrument, filekind, replaced, serial in CHANGES.values():
        subprocess.run([str(BIN / "python"), str(REPO / "bench" / "_affected_contexts.py"), OLD,
                        instrument, filekind, replaced, serial], env=env, capture_output=True,
                       text=True, check=True, cwd=REPO)
    # The library in local mode reads config/hst/server_config: publish the store onto itself
    # (every file is already there, so only the configuration is written).
    manage(home, "hst", "publish", "--to", str(home / "file_cache"), **extra)
    return home


def library(home: Path, new: str, data: Path) -> tuple[float, dict[str, list[str]], int]:
    out = workdir() / f"library-{new}-{data.stem}.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "_affected_library.py"), OLD, new,
                           str(data), str(out)], env=library_env(home / "file_cache"),
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the library baseline failed:\n{done.stderr[-3000:]}")
    seconds, _, compared = done.stdout.split()[-3:]
    return float(seconds), json.loads(out.read_text()), int(compared)


def consumers(home: Path, count: int, new: str, extra: dict[str, str]) -> tuple[float, dict, str]:
    """Start `count` consumers, wait until they are up, time the run; (seconds, drive's JSON, detail)."""
    logs = [open(workdir() / f"consumer-{i}.log", "w+") for i in range(count)]
    # One worker each (the work is CPU-bound); --max-delay 1: an idle SQLite consumer polls
    # at most every second (huey's default backs off to 10 s).
    procs = [subprocess.Popen([str(BIN / "crds-server"), "run_huey", "-w", "1", "--no-periodic",
                               "--max-delay", "1"], env=server_env(home, "hst", **extra),
                              stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        while not all("consumer started" in Path(log.name).read_text() for log in logs):
            time.sleep(0.2)
        out = workdir() / f"server-{new}-{count}.json"
        done = subprocess.run([str(BIN / "python"), str(REPO / "bench" / "_affected_drive.py"), OLD,
                               new, str(out)], env=server_env(
                                   home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings",
                                   PYTHONPATH=str(REPO), **extra),
                              capture_output=True, text=True, cwd=REPO, check=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    seconds, status, chunks, busy = done.stdout.split()[-4:]
    found = json.loads(out.read_text())
    detail = (f"{status}, {chunks} chunks, {float(busy):.1f} s in chunks, plan {found['plan']:.2f} s "
              f"(chunks {found['plan_chunks']:.2f} s)")
    return float(seconds), found, detail


def sample(data: Path, size: int | None) -> tuple[Path, set[str] | None]:
    """The first `size` datasets of `data` as a file, and their ids (all of `data`: None)."""
    if not size:
        return data, None
    path = workdir() / f"{data.stem}-first-{size}.jsonl"
    ids = set()
    with open(data) as source, open(path, "w") as out:
        for line in source:
            if len(ids) == size:
                break
            if line.strip():
                ids.add(json.loads(line)["id"])
                out.write(line)
    return path, ids


def consumer_rows(report: Report, label: str, found: dict) -> None:
    """One row per consumer: wall vs CPU seconds in chunks, idle between chunks and at the end."""
    for row in found["consumers"]:
        report.row(f"{label}: {row['consumer']}", f"{row['wall']:.1f} s wall", f"{row['cpu']:.1f} s CPU",
                   f"{row['cpu'] / row['wall']:.2f}" if row["wall"] else "", "",
                   f"{row['chunks']} chunks, {row['datasets']:,} datasets, idle {row['between']:.1f} s "
                   f"between chunks, {row['tail']:.1f} s at the end")


def mismatches(library_ids: dict[str, list[str]], server_ids: dict[str, list[str]],
               only: set[str] | None = None) -> int:
    """Datasets affected on one side only or with other types (compound ids -> product ids).

    `only`: the library's sample; the server's other datasets are not counted.
    """
    ours = {ident.split(":")[0]: types for ident, types in server_ids.items()}
    if only is not None:
        ours = {ident: types for ident, types in ours.items() if ident in only}
    return sum(ours.get(i) != library_ids.get(i) for i in set(ours) | set(library_ids))


def main() -> None:
    require_corpus("bench_affected")
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=100_000)
    parser.add_argument("--consumers", default="1,2,4")
    parser.add_argument("--changes", default="one,all")
    parser.add_argument("--library-sample", type=int, default=0)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    storage = "PostgreSQL + Redis" if args.postgres else "SQLite"
    report = Report(f"affected-{args.count}-{'pg' if args.postgres else 'sqlite'}",
                    f"affected datasets over {args.count:,} datasets, {storage}")
    data = datasets_file(args.count)
    extra = server_extra(args.count, args.postgres)
    home = setup_home(args.count, data, extra, report)
    for change in args.changes.split(","):
        new = f"hst_{CHANGES[change][3]}.pmap"
        subset, only = sample(data, args.library_sample)
        base, expected, compared = library(home, new, subset)
        scale = args.count / len(only) if only else 1.0  # the library's time scaled to every dataset
        report.row(f"{change} change: library in-process" + (f", first {len(only):,}" if only else ""),
                   f"{base:.1f} s", "", "", "", f"{compared:,} compared, {len(expected):,} affected"
                   + (f"; x{scale:.1f} = {base * scale:.0f} s for all" if only else ""))
        first = None
        for count in (int(c) for c in args.consumers.split(",")):
            seconds, found, detail = consumers(home, count, new, extra)
            first = first or seconds
            wrong = mismatches(expected, found["affected"], only)
            report.row(f"{change} change: {count} consumer(s)", f"{seconds:.1f} s", f"{base * scale:.1f} s",
                       f"{base * scale / seconds:.2f}", f"x{first / seconds:.2f} vs 1 consumer",
                       f"{len(found['affected']):,} affected, {wrong} mismatches"
                       + (" (on the sample)" if only else "") + f"; {detail}")
            consumer_rows(report, f"{change} change, {count} consumer(s)", found)
    report.save()


if __name__ == "__main__":
    main()
