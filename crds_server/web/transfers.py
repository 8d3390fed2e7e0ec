"""How the bytes of a checked download leave the server, so that no transfer can stall it.

Three rules, applied by the download fast path (`fastfiles.py`):

- **Idle, not long, connections are closed.**  Every request's socket gets a
  timeout of `IDLE_SECONDS` (gunicorn exposes it as `environ["gunicorn.socket"]`):
  `socket.sendfile` and every send or receive then raise once the peer has
  taken or given no byte for that long, and gunicorn drops the connection.  A
  transfer that keeps moving has no limit (gthread workers beat their heart
  from the main loop, so `--timeout` never cuts one).
- **Transfers the server sends itself take at most `WEB_THREADS -
  TRANSFER_RESERVE` threads of a worker** (`Gate`); beyond that a download is
  answered 503 with Retry-After, so RPC calls and pages always find a thread.
- **Behind a proxy that sends files** (`SENDFILE_HEADER`), the answer is the
  headers of the checked file plus `X-Accel-Redirect: <prefix>/<kind>/<obs>/<name>`
  (nginx, an `internal` location) or `X-Sendfile: <absolute path>` (Apache
  mod_xsendfile); the proxy sends the bytes and the worker is free at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HEADERS = ("X-Accel-Redirect", "X-Sendfile")
RETRY_AFTER_SECONDS = 10


def limit_idle(environ: dict[str, Any]) -> None:
    """Close this request's connection once it moves no byte for IDLE_SECONDS (gunicorn only)."""
    sock = environ.get("gunicorn.socket")
    if sock is not None and settings.IDLE_SECONDS > 0:
        sock.settimeout(settings.IDLE_SECONDS)


def proxy_header() -> str:
    """The configured sendfile header, or "" when the server sends the bytes itself."""
    header = settings.SENDFILE_HEADER
    if header and header not in HEADERS:
        raise ImproperlyConfigured(f"CRDS_SERVER_SENDFILE_HEADER must be one of {HEADERS} or empty; "
                                   f"got {header!r}.")
    return header


def proxy_location(header: str, path: str) -> str:
    """Where the proxy finds the file at `path` (inside FILE_CACHE): an internal URI or the path."""
    if header == "X-Sendfile":
        return os.path.abspath(path)
    relative = os.path.relpath(path, settings.FILE_CACHE)
    if relative.startswith(".."):
        raise ValueError(f"{path} is outside the file store")
    return settings.SENDFILE_PREFIX + relative.replace(os.sep, "/")


class Gate:
    """Counts the transfers this process is sending; admits at most `limit` at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.lock = threading.Lock()

    def admit(self) -> bool:
        with self.lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self.lock:
            self.active -= 1


def transfer_limit() -> int:
    return max(1, settings.WEB_THREADS - settings.TRANSFER_RESERVE)


gate = Gate(transfer_limit())


class _Released:
    """Calls `release` exactly once, however often `close` is called."""

    def __init__(self, release: Any) -> None:
        self._release = release

    def __call__(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def file_body(environ: dict[str, Any], file: Any, chunk: int, fallback: Iterable[bytes]) -> Iterable[bytes]:
    """The server's file wrapper for `file` (sendfile in gunicorn), releasing the gate on close.

    The wrapper stays an instance of the server's own class (gunicorn sends it
    with sendfile only then); its `close` is extended on the instance.
    """
    wrapper_type = environ.get("wsgi.file_wrapper")
    if wrapper_type is None:
        return counted(fallback)
    body = wrapper_type(file, chunk)
    inner = getattr(body, "close", file.close)
    release = _Released(gate.release)

    def close() -> None:
        try:
            inner()
        finally:
            release()

    body.close = close
    return body


class counted:  # noqa: N801  (used like a function)
    """A streamed body (a `files.Slice`) that releases the gate when closed."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body
        self.release = _Released(gate.release)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.release()
