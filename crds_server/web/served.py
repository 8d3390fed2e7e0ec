"""An open catalogued file and the HTTP answer to a GET or HEAD of it.

Full bodies go out through `FileResponse`, so gunicorn can use sendfile; byte
ranges are streamed in bounded chunks.  No view reads a whole file.  The
WSGI fast path (`fastfiles`) uses `Entry`, `open_catalogued`, `plan` and
`file_headers` from here, so both paths answer alike.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import http_date

from .ranges import UNSATISFIABLE, not_modified, requested_span

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"
CHUNK_SIZE = 1024 * 1024


class Entry(NamedTuple):
    """What the catalog says about one distributable file: enough to serve it."""

    name: str
    is_mapping: bool
    size: int
    sha1: str  # "" when the catalog has no checksum
    path: str

class Headers(Protocol):
    """Request headers by name (`request.headers`, or the WSGI fast path's view of environ)."""

    def get(self, name: str, default: None = None) -> str | None: ...

@dataclass
class Served:
    """An open file about to be sent, with the metadata its headers need."""

    file: BinaryIO
    size: int
    mtime: float
    etag: str
    sha1: str
    content_type: str
    cache_control: str

class Slice:
    """The next `length` bytes of an open file, read in bounded chunks; closes the file."""

    def __init__(self, file: BinaryIO, length: int) -> None:
        self.file = file
        self.length = length

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.length
        while remaining > 0:
            chunk = self.file.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()

def open_catalogued(found: Entry) -> Served | None:
    """Open the file's bytes if they exist and have the catalogued size; else log and None."""
    file = open_regular(found.path)
    if file is None:
        logger.error("File store inconsistent: %s is catalogued but %s is missing.",
                     found.name, found.path)
        return None
    info = os.fstat(file.fileno())
    if info.st_size != found.size:
        file.close()
        logger.error(
            "File store inconsistent: %s has %d bytes on disk, the catalog says %d.",
            found.path, info.st_size, found.size,
        )
        return None
    return Served(
        file=file,
        size=info.st_size,
        mtime=info.st_mtime,
        etag=f'"{found.sha1}"' if found.sha1 else "",
        sha1=found.sha1,
        content_type=TEXT if found.is_mapping else BINARY,
        cache_control=IMMUTABLE,
    )

def open_regular(path: Path | str) -> BinaryIO | None:
    """Open `path` for reading if it is a regular file (never a FIFO or directory)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return open(path, "rb")
    except OSError:
        return None

def plan(method: str, headers: Headers, served: Served) -> tuple[int, tuple[int, int] | None]:
    """The status of a GET or HEAD of `served` (200, 206, 304 or 416) and the 206's span.

    Shared by the Django view and the WSGI fast path (`fastfiles`), so both
    answer alike.  A 200 carries a body only for GET.
    """
    if not_modified(headers, served):
        return 304, None
    if method == "HEAD":
        return 200, None
    span = requested_span(method, headers, served)
    if span == UNSATISFIABLE:
        return 416, None
    return (200, None) if span is None else (206, span)

def respond(request: HttpRequest, served: Served) -> HttpResponseBase:
    """Answer a GET or HEAD for `served`: 200, 206, 304 or 416.  Owns `served.file`."""
    status, span = plan(request.method or "GET", request.headers, served)
    if status == 200 and request.method == "GET":
        return _full(served)
    if span is not None:
        return _partial(served, *span)
    served.file.close()
    return _bodiless(status, served)

def _full(served: Served) -> FileResponse:
    """The whole file, handed to the WSGI server's file wrapper (sendfile)."""
    response = FileResponse(served.file, content_type=served.content_type)
    response.block_size = CHUNK_SIZE
    _set_file_headers(response, served, served.size)
    return response

def _partial(served: Served, start: int, end: int) -> StreamingHttpResponse:
    """Bytes `start`..`end` (inclusive), streamed in chunks."""
    length = end - start + 1
    served.file.seek(start)
    response = StreamingHttpResponse(
        Slice(served.file, length), status=206, content_type=served.content_type
    )
    _set_file_headers(response, served, length)
    response["Content-Range"] = f"bytes {start}-{end}/{served.size}"
    return response

def _bodiless(status: int, served: Served) -> HttpResponse:
    """The 304, HEAD or 416 answer: headers only (416 carries a short message)."""
    if status == 416:
        response = text(416, unsatisfiable_message(served))
        for header, value in unsatisfiable_headers(served):
            response[header] = value
        return response
    response = HttpResponse(status=304) if status == 304 else HttpResponse(
        content_type=served.content_type)
    _set_file_headers(response, served, served.size)
    return response

def unsatisfiable_message(served: Served) -> str:
    return f"Range not satisfiable: the file has {served.size} bytes."

def unsatisfiable_headers(served: Served) -> list[tuple[str, str]]:
    return [("Content-Range", f"bytes */{served.size}"), ("Accept-Ranges", "bytes")]

def _set_file_headers(response: HttpResponseBase, served: Served, length: int) -> None:
    for header, value in file_headers(served, length):
        response[header] = value

def file_headers(served: Served, length: int) -> list[tuple[str, str]]:
    """Length, validators, caching and checksum headers of a file response."""
    headers = [
        ("Content-Length", str(length)),
        ("Accept-Ranges", "bytes"),
        ("Last-Modified", http_date(served.mtime)),
        ("Cache-Control", served.cache_control),
    ]
    if served.etag:
        headers.append(("ETag", served.etag))
    if served.sha1:
        headers.append(("X-Checksum-Sha1", served.sha1))
    return headers

def text(status: int, message: str) -> HttpResponse:
    """A short plain-text answer."""
    return HttpResponse(message + "\n", status=status, content_type=TEXT)
