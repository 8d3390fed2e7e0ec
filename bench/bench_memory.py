#!/usr/bin/env python3
"""Resident memory of a web worker with the corpus context loaded, against the bare library.

A server with the corpus imported runs with one gunicorn worker; after it has
served typical requests (best references for the real headers, the file info
map of the whole catalog, the context's page, the home page), the worker's
resident set (VmRSS, and its peak VmHWM, from /proc) is read.  Baseline: a
bare Python that loads the same context from the same store with
`crds.get_cached_mapping` and computes the same best references.

Environment: BENCH_WORKDIR (see common.py); BENCH_MEMORY_HOME, a home with the corpus
imported already (skips the import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CONTEXT = "hst.pmap"
GOAL_MB = 300
HEADERS = common.CORPUS / "hst" / "datasets" / "real_headers.jsonl"
LIBRARY = """
import json, sys, crds
from crds.core import heavy_client
mapping = crds.get_cached_mapping(sys.argv[1])
for line in open(sys.argv[2]):
    try:
        heavy_client.hv_best_references(sys.argv[1], json.loads(line)["header"])
    except Exception:
        pass
status = dict(l.split(":", 1) for l in open("/proc/self/status"))
print(int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0]))
"""


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


def workers(root: int) -> list[int]:
    """The gunicorn workers under `root` (the server process): the leaves of its process tree."""
    todo, leaves = [root], []
    while todo:
        pid = todo.pop()
        below = children(pid)
        todo.extend(below)
        if not below and pid != root:
            leaves.append(pid)
    return leaves


def stages(server: common.LiveServer) -> list[tuple[str, object]]:
    """The typical requests, in stages: (what, a function that makes them)."""
    headers = [json.loads(line)["header"] for line in HEADERS.read_text().splitlines()]

    def bestrefs() -> None:
        for header in headers:
            reply = server.rpc("get_best_references", CONTEXT, header, None)
            assert reply.get("error") is None, reply

    def file_info_map() -> None:
        reply = server.rpc("get_file_info_map", "hst", None, None)
        assert reply.get("error") is None, str(reply)[:300]

    def pages() -> None:
        for page in ("/", f"/context_table/{CONTEXT}", "/browse/hst_acs.imap"):
            urllib.request.urlopen(server.url + page, timeout=300).read()

    return [("best references (loads the context)", bestrefs), ("file info map", file_info_map),
            ("home, context table and browse pages", pages)]


def library_rss(home: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY, CONTEXT, str(HEADERS)],
        env=common.library_env(home / "file_cache"), capture_output=True, text=True, check=True)
    rss, peak = done.stdout.split()[-2:]
    return int(rss), int(peak)


def main() -> None:
    common.require_corpus("bench_memory")
    report = common.Report("memory", f"resident memory of a web worker with {CONTEXT} loaded")
    home = Path(os.environ["BENCH_MEMORY_HOME"]) if os.environ.get("BENCH_MEMORY_HOME") \
        else common.fresh_server("memory")
    server = common.start_server(home, workers=1)
    (worker,) = workers(server.process.pid)
    steps = [("idle worker", proc_kb(worker, "VmRSS") / 1024)]
    for what, make in stages(server):
        make()
        steps.append((f"after {what}", proc_kb(worker, "VmRSS") / 1024))
    rss, peak = steps[-1][1], proc_kb(worker, "VmHWM") / 1024
    server.stop()
    base, base_peak = (kb / 1024 for kb in library_rss(home))
    report.row("web worker RSS after typical requests", f"{rss:.0f} MB", f"{base:.0f} MB library",
               f"{rss / base:.2f}x", f"< {GOAL_MB} MB", "ok" if rss < GOAL_MB else "over")
    report.row("web worker peak RSS (VmHWM)", f"{peak:.0f} MB", f"{base_peak:.0f} MB library",
               f"{peak / base_peak:.2f}x", "(info)")
    for what, mb in steps[:-1]:
        report.row(f"web worker RSS, {what}", f"{mb:.0f} MB", "", "", "(info)")
    report.note(f"one gunicorn worker; requests: get_best_references for the corpus's real headers, "
                f"get_file_info_map of the whole catalog, the home, context table and browse pages; "
                f"library: a bare python loading {CONTEXT} with crds.get_cached_mapping and computing "
                f"the same best references")
    report.save()


if __name__ == "__main__":
    main()
