#!/usr/bin/env python3
"""File downloads: our gunicorn server vs nginx serving the same file store.

nginx (Debian's package, installed with apt-get if missing and if we are
root) runs in the foreground on a free loopback port with a generated
minimal configuration (own temp prefix, pid and logs; `sendfile on`;
root = the server's HOME/file_cache, so `/mappings/hst/<name>` and
`/references/hst/<name>` are the store's files).  Our server serves
`/unchecked_get/references/hst/<name>` from the same files.

(a) FILES small references fetched by CLIENTS threads, a new connection per
    file (Connection: close, as the crds client does): files/s each and the
    ratio (goal >= 0.8x nginx).
(b) One 1 GiB reference written into the store and catalogued with a `File`
    row: MB/s of one GET each and the ratio (goal >= 0.9x).
(c) `crds sync --contexts hst.pmap --fetch-references` of the whole corpus
    into an empty cache from our server vs the same sync with the downloads
    pointed at nginx (CRDS_MAPPING_URI / CRDS_REFERENCE_URI; RPC still to our
    server): wall time each and the ratio (goal: ours <= 1.1x).

This is the embedded mode (`crds-server run` alone: gunicorn gthread workers,
the server sends the bytes); `bench_serving.py` measures the production mode
(nginx sends the files) and the RPC under slow downloads.

Environment: BENCH_WORKERS (gunicorn workers, default 2 as `crds-server run`), BENCH_NGINX_WORKERS
(2), BENCH_FILES (2000), BENCH_CLIENTS (12), BENCH_BIG_MB (1024), BENCH_ROUNDS (3),
BENCH_SKIP_SYNC=1 to leave out (c).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402, I001
from tests.live import errors_in  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
NGINX_WORKERS = int(os.environ.get("BENCH_NGINX_WORKERS", "2"))
FILES = int(os.environ.get("BENCH_FILES", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "12"))
BIG_MB = int(os.environ.get("BENCH_BIG_MB", "1024"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BIG_NAME = "zbench_1gib_bia.fits"


# --------------------------------------------------------------------------- nginx

def nginx_binary() -> str | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found or os.geteuid() != 0:
        return found
    common.step("installing Debian's nginx (apt-get install -y nginx)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, capture_output=True)
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class Nginx:
    """nginx in the foreground on a free loopback port, serving `root`."""

    def __init__(self, binary: str, root: Path, prefix: Path, workers: int,
                 probe: str = "/mappings/hst/hst.pmap") -> None:
        self.port = common.free_port()
        self.probe = probe
        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        # As root, nginx's workers would switch to `nobody`, who cannot enter a 0700 temp dir.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        temp = {name: prefix / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(f"""
{user}
daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {temp['client_body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
""")
        self.process = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(self.conf)],
            stdout=open(prefix / "logs" / "stdout.log", "ab"), stderr=subprocess.STDOUT,
        )
        try:
            self._wait()
        except BaseException:
            self.stop()  # never leave an nginx behind that did not come up
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'logs' / 'stdout.log').read_text()}")
            try:
                urllib.request.urlopen(self.url + self.probe, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("nginx did not answer within 20 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


# --------------------------------------------------------------------------- clients

def fetch(port: int, path: str) -> int:
    """GET `path` on a new connection (Connection: close); returns the body length."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Connection": "close"})
    response = conn.getresponse()
    total = 0
    while chunk := response.read(1 << 20):
        total += len(chunk)
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}")
    return total


def fetch_many(port: int, paths: list[str], sizes: list[int], clients: int) -> float:
    """Seconds to fetch every path with `clients` threads; checks each body's length."""
    queue = list(enumerate(paths))
    lock = threading.Lock()
    failures: list[str] = []

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, path = queue.pop()
            try:
                if fetch(port, path) != sizes[index]:
                    failures.append(f"{path}: wrong length")
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{path}: {exc}")

    threads = [threading.Thread(target=work) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} downloads failed, e.g. {failures[:3]}")
    return seconds


# --------------------------------------------------------------------------- the big file

def make_big_file(home: Path) -> tuple[int, str]:
    """Write a BIG_MB MiB reference into the store and catalogue it; (size, sha1)."""
    return catalogue_big_file(home, BIG_NAME, BIG_MB)


def catalogue_big_file(home: Path, name: str, mb: int) -> tuple[int, str]:
    """Write an `mb` MiB reference `name` into the store and catalogue it; (size, sha1)."""
    path = home / "file_cache" / "references" / "hst" / name
    block = os.urandom(1 << 20)
    digest = hashlib.sha1()
    with open(path, "wb") as handle:
        for index in range(mb):
            chunk = index.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            handle.write(chunk)
    size, sha1 = path.stat().st_size, digest.hexdigest()
    code = (
        "from crds_server.catalog.models import File\n"
        "from crds_server.catalog import versioning\n"
        "from django.db import transaction\n"
        "with transaction.atomic():\n"
        f"    File.objects.update_or_create(name={name!r}, defaults=dict(type=File.REFERENCE,"
        f" observatory='hst', instrument='acs', filekind='biasfile', state='archived',"
        f" size={size}, sha1sum={sha1!r}, uploaded_as={name!r}))\n"
        "    versioning.bump()\n"
    )
    common.manage(home, "hst", "shell", "-c", code)
    return size, sha1


def best_of(function, rounds: int) -> float:
    return common.median(function() for _ in range(rounds))


# --------------------------------------------------------------------------- main

def main() -> None:
    common.require_corpus("bench_file_serving")
    report = common.Report("file_serving", f"downloads, gunicorn ({WORKERS} workers) vs nginx "
                                           f"({NGINX_WORKERS} worker_processes)")
    binary = nginx_binary()
    if binary is None:
        print("bench_file_serving: SKIPPED: nginx is not installed and cannot be installed "
              "(run as root, or apt-get install nginx).")
        return
    home = common.fresh_server("file_serving")
    common.step(f"writing and cataloguing a {BIG_MB} MiB reference")
    big_size, _ = make_big_file(home)
    server = common.start_server(home, workers=WORKERS)
    nginx = Nginx(binary, home / "file_cache", common.workdir() / "nginx", NGINX_WORKERS)
    import atexit
    atexit.register(nginx.stop)
    common.step(f"nginx {nginx.url} ({NGINX_WORKERS} worker_processes, sendfile on)")

    refdir = home / "file_cache" / "references" / "hst"
    names = sorted(n for n in os.listdir(refdir) if n != BIG_NAME and not n.startswith("."))
    step = max(1, len(names) // FILES)
    chosen = names[::step][:FILES]
    sizes = [(refdir / n).stat().st_size for n in chosen]
    ours_paths = [f"/unchecked_get/references/hst/{n}" for n in chosen]
    nginx_paths = [f"/references/hst/{n}" for n in chosen]

    # (a) many small files.
    common.step(f"(a) {len(chosen)} references, {CLIENTS} client threads, {ROUNDS} rounds each")
    fetch_many(server.port, ours_paths[:200], sizes[:200], CLIENTS)  # warm the workers
    fetch_many(nginx.port, nginx_paths[:200], sizes[:200], CLIENTS)
    ours_runs, nginx_runs = [], []
    for _ in range(ROUNDS):  # interleaved, so drift hits both alike
        ours_runs.append(fetch_many(server.port, ours_paths, sizes, CLIENTS))
        nginx_runs.append(fetch_many(nginx.port, nginx_paths, sizes, CLIENTS))
    ours_runs_a, nginx_runs_a = ours_runs, nginx_runs
    ours_rate = len(chosen) / common.median(ours_runs)
    nginx_rate = len(chosen) / common.median(nginx_runs)
    ratio = ours_rate / nginx_rate
    report.row(f"(a) {len(chosen)} small files, {CLIENTS} threads (files/s)",
               common.fmt_rate(ours_rate, "files/s"), common.fmt_rate(nginx_rate, "files/s"),
               f"{ratio:.2f}x", ">= 0.8x", common.verdict(ratio >= 0.8))
    report.note(f"(a) mean size {sum(sizes) / len(sizes) / 1024:.1f} KiB; each file on a new connection "
                f"(Connection: close); median of {ROUNDS} interleaved rounds")

    # (b) one big file.
    common.step(f"(b) one {BIG_MB} MiB file, {ROUNDS} rounds each")
    ours_runs, nginx_runs = [], []
    for _ in range(ROUNDS):
        ours_runs.append(common.timed(fetch, server.port, f"/unchecked_get/references/hst/{BIG_NAME}")[0])
        nginx_runs.append(common.timed(fetch, nginx.port, f"/references/hst/{BIG_NAME}")[0])
    mb = big_size / 1e6
    ours_mbs, nginx_mbs = mb / common.median(ours_runs), mb / common.median(nginx_runs)
    ratio = ours_mbs / nginx_mbs
    report.row(f"(b) one {BIG_MB} MiB file (MB/s)", common.fmt_rate(ours_mbs, "MB/s"),
               common.fmt_rate(nginx_mbs, "MB/s"), f"{ratio:.2f}x", ">= 0.9x", common.verdict(ratio >= 0.9))

    # (c) a full sync.
    if os.environ.get("BENCH_SKIP_SYNC") == "1":
        report.note("(c) skipped (BENCH_SKIP_SYNC=1)")
    else:
        args = ("sync", "--contexts", "hst.pmap", "--fetch-references")
        cache_ours = common.workdir() / "sync-ours"
        cache_nginx = common.workdir() / "sync-nginx"
        for cache in (cache_ours, cache_nginx):
            shutil.rmtree(cache, ignore_errors=True)
        common.step("(c) crds sync of the whole corpus from our server")
        ours_sync, done = common.timed(server.crds, cache_ours, *args)
        _check_sync(done, cache_ours)
        common.step("(c) the same sync with the downloads from nginx")
        nginx_sync, done = common.timed(
            server.crds, cache_nginx, *args,
            CRDS_MAPPING_URI=f"{nginx.url}/mappings/hst", CRDS_REFERENCE_URI=f"{nginx.url}/references/hst",
        )
        count = _check_sync(done, cache_nginx)
        ratio = ours_sync / nginx_sync
        report.row(f"(c) crds sync --fetch-references, {count:,} files (s)", f"{ours_sync:.1f} s",
                   f"{nginx_sync:.1f} s", f"{ratio:.2f}x", "<= 1.1x", common.verdict(ratio <= 1.1))
        report.note("(c) one run each, into an empty cache; the client downloads one file at a time")
    report.note(f"(a) rounds (s): ours {[f'{r:.2f}' for r in ours_runs_a]}, "
                f"nginx {[f'{r:.2f}' for r in nginx_runs_a]}")
    report.note(f"ours: crds-server run, {WORKERS} gunicorn gthread workers; nginx {binary}: "
                f"{NGINX_WORKERS} worker_processes, sendfile on, access_log off; the Python client "
                f"shares the machine's 2 cores with the server under test")
    server.stop()
    nginx.stop()
    report.save()


def _check_sync(done, cache: Path) -> int:
    if done.returncode != 0 or errors_in(done.stdout + done.stderr):
        raise RuntimeError(f"crds sync failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return sum(len(files) for _, _, files in os.walk(cache / "references")) + \
        sum(len(files) for _, _, files in os.walk(cache / "mappings"))


if __name__ == "__main__":
    main()
