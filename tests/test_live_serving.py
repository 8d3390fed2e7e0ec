"""No slow client can stall the server: live, in the embedded default and behind Debian's nginx.

Modes: `embedded` is `crds-server run` alone (gunicorn gthread, the server
sends the bytes); `nginx` is the production set-up of deploy/ (nginx in front,
`CRDS_SERVER_SENDFILE_HEADER=X-Accel-Redirect`, nginx sends the bytes).  The
request timeout and the idle time are set small so the tests stay short.
Clients throttle themselves by reading slowly through a small receive buffer
(bench/slowclients.py); every loop is bounded.  No timing is asserted: only
that calls answer, that bytes are exact and that a stalled client is dropped.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import nginx as nginx_mode
from tests.live import LiveServer, errors_in, manage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import slowclients  # noqa: E402

pytestmark = pytest.mark.live

WORKERS = 2
TIMEOUT_SECONDS = 3  # gunicorn --timeout: shorter than the long transfer below
IDLE_SECONDS = 4
BIG_NAME = "zlive_big_bia.fits"
BIG_MB = 64
CATALOGUE = """
from crds_server.catalog.models import File
from crds_server.catalog import versioning
File.objects.update_or_create(name={name!r}, defaults=dict(type=File.REFERENCE, observatory="hst",
    instrument="acs", filekind="biasfile", state="archived", size={size}, sha1sum={sha1!r},
    uploaded_as={name!r}))
versioning.bump()
"""


def _big_file(home: Path) -> tuple[int, str]:
    path = home / "file_cache" / "references" / "hst" / BIG_NAME
    digest, block = hashlib.sha1(), os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for index in range(BIG_MB):
            chunk = index.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            handle.write(chunk)
    size, sha1 = path.stat().st_size, digest.hexdigest()
    manage(home, "hst", "shell", "-c", CATALOGUE.format(name=BIG_NAME, size=size, sha1=sha1))
    return size, sha1


class Site:
    """What a client talks to: the server itself, or nginx in front of it."""

    def __init__(self, mode: str, server: LiveServer, port: int, size: int, sha1: str) -> None:
        self.mode, self.server, self.port, self.size, self.sha1 = mode, server, port, size, sha1
        self.url = f"http://127.0.0.1:{port}"
        self.big = f"/unchecked_get/references/hst/{BIG_NAME}"


@pytest.fixture(scope="module", params=["embedded", "nginx"])
def site(request, tmp_path_factory):
    if request.param == "nginx" and nginx_mode.ensure_installed() is None:
        pytest.skip(nginx_mode.why_missing())
    home = tmp_path_factory.mktemp(f"serving-{request.param}")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    size, sha1 = _big_file(home)
    extra = dict(CRDS_SERVER_TIMEOUT=str(TIMEOUT_SECONDS), CRDS_SERVER_IDLE_SECONDS=str(IDLE_SECONDS))
    proxy_port = nginx_mode.free_port()
    if request.param == "nginx":  # clients reach the server only through nginx, as in production
        extra.update(CRDS_SERVER_SENDFILE_HEADER="X-Accel-Redirect",
                     CRDS_SERVER_PUBLIC_URL=f"http://127.0.0.1:{proxy_port}")
    server = LiveServer(home, "hst").start(workers=WORKERS, **extra)
    proxy = None
    try:
        if request.param == "nginx":
            proxy = nginx_mode.Nginx(home / "nginx", server.port, home / "file_cache", IDLE_SECONDS,
                                     port=proxy_port)
        yield Site(request.param, server, proxy.port if proxy else server.port, size, sha1)
    finally:
        if proxy:
            proxy.stop()
        server.stop()


def test_slow_downloads_leave_the_rpc_and_a_page_answering(site):
    count = 2 * WORKERS
    threads, reads = slowclients.in_threads(count, slowclients.slow_read, site.port, site.big,
                                            1_500_000, 15)
    time.sleep(1.5)
    answered = []
    for _ in range(8):  # bounded: 8 rounds while the downloads run
        answered.append(slowclients.rpc_once(site.port, timeout=10) > 0)
        page = requests.get(site.url + "/", timeout=10)
        answered.append(page.status_code == 200)
        time.sleep(0.5)
    still_running = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join(60)
    assert all(answered)
    assert still_running == count  # the RPC answered while every slow download was in progress
    assert [r.error for r in reads] == [""] * count
    assert all(r.status == 200 and 0 < r.received < site.size for r in reads)


def test_a_transfer_longer_than_the_request_timeout_completes_byte_identical(site):
    rate = site.size / (TIMEOUT_SECONDS + 5)  # about 8 s, over twice the request timeout
    read = slowclients.slow_read(site.port, site.big, rate, 120, piece=256 * 1024)
    assert read.error == ""
    assert read.seconds > TIMEOUT_SECONDS
    assert (read.received, read.sha1) == (site.size, site.sha1)


def test_a_stalled_client_is_dropped_after_the_idle_time(site):
    read = slowclients.slow_read(site.port, site.big, 50e6, 60, stall_after=1 << 20,
                                 stall_seconds=IDLE_SECONDS + 8)
    assert read.status == 200
    assert read.received < site.size  # what was buffered arrived, then the connection ended


def test_downloads_keep_their_promises(site):
    url = site.url + site.big
    head = requests.head(url, timeout=30)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(site.size)
    assert head.headers["ETag"] == f'"{site.sha1}"'
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["Content-Range"] == f"bytes 100-199/{site.size}"
    assert part.headers["ETag"] == f'"{site.sha1}"'
    assert requests.get(url, headers={"If-None-Match": f'"{site.sha1}"'}, timeout=30).status_code == 304
    assert requests.get(url, headers={"Range": f"bytes={site.size}-"}, timeout=30).status_code == 416
    assert requests.get(site.url + "/unchecked_get/references/hst/n0000000j_zzz.fits",
                        timeout=30).status_code == 404
    traversal = requests.get(site.url + "/unchecked_get/references/hst/..%2f..%2fserver.json", timeout=30)
    assert traversal.status_code == 404
    assert requests.get(site.url + "/_crds_store/references/hst/" + BIG_NAME, timeout=30).status_code == 404


def test_a_file_that_disagrees_with_the_catalog_is_never_sent(site):
    path = site.server.home / "file_cache" / "references" / "hst" / "01100002j_bia.fits"
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"tampered")
        answer = requests.get(site.url + "/unchecked_get/references/hst/01100002j_bia.fits", timeout=30)
        assert answer.status_code == 503
        assert b"tampered" not in answer.content
    finally:
        path.write_bytes(original)


def test_the_crds_client_syncs_and_verifies_through_this_mode(site, tmp_path):
    env = dict(CRDS_SERVER_URL=site.url)
    context = site.server.rpc("get_server_info")["result"]["operational_context"]
    done = site.server.crds(tmp_path / "cache", "sync", "--contexts", context, "--fetch-references",
                            "--check-files", "--check-sha1sum", **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert errors_in(done.stdout + done.stderr) == []


def _login(site: Site) -> requests.Session:
    session = requests.Session()
    session.headers["referer"] = site.url
    form = session.get(site.url + "/login/", timeout=30)
    session.post(site.url + "/login/", timeout=30, data={
        "username": "demo-submitter", "password": "demo-submitter", "instrument": "acs", "next": "/",
        "csrfmiddlewaretoken": form.cookies["csrftoken"]}).raise_for_status()
    return session


def _piece(session: requests.Session, site: Site, name: str, data: bytes, start: int, total: int):
    token = session.get(site.url + "/upload/chunked/", timeout=30).cookies["csrftoken"]
    return session.post(site.url + "/upload/chunked/", timeout=60, files={"files": (name, data)},
                        data={"csrfmiddlewaretoken": token},
                        headers={"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"})


def test_a_dropped_upload_piece_can_be_resent_and_the_file_comes_out_whole(site):
    session = _login(site)
    data = os.urandom(5_000_000)
    name = f"resent_{site.mode}_bia.fits"
    pieces = [(0, data[:2_000_000]), (2_000_000, data[2_000_000:4_000_000]), (4_000_000, data[4_000_000:])]
    for start, piece in (pieces[0], pieces[1], pieces[1], pieces[2]):  # the second piece twice
        answer = _piece(session, site, name, piece, start, len(data))
        assert answer.status_code == 200, answer.text[:500]
    stored = site.server.home / "server_files" / "ingest" / "demo-submitter" / name
    assert hashlib.sha1(stored.read_bytes()).hexdigest() == hashlib.sha1(data).hexdigest()


def _trickle_upload(site: Site, cookies: str, token: str, seconds: float) -> int:
    """POST one upload piece whose body arrives slowly for `seconds`; the answer's status."""
    boundary = "crdsslowpiece"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow_bia.fits\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"x" * 200_000 + \
        f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST /upload/chunked/ HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\nCookie: {cookies}\r\n"
            f"Referer: {site.url}/\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", site.port), timeout=60) as sock:
        sock.sendall(head)
        pieces = 20
        step = len(body) // pieces + 1
        for index in range(pieces):  # bounded: 20 pieces over `seconds`
            sock.sendall(body[index * step:(index + 1) * step])
            time.sleep(seconds / pieces)
        status = sock.makefile("rb").readline()
    return int(status.split()[1]) if status else 0


def test_slow_uploads_leave_the_rpc_answering(site):
    session = _login(site)
    token = session.get(site.url + "/upload/chunked/", timeout=30).cookies["csrftoken"]
    cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    threads, statuses = slowclients.in_threads(2 * WORKERS, _trickle_upload, site, cookies, token, 3)
    time.sleep(1)
    answered = [slowclients.rpc_once(site.port, timeout=10) > 0 for _ in range(5)]
    uploading = sum(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join(60)
    assert all(answered) and uploading == 2 * WORKERS
    assert statuses == [200] * (2 * WORKERS)


def test_more_slow_downloads_than_threads_get_503_and_the_rpc_still_answers(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    size, _ = _big_file(home)
    server = LiveServer(home, "hst").start(workers=1, CRDS_SERVER_THREADS="4",
                                           CRDS_SERVER_TRANSFER_RESERVE="2")
    try:
        big = f"/unchecked_get/references/hst/{BIG_NAME}"
        threads, reads = slowclients.in_threads(6, slowclients.slow_read, server.port, big, 1_000_000, 8)
        time.sleep(1.5)
        answered = [slowclients.rpc_once(server.port, timeout=10) > 0 for _ in range(5)]
        for thread in threads:
            thread.join(60)
    finally:
        server.stop()
    assert all(answered)
    statuses = sorted(r.status for r in reads)
    assert statuses == [200, 200, 503, 503, 503, 503]  # 4 threads, 2 kept for the rest
    assert all(r.headers.get("Retry-After") for r in reads if r.status == 503)
