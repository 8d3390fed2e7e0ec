#!/usr/bin/env python3
"""The serving options side by side: which server keeps the RPC answering during slow downloads.

One demo HST home (`crds-server demo`) plus one BIG_MB MiB catalogued
reference; each option serves the same `crds_server` application on a free
loopback port with 2 workers (processes):

    gunicorn-sync      gunicorn sync workers (the old `crds-server run`)
    gunicorn-gthread   gunicorn gthread workers, THREADS threads each
    granian-wsgi       granian --interface wsgi, THREADS blocking threads each
    uvicorn-asgi       uvicorn on Django's ASGI handler (no WSGI fast path)

For each: (1) small files, FILES GETs of demo references by 12 client
threads on new connections, files/s, and the same against nginx on the same
tree; (2) get_default_context latency (median, p99) idle, then with SLOW
slow downloads of the big file (each read at RATE bytes/s) in progress for
SECONDS s, with how many calls failed (15 s timeout); (3) one GET of the big
file, MB/s.  Prints one table; timings are never asserted.

granian and uvicorn are not dependencies of the project (the evaluation chose
gunicorn gthread, docs/performance.md); install them to rerun those rows.

Environment: BENCH_OPTIONS (comma list), BENCH_THREADS (8), BENCH_SLOW (4),
BENCH_RATE (1000000), BENCH_SECONDS (12), BENCH_FILES (1500), BENCH_BIG_MB (256).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, I001
import slowclients  # noqa: E402
from bench_file_serving import Nginx, fetch, fetch_many, nginx_binary  # noqa: E402
from tests.live import server_env  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SLOW = int(os.environ.get("BENCH_SLOW", "4"))
RATE = float(os.environ.get("BENCH_RATE", "1000000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "12"))
FILES = int(os.environ.get("BENCH_FILES", "1500"))
BIG_MB = int(os.environ.get("BENCH_BIG_MB", "256"))
OPTIONS = os.environ.get("BENCH_OPTIONS", "gunicorn-sync,gunicorn-gthread,granian-wsgi,uvicorn-asgi")
BIG_NAME = "zbench_big_bia.fits"
PY = sys.executable


def command(option: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    gunicorn = [PY, "-m", "gunicorn", "crds_server.wsgi:application", "--bind", bind, "--workers", "2",
                "--timeout", "600", "--access-logfile", "-", "--log-level", "warning"]
    return {
        "gunicorn-sync": gunicorn,
        "gunicorn-gthread": gunicorn + ["--worker-class", "gthread", "--threads", str(THREADS)],
        "granian-wsgi": [PY, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port",
                         str(port), "--workers", "2", "--blocking-threads", str(THREADS),
                         "--log-level", "warning", "crds_server.wsgi:application"],
        "uvicorn-asgi": [PY, "-m", "uvicorn", "--factory", "django.core.asgi:get_asgi_application",
                         "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                         "--log-level", "warning"],
    }[option]


def start(option: str, home: Path) -> tuple[subprocess.Popen, int]:
    port = common.free_port()
    env = server_env(home, "hst", CRDS_SERVER_PUBLIC_URL=f"http://127.0.0.1:{port}",
                     DJANGO_SETTINGS_MODULE="crds_server.settings")
    log = open(home / "logs" / f"{option}.log", "ab")
    process = subprocess.Popen(command(option, port), env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            slowclients.rpc_once(port, timeout=2)
            return process, port
        except Exception:  # noqa: BLE001
            if process.poll() is not None:
                raise RuntimeError(f"{option} exited; see {home / 'logs'}") from None
            time.sleep(0.3)
    raise RuntimeError(f"{option} did not answer in 60 s")


def make_home() -> tuple[Path, int]:
    home = common.workdir() / "options-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    common.manage(home, "hst", "demo", "--observatory", "hst")
    from bench_file_serving import catalogue_big_file
    size, _ = catalogue_big_file(home, BIG_NAME, BIG_MB)
    return home, size


def measure(option: str, home: Path, paths: list[str], sizes: list[int], big: int) -> dict[str, str]:
    process, port = start(option, home)
    try:
        fetch_many(port, paths[:100], sizes[:100], 12)
        rate = len(paths) / fetch_many(port, paths, sizes, 12)
        slowclients.rpc_probe(port, 1, pause=0)  # every worker loads the context
        idle, idle_fail = slowclients.rpc_probe(port, 4)
        threads, reads = slowclients.in_threads(
            SLOW, slowclients.slow_read, port, f"/unchecked_get/references/hst/{BIG_NAME}", RATE, SECONDS)
        time.sleep(1)
        loaded, failed = slowclients.rpc_probe(port, SECONDS - 2)
        for thread in threads:
            thread.join(SECONDS + 60)
        seconds, length = common.timed(fetch, port, f"/unchecked_get/references/hst/{BIG_NAME}")
        return dict(option=option, small=f"{rate:,.0f}/s", idle=_latency(idle),
                    loaded=_latency(loaded) if loaded else "none",
                    failed=f"{len(failed)} of {len(failed) + len(loaded)}",
                    slow_ok=f"{sum(1 for r in reads if not r.error)}/{SLOW}",
                    big=f"{big / 1e6 / seconds:,.0f} MB/s" if length == big else "wrong length")
    finally:
        process.terminate()
        process.wait(timeout=60)


def _latency(values: list[float]) -> str:
    return f"{1e3 * common.median(values):.1f}/{1e3 * slowclients.percentile(values, .99):.1f} ms"


def main() -> None:
    report = common.Report("serving_options", f"2 workers, {THREADS} threads, {SLOW} slow readers "
                                              f"at {RATE / 1e6:.1f} MB/s")
    home, big = make_home()
    refdir = home / "file_cache" / "references" / "hst"
    names = sorted(n for n in os.listdir(refdir) if n != BIG_NAME)
    chosen = (names * (FILES // len(names) + 1))[:FILES]
    sizes = [(refdir / n).stat().st_size for n in chosen]
    binary = nginx_binary()
    if binary:
        nginx = Nginx(binary, home / "file_cache", common.workdir() / "options-nginx", 2,
                      probe=f"/references/hst/{BIG_NAME}")
        nginx_paths = [f"/references/hst/{n}" for n in chosen]
        fetch_many(nginx.port, nginx_paths[:100], sizes[:100], 12)
        nginx_rate = len(chosen) / fetch_many(nginx.port, nginx_paths, sizes, 12)
        seconds, _ = common.timed(fetch, nginx.port, f"/references/hst/{BIG_NAME}")
        report.row("nginx", f"small {nginx_rate:,.0f}/s", f"big {big / 1e6 / seconds:,.0f} MB/s")
        nginx.stop()
    for option in OPTIONS.split(","):
        module = option.split("-")[0]
        if importlib.util.find_spec(module) is None:  # granian, uvicorn: not project dependencies
            report.row(option, f"skipped: {module} is not installed (pip install {module})")
            continue
        common.step(option)
        try:
            found = measure(option, home, [f"/unchecked_get/references/hst/{n}" for n in chosen], sizes, big)
        except Exception as exc:  # noqa: BLE001
            report.row(option, f"failed: {exc}")
            continue
        report.row(option, f"small {found['small']}", f"rpc idle {found['idle']}",
                   f"rpc loaded {found['loaded']}", f"failed {found['failed']}",
                   f"slow ok {found['slow_ok']}; big {found['big']}")
    report.save()


if __name__ == "__main__":
    main()
