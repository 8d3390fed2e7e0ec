#!/usr/bin/env python3
"""Serving under load, and the production mode (nginx sends the files), against plain nginx.

One corpus home (`common.fresh_server`) with a BIG_MB MiB catalogued
reference, served three ways in one run:

- **static**: Debian's nginx serving HOME/file_cache as plain files (the
  baseline of every ratio; `bench_file_serving.Nginx`);
- **embedded**: `crds-server run` alone (gunicorn gthread, WORKERS workers);
- **nginx mode**: `crds-server run` with `CRDS_SERVER_SENDFILE_HEADER=X-Accel-Redirect`
  behind nginx with the locations of deploy/ (`tests/nginx.py`): the server
  checks the catalog, nginx sends the bytes.

Rows: (a) FILES small references with CLIENTS threads, new connection each
(nginx mode, goal >= 0.9x static); (b) one BIG_MB MiB file (>= 0.9x);
(c) `crds sync --contexts hst.pmap --fetch-references` of the corpus with
RPC and downloads through the proxy (<= 1.1x the same sync with downloads
from static nginx); (d) `get_default_context` latency, median and p99 of
CALLS calls, idle and while 2 x WORKERS slow downloads (RATE bytes/s each)
are in progress, in both modes (goal: p99 under load <= 2x idle p99).
`bench_file_serving.py` gives (a)-(c) for the embedded mode.

Environment: BENCH_WORKERS (2, as `crds-server run`), BENCH_FILES (2000),
BENCH_CLIENTS (12), BENCH_BIG_MB (1024), BENCH_ROUNDS (3), BENCH_CALLS (200),
BENCH_RATE (500000), BENCH_SKIP_SYNC=1.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, I001
import slowclients  # noqa: E402
from bench_file_serving import Nginx, _check_sync, catalogue_big_file, fetch, fetch_many, nginx_binary  # noqa: E402
from tests import nginx as nginx_mode  # noqa: E402
from tests.live import LiveServer  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
FILES = int(os.environ.get("BENCH_FILES", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "12"))
BIG_MB = int(os.environ.get("BENCH_BIG_MB", "1024"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CALLS = int(os.environ.get("BENCH_CALLS", "200"))
RATE = float(os.environ.get("BENCH_RATE", "500000"))
BIG_NAME = "zbench_1gib_bia.fits"


def latencies(port: int, calls: int) -> list[float]:
    """`calls` sequential get_default_context calls (bounded), each on a new connection."""
    return [slowclients.rpc_once(port, timeout=30) for _ in range(calls)]


def rpc_rows(report: common.Report, label: str, port: int, big: str, size: int) -> None:
    latencies(port, 4 * WORKERS)  # every worker has loaded the context
    idle = latencies(port, CALLS)
    seconds = size / RATE
    threads, reads = slowclients.in_threads(2 * WORKERS, slowclients.slow_read, port, big, RATE, seconds)
    time.sleep(1)
    loaded = latencies(port, CALLS)
    busy = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join(seconds + 60)
    idle_p99, loaded_p99 = slowclients.percentile(idle, .99), slowclients.percentile(loaded, .99)
    ratio = loaded_p99 / idle_p99
    report.row(f"(d) {label}: get_default_context median / p99, idle vs {2 * WORKERS} slow downloads",
               f"{1e3 * common.median(loaded):.1f} / {1e3 * loaded_p99:.1f} ms",
               f"{1e3 * common.median(idle):.1f} / {1e3 * idle_p99:.1f} ms", f"p99 {ratio:.2f}x",
               "<= 2x", common.verdict(ratio <= 2))
    report.note(f"(d) {label}: {busy} of {2 * WORKERS} slow downloads still running when the loaded "
                f"calls ended; errors: {[r.error for r in reads if r.error][:2]}")


def main() -> None:
    common.require_corpus("bench_serving")
    binary = nginx_binary()
    if binary is None or nginx_mode.ensure_installed() is None:
        print(f"bench_serving: SKIPPED: {nginx_mode.why_missing()}")
        return
    report = common.Report("serving", f"nginx mode and RPC under slow downloads ({WORKERS} workers)")
    home = common.fresh_server("serving")
    common.step(f"writing and cataloguing a {BIG_MB} MiB reference")
    size, _ = catalogue_big_file(home, BIG_NAME, BIG_MB)
    static = Nginx(binary, home / "file_cache", common.workdir() / "serving-static", 2)
    atexit.register(static.stop)
    embedded = common.start_server(home, workers=WORKERS)
    proxy_port = common.free_port()
    backend = LiveServer(home, "hst").start(workers=WORKERS, CRDS_SERVER_SENDFILE_HEADER="X-Accel-Redirect",
                                            CRDS_SERVER_ACCESS_LOG="0",  # nginx logs
                                            CRDS_SERVER_PUBLIC_URL=f"http://127.0.0.1:{proxy_port}")
    atexit.register(backend.stop)
    proxy = nginx_mode.Nginx(common.workdir() / "serving-proxy", backend.port, home / "file_cache",
                             port=proxy_port)
    atexit.register(proxy.stop)
    common.step(f"static nginx {static.url}; embedded {embedded.url}; nginx mode {proxy.url}")

    refdir = home / "file_cache" / "references" / "hst"
    names = sorted(n for n in os.listdir(refdir) if n != BIG_NAME and not n.startswith("."))
    chosen = names[::max(1, len(names) // FILES)][:FILES]
    sizes = [(refdir / n).stat().st_size for n in chosen]
    ours = [f"/unchecked_get/references/hst/{n}" for n in chosen]
    plain = [f"/references/hst/{n}" for n in chosen]

    common.step(f"(a) {len(chosen)} small files, {CLIENTS} threads, {ROUNDS} rounds")
    fetch_many(proxy.port, ours[:200], sizes[:200], CLIENTS)
    fetch_many(static.port, plain[:200], sizes[:200], CLIENTS)
    proxy_runs, static_runs = [], []
    for _ in range(ROUNDS):
        proxy_runs.append(fetch_many(proxy.port, ours, sizes, CLIENTS))
        static_runs.append(fetch_many(static.port, plain, sizes, CLIENTS))
    ratio = common.median(static_runs) / common.median(proxy_runs)
    report.row(f"(a) nginx mode, {len(chosen)} small files, {CLIENTS} threads (files/s)",
               common.fmt_rate(len(chosen) / common.median(proxy_runs), "files/s"),
               common.fmt_rate(len(chosen) / common.median(static_runs), "files/s"), f"{ratio:.2f}x",
               ">= 0.9x", common.verdict(ratio >= 0.9))
    report.note(f"(a) rounds (s): nginx mode {[f'{r:.2f}' for r in proxy_runs]}, "
                f"static {[f'{r:.2f}' for r in static_runs]}")

    common.step(f"(b) one {BIG_MB} MiB file, {ROUNDS} rounds")
    proxy_runs, static_runs = [], []
    for _ in range(ROUNDS):
        proxy_runs.append(common.timed(fetch, proxy.port, f"/unchecked_get/references/hst/{BIG_NAME}")[0])
        static_runs.append(common.timed(fetch, static.port, f"/references/hst/{BIG_NAME}")[0])
    ratio = common.median(static_runs) / common.median(proxy_runs)
    report.row(f"(b) nginx mode, one {BIG_MB} MiB file (MB/s)",
               common.fmt_rate(size / 1e6 / common.median(proxy_runs), "MB/s"),
               common.fmt_rate(size / 1e6 / common.median(static_runs), "MB/s"), f"{ratio:.2f}x",
               ">= 0.9x", common.verdict(ratio >= 0.9))

    if os.environ.get("BENCH_SKIP_SYNC") != "1":
        args = ("sync", "--contexts", "hst.pmap", "--fetch-references")
        caches = [common.workdir() / "serving-sync-proxy", common.workdir() / "serving-sync-static"]
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
        common.step("(c) crds sync through the proxy, then with downloads from static nginx")
        proxy_sync, done = common.timed(backend.crds, caches[0], *args, CRDS_SERVER_URL=proxy.url)
        count = _check_sync(done, caches[0])
        static_sync, done = common.timed(
            backend.crds, caches[1], *args, CRDS_SERVER_URL=proxy.url,
            CRDS_MAPPING_URI=f"{static.url}/mappings/hst", CRDS_REFERENCE_URI=f"{static.url}/references/hst")
        _check_sync(done, caches[1])
        ratio = proxy_sync / static_sync
        report.row(f"(c) nginx mode, crds sync --fetch-references, {count:,} files (s)",
                   f"{proxy_sync:.1f} s", f"{static_sync:.1f} s", f"{ratio:.2f}x", "<= 1.1x",
                   common.verdict(ratio <= 1.1))

    big = f"/unchecked_get/references/hst/{BIG_NAME}"
    rpc_rows(report, "embedded", embedded.port, big, min(size, int(RATE * 15)))
    rpc_rows(report, "nginx mode", proxy.port, big, min(size, int(RATE * 15)))
    report.note(f"slow downloads: {RATE / 1e6:.1f} MB/s each for ~15 s, read through a 64 KiB receive "
                f"buffer; RPC calls sequential on new connections")
    for server in (embedded, backend):
        server.stop()
    proxy.stop()
    static.stop()
    report.save()


if __name__ == "__main__":
    main()
