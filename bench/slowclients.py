"""Clients for the serving benchmarks and live tests: slow readers and an RPC probe.

A slow reader downloads a file at a bounded rate by reading in small pieces
with a small receive buffer, so the server really waits on it (a large
loopback buffer would swallow megabytes at once).  Every loop here is bounded
in time and in count.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field

RECEIVE_BUFFER = 64 * 1024


def connection(port: int, timeout: float = 60) -> http.client.HTTPConnection:
    """A loopback connection whose socket has a small receive buffer (set before connect)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    conn.sock = sock
    return conn


@dataclass
class SlowRead:
    """One throttled download: what arrived and how it ended."""

    status: int = 0
    received: int = 0
    sha1: str = ""
    error: str = ""
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def slow_read(port: int, path: str, rate: float, limit_seconds: float, piece: int = 16 * 1024,
              stall_after: int | None = None, stall_seconds: float = 0.0) -> SlowRead:
    """GET `path` reading at about `rate` bytes/s, for at most `limit_seconds`.

    With `stall_after`, stop reading after that many bytes for `stall_seconds`
    (then read on, to see whether the server dropped the connection).
    """
    result = SlowRead()
    digest = hashlib.sha1()
    start = time.monotonic()
    try:
        conn = connection(port, timeout=max(limit_seconds, stall_seconds) + 30)
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        result.status, result.headers = response.status, dict(response.getheaders())
        stalled = False
        while time.monotonic() - start < limit_seconds:
            if stall_after is not None and not stalled and result.received >= stall_after:
                stalled = True
                time.sleep(stall_seconds)
            chunk = response.read(piece)
            if not chunk:
                break
            digest.update(chunk)
            result.received += len(chunk)
            ahead = result.received / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.sha1 = digest.hexdigest()
    result.seconds = time.monotonic() - start
    return result


def in_threads(count: int, function, *args, **kwargs) -> tuple[list[threading.Thread], list]:
    """Start `count` threads running `function(*args, **kwargs)`; results land in the list."""
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(function(*args, **kwargs)), daemon=True)
               for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def rpc_once(port: int, method: str = "get_default_context", params: tuple = ("hst",),
             timeout: float = 15) -> float:
    """Seconds for one JSON-RPC call on a new connection; raises on failure."""
    body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params), "id": 1})
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", f"/json/{method}/1/", body=body.encode(),
                 headers={"Content-Type": "application/json", "Connection": "close"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 200 or answer.get("error"):
        raise RuntimeError(f"{method}: HTTP {response.status} {answer.get('error')}")
    return time.perf_counter() - start


def rpc_probe(port: int, seconds: float, pause: float = 0.1, max_calls: int = 2000) -> tuple[list, list]:
    """Call get_default_context for `seconds`: (latencies, failures)."""
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(latencies) + len(failures) < max_calls:
        try:
            latencies.append(rpc_once(port))
        except (OSError, RuntimeError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        time.sleep(pause)
    return latencies, failures


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0
