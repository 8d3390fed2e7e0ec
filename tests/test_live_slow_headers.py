"""Slowloris against the embedded server: clients that send half a request and stop
hold a thread only for CRDS_SERVER_HEADER_SECONDS, and never the worker's main loop."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from tests.live import LiveServer, manage

pytestmark = pytest.mark.live

THREADS, HOLDERS = 2, 12  # far more half-sent requests than the server has threads


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("slowloris-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "2")
    live = LiveServer(home, "hst").start(workers=1, CRDS_SERVER_THREADS=str(THREADS),
                                         CRDS_SERVER_TRANSFER_RESERVE="1", CRDS_SERVER_HEADER_SECONDS="2")
    yield live
    live.stop()


def _health(server: LiveServer, timeout: float) -> int:
    with urllib.request.urlopen(server.url + "/health", timeout=timeout) as answer:
        return answer.status


def test_half_sent_requests_are_dropped_and_the_server_answers_again(server):
    holders = []
    for _ in range(HOLDERS):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        holders.append(sock)
    try:
        deadline = time.monotonic() + 60  # bounded: a server that never frees its threads fails
        answered = None
        while answered is None and time.monotonic() < deadline:
            try:
                answered = _health(server, timeout=5)
            except OSError:
                continue
        assert answered == 200
        closed = 0
        for sock in holders:  # the server closed each one (after its error answer, if any)
            sock.settimeout(30)
            try:
                while sock.recv(4096):
                    pass
                closed += 1
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass  # still open after 30 s
        assert closed == HOLDERS
    finally:
        for sock in holders:
            sock.close()
