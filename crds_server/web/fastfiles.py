"""A lean WSGI fast path for catalogued downloads, in front of Django.

The `crds` client fetches files one at a time on a new connection each, so
per-request latency sets the speed of `crds sync`.  A Django request costs
about a millisecond (middleware, URL resolution, an ORM query, a database
connection); this path costs tens of microseconds.  It answers only

    GET|HEAD /unchecked_get/(mappings|references)/<observatory>/<name>

for a valid name of this server's observatory, with the rules and headers of
`web.files` (shared functions: the same size check against the catalog, the
same ETag, ranges and conditional answers).  Everything else, and anything
unusual (another method, a bad name, a host Django would refuse, an error),
goes to Django unchanged.

How the bytes leave (`web.transfers`): through the server's file wrapper
(gunicorn's sendfile) within a per-worker limit of transfers, or, with
`CRDS_SERVER_SENDFILE_HEADER`, as an `X-Accel-Redirect`/`X-Sendfile` answer
whose body the proxy sends; every request's socket gets the idle timeout.

The catalog is read from a per-process index of distributable files, rebuilt
when the catalog version moves; the version is re-read at most every
`CHECK_SECONDS`, so changes made by other processes show within about a
second.  A name missing from the index is looked up in the database before
the answer is 404, so a file confirmed a moment ago is never refused.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host

from crds_server.catalog import versioning
from crds_server.catalog.models import File
from crds_server.lib import maintenance

from . import files, transfers

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CHECK_SECONDS = 1.0
_PATH = re.compile(r"/+unchecked_get/(mappings|references)/([a-z]{1,8})/([^/]+)")
_STATUS = {code: f"{code} {HTTPStatus(code).phrase}" for code in (200, 206, 304, 404, 416, 503)}
BUSY_MESSAGE = "The server is sending as many files as it may at once; retry in a few seconds."


class _Index:
    """{name: files.Entry} of every distributable file of this observatory, per catalog version."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        self.version: int | None = None
        self.checked_at = float("-inf")
        self.entries: dict[str, files.Entry] = {}

    def lookup(self, name: str, kind: str) -> files.Entry | None:
        """The file `name` of `kind`, from the index, else from the database."""
        if time.monotonic() - self.checked_at >= CHECK_SECONDS:
            self._refresh()
        found = self.entries.get(name)
        if found is not None and found.is_mapping == (kind == "mappings"):
            return found
        with _database():
            return files.find_entry(name, kind, settings.OBSERVATORY)

    def _refresh(self) -> None:
        with self.lock:
            if time.monotonic() - self.checked_at < CHECK_SECONDS:
                return  # another thread has just done it
            with _database():
                version = versioning.current()
                if version != self.version:
                    self.entries = _load_entries()
                    self.version = version
            self.checked_at = time.monotonic()


def _load_entries() -> dict[str, files.Entry]:
    """Every distributable file of this observatory, in one query."""
    observatory = settings.OBSERVATORY
    rows = (File.objects.distributable().filter(observatory=observatory)
            .values_list("name", "type", "size", "sha1sum").order_by())
    return {name: files.entry(name, kind, size, sha1 or "", observatory)
            for name, kind, size, sha1 in rows.iterator(chunk_size=5000)}


@contextmanager
def _database() -> Iterator[None]:
    """Database use outside Django's request cycle: the same connection upkeep around it."""
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


index = _Index()


class _EnvironHeaders:
    """Request headers read from a WSGI environ, as `files.Headers`."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ

    def get(self, name: str, default: None = None) -> str | None:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), default)


class FastFiles:
    """WSGI middleware: serve catalogued downloads directly, pass the rest to `app`."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.extra_headers = _security_headers()
        self.observatory = settings.OBSERVATORY
        self.any_host = "*" in settings.ALLOWED_HOSTS
        self.proxy_header = transfers.proxy_header()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        transfers.limit_idle(environ)  # every request: stalled downloads and uploads are dropped
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "")
        if match is None or method not in ("GET", "HEAD") or not self._ours(environ, *match.groups()) \
                or maintenance.is_on():  # Django answers 503 during maintenance
            return self.app(environ, start_response)
        kind, _, name = match.groups()
        try:
            found = index.lookup(name, kind)
        except Exception:
            logger.exception("Fast path: catalog lookup of %s failed; passing to Django.", name)
            return self.app(environ, start_response)
        if found is None:
            return self._text(start_response, 404, files.unknown_message(name))
        served = files.open_catalogued(found)
        if served is None:
            return self._text(start_response, 503, files.inconsistent_message(name))
        try:
            return self._send(environ, start_response, method, served, found)
        except BaseException:
            served.file.close()
            raise

    def _ours(self, environ: dict[str, Any], kind: str, observatory: str, name: str) -> bool:
        """Whether this path answers exactly as Django would (else Django answers)."""
        if observatory != self.observatory or not files.valid_name(name):
            return False
        if self.any_host:
            return True
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            return False
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        domain, _ = split_domain_port(host)
        return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)

    def _send(self, environ: dict[str, Any], start_response: Callable[..., Any], method: str,
              served: files.Served, found: files.Entry) -> Iterable[bytes]:
        """The 200, 206, 304 or 416 answer for an open, checked file."""
        name = found.name
        status, span = files.plan(method, _EnvironHeaders(environ), served)
        if status == 416:
            served.file.close()
            return self._text(start_response, 416, files.unsatisfiable_message(served),
                              files.unsatisfiable_headers(served))
        length = served.size if span is None else span[1] - span[0] + 1
        headers = [("Content-Type", served.content_type), *files.file_headers(served, length)]
        if status == 206 and span is not None:
            headers.append(("Content-Range", f"bytes {span[0]}-{span[1]}/{served.size}"))
        elif status == 200 and method == "GET":
            headers.append(("Content-Disposition", f'inline; filename="{name}"'))
        streams = method == "GET" and status in (200, 206)
        if streams and self.proxy_header:
            served.file.close()  # the proxy sends the bytes (and applies any Range itself)
            return self._redirect(start_response, headers, found)
        if streams and not transfers.gate.admit():
            served.file.close()
            return self._text(start_response, 503, BUSY_MESSAGE,
                              [("Retry-After", str(transfers.RETRY_AFTER_SECONDS))])
        start_response(_STATUS[status], headers + self.extra_headers)
        if status == 206 and span is not None:
            served.file.seek(span[0])
            return transfers.counted(files.Slice(served.file, length))
        if status == 200 and method == "GET":
            return transfers.file_body(environ, served.file, files.CHUNK_SIZE,
                                       files.Slice(served.file, length))
        served.file.close()
        return [b""]

    def _redirect(self, start_response: Callable[..., Any], headers: list[tuple[str, str]],
                  found: files.Entry) -> list[bytes]:
        """Headers of the checked file and where the proxy finds it; the proxy sends the body."""
        dropped = ("Content-Length", "Content-Range", "Content-Disposition")
        kept = [(k, v) for k, v in headers if k not in dropped]
        location = transfers.proxy_location(self.proxy_header, found.path)
        start_response(_STATUS[200], [*kept, ("Content-Disposition", f'inline; filename="{found.name}"'),
                                      ("Content-Length", "0"), (self.proxy_header, location),
                                      *self.extra_headers])
        return [b""]

    def _text(self, start_response: Callable[..., Any], status: int, message: str,
              headers: list[tuple[str, str]] | None = None) -> list[bytes]:
        body = (message + "\n").encode("utf-8")
        start_response(_STATUS[status], [("Content-Type", files.TEXT),
                                         ("Content-Length", str(len(body))),
                                         *(headers or []), *self.extra_headers])
        return [body]


def _security_headers() -> list[tuple[str, str]]:
    """The headers Django's security and clickjacking middleware add to every response."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = policy if isinstance(policy, str) else ",".join(policy)
        headers.append(("Referrer-Policy", value))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers
