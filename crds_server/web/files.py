"""File downloads: the static-like `unchecked_get` tree and the legacy `/get/` URL.

Layout (contract §3.2)::

    /unchecked_get/mappings/<obs>/<name>.[pir]map
    /unchecked_get/references/<obs>/<name>
    /unchecked_get/config/<obs>/server_config   (and bad_files.txt)
    /unchecked_get/pickles/<obs>/<context>.pmap.pkl
    /get/<name>                                 (redirects to one of the above)

Catalogued files never change once distributed, so they are served with
immutable-file HTTP semantics (contract §7.1): a strong ETag made of the
catalogued sha1sum, byte ranges, conditional requests and a correct HEAD for
`crds check_archive` (§4.3).  Bytes that disagree with the catalogue are never
served: a 14.0.3 client would keep them in its cache (§4.1 step 5).

Full bodies go out through `FileResponse`, so gunicorn can use sendfile; byte
ranges are streamed in bounded chunks.  No view reads a whole file.

Under gunicorn, mappings and references are answered by the WSGI fast path
in `fastfiles.py`, which uses this module's rules and header code (`Entry`,
`open_catalogued`, `plan`, `file_headers`); these views answer the rest and
whatever the fast path passes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt

from crds_server.catalog.models import File

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
# A byte position of more digits (leading zeros aside) is past the end of every file: it is never
# converted to an int, so a 5,000-digit Range costs nothing and never hits Python's conversion limit.
_MAX_DIGITS = 18
_BEYOND = 10**_MAX_DIGITS
_KIND_TYPES = {"mappings": File.MAPPING, "references": File.REFERENCE}
_CONFIG_TEXTS = {"server_config": "server_config_text", "bad_files.txt": "bad_files_text"}
_SAFE_METHODS = ("GET", "HEAD")

IMMUTABLE = "public, max-age=31536000, immutable"
PICKLE_CACHE_CONTROL = "public, max-age=3600"
CONFIG_CACHE_CONTROL = "public, max-age=60"
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"
CHUNK_SIZE = 1024 * 1024
_UNSATISFIABLE = (-1, -1)


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


@csrf_exempt
def unchecked_get(request: HttpRequest, kind: str, observatory: str, name: str) -> HttpResponseBase:
    """Serve one file of the `unchecked_get` tree (GET and HEAD only)."""
    if request.method not in _SAFE_METHODS:
        return _not_allowed()
    if not valid_name(name) or observatory != settings.OBSERVATORY:
        return _text(404, unknown_message(name))
    if kind == "config":
        return _serve_config(request, name)
    if kind == "pickles":
        return _serve_pickle(request, observatory, name)
    return _serve_catalogued(request, kind, observatory, name)


@csrf_exempt
def checked_get(request: HttpRequest, name: str) -> HttpResponseBase:
    """Legacy `/get/<name>`: redirect to the file's `unchecked_get` URL."""
    if request.method not in _SAFE_METHODS:
        return _not_allowed()
    row = _find(name, None, settings.OBSERVATORY) if valid_name(name) else None
    if row is None:
        return _text(404, unknown_message(name))
    kind = "mappings" if row.is_mapping() else "references"
    args = {"kind": kind, "observatory": row.observatory, "name": row.name}
    return HttpResponseRedirect(reverse("web-unchecked-get", kwargs=args))


def valid_name(name: str) -> bool:
    """A plain file name: no path separators, no `..`, no odd characters."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def _find(name: str, file_type: str | None, observatory: str) -> File | None:
    """The distributable catalog row `name`, of `file_type` if given."""
    rows = File.objects.distributable().filter(name=name, observatory=observatory)
    if file_type is not None:
        rows = rows.filter(type=file_type)
    return rows.first()


def find_entry(name: str, kind: str, observatory: str) -> Entry | None:
    """The exact catalog lookup of a distributable file of `kind` (mappings, references)."""
    row = _find(name, _KIND_TYPES[kind], observatory)
    return None if row is None else entry(row.name, row.type, row.size, row.sha1sum, observatory)


def entry(name: str, file_type: str, size: int, sha1sum: str, observatory: str) -> Entry:
    """An `Entry` from catalog values (the store layout of `File.store_path`)."""
    is_mapping = file_type == File.MAPPING
    sub = "mappings" if is_mapping else "references"
    path = os.path.join(settings.FILE_CACHE, sub, observatory, name)
    sha1 = sha1sum if sha1sum.lower() not in ("", "none") else ""
    return Entry(name, is_mapping, size, sha1, path)


def unknown_message(name: str) -> str:
    return f"'{name}' is unknown to this server."


def inconsistent_message(name: str) -> str:
    return f"The file store is inconsistent for '{name}'; operators notified."


def _serve_catalogued(
    request: HttpRequest, kind: str, observatory: str, name: str
) -> HttpResponseBase:
    """A mapping or reference, only if the catalog lists it and the store agrees."""
    found = find_entry(name, kind, observatory)
    if found is None:
        return _text(404, unknown_message(name))
    served = open_catalogued(found)
    if served is None:
        return _text(503, inconsistent_message(name))
    return _respond(request, served)


def open_catalogued(found: Entry) -> Served | None:
    """Open the file's bytes if they exist and have the catalogued size; else log and None."""
    file = _open_regular(found.path)
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


def _open_regular(path: Path | str) -> BinaryIO | None:
    """Open `path` for reading if it is a regular file (never a FIFO or directory)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return open(path, "rb")
    except OSError:
        return None


def _serve_pickle(request: HttpRequest, observatory: str, name: str) -> HttpResponseBase:
    """A context pickle, generated on first request for a catalogued .pmap."""
    if not name.endswith(".pmap.pkl"):
        return _text(404, f"'{name}' is not a context pickle name.")
    context = name.removesuffix(".pkl")
    if _find(context, File.MAPPING, observatory) is None:
        return _text(404, f"No pickle is available for '{context}': it is not a served context.")
    from crds_server.catalog import loader

    loader.drop_stale_pickle(context)
    path = settings.FILE_CACHE / "pickles" / observatory / name
    if not path.is_file():
        _generate_pickle(context, observatory, path)
    file = _open_regular(path)
    if file is None:
        return _text(404, f"No pickle is available for '{name.removesuffix('.pkl')}'.")
    info = os.fstat(file.fileno())
    served = Served(
        file=file,
        size=info.st_size,
        mtime=info.st_mtime,
        # Pickles are derived, not catalogued: validate by size and mtime instead.
        etag=f'"{info.st_mtime_ns:x}-{info.st_size:x}"',
        sha1="",
        content_type=BINARY,
        cache_control=PICKLE_CACHE_CONTROL,
    )
    return _respond(request, served)


def _generate_pickle(context: str, observatory: str, path: Path) -> None:
    """Load a catalogued context so that the loader writes its pickle to `path`."""
    from crds_server.catalog import loader

    try:
        loader.get_mapping(context)
        if not path.is_file():
            # Already loaded in this process, so no pickle was written: load again.
            loader.forget(context)
            loader.get_mapping(context)
    except Exception:
        logger.exception("Could not generate the pickle of %s.", context)


def _serve_config(request: HttpRequest, name: str) -> HttpResponse:
    """`server_config` or `bad_files.txt`, built from the current server info."""
    function_name = _CONFIG_TEXTS.get(name)
    if function_name is None:
        return _text(404, unknown_message(name))
    try:
        from crds_server.catalog import serverinfo

        body = getattr(serverinfo, function_name)().encode("utf-8")
    except Exception:
        logger.exception("Could not build %s.", name)
        return _text(503, f"'{name}' is not available right now; try again later.")
    etag = f'"{hashlib.sha1(body).hexdigest()}"'
    not_modified = _etag_matches(request.headers.get("If-None-Match") or "", etag)
    send_body = request.method == "GET" and not not_modified
    response = HttpResponse(body if send_body else b"", status=304 if not_modified else 200,
                            content_type=TEXT)
    response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    response["Cache-Control"] = CONFIG_CACHE_CONTROL
    return response


def plan(method: str, headers: Headers, served: Served) -> tuple[int, tuple[int, int] | None]:
    """The status of a GET or HEAD of `served` (200, 206, 304 or 416) and the 206's span.

    Shared by the Django view and the WSGI fast path (`fastfiles`), so both
    answer alike.  A 200 carries a body only for GET.
    """
    if _not_modified(headers, served):
        return 304, None
    if method == "HEAD":
        return 200, None
    span = _requested_span(method, headers, served)
    if span == _UNSATISFIABLE:
        return 416, None
    return (200, None) if span is None else (206, span)


def _respond(request: HttpRequest, served: Served) -> HttpResponseBase:
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
        response = _text(416, unsatisfiable_message(served))
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


def _not_modified(headers: Headers, served: Served) -> bool:
    """Whether If-None-Match (weak comparison), else If-Modified-Since, says "unchanged"."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, served.etag)
    since_header = headers.get("If-Modified-Since")
    since = parse_http_date_safe(since_header) if since_header else None
    return since is not None and int(served.mtime) <= since


def _etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of `etag` against an If-None-Match list."""
    tags = parse_etags(header) if header else []
    if "*" in tags:
        return True
    return bool(etag) and any(tag.removeprefix("W/") == etag for tag in tags)


def _requested_span(method: str, headers: Headers, served: Served) -> tuple[int, int] | None:
    """The inclusive byte span of a single-range GET, `_UNSATISFIABLE`, or None for all."""
    header = headers.get("Range")
    if method != "GET" or not header or not _if_range_holds(headers, served):
        return None
    match = _RANGE.match(header)
    if match is None:  # malformed, other units or several ranges: send everything
        return None
    first, last = match.groups()
    if not first:
        return _suffix_span(_position(last), served.size) if last else None
    start = _position(first)
    if last and _position(last) < start:  # syntactically invalid, so ignored
        return None
    if start >= served.size:
        return _UNSATISFIABLE
    end = min(_position(last), served.size - 1) if last else served.size - 1
    return start, end


def _position(digits: str) -> int:
    """A Range position; any of more than `_MAX_DIGITS` digits counts as `_BEYOND` every file."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND


def _suffix_span(length: int, size: int) -> tuple[int, int]:
    """The last `length` bytes of a `size`-byte file."""
    if length == 0 or size == 0:
        return _UNSATISFIABLE
    return max(size - length, 0), size - 1


def _if_range_holds(headers: Headers, served: Served) -> bool:
    """If-Range: a strong ETag equal to ours, or exactly our Last-Modified date."""
    value = headers.get("If-Range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return bool(served.etag) and value == served.etag
    date = parse_http_date_safe(value)
    return date is not None and date == int(served.mtime)


def _text(status: int, message: str) -> HttpResponse:
    """A short plain-text answer."""
    return HttpResponse(message + "\n", status=status, content_type=TEXT)


def _not_allowed() -> HttpResponseNotAllowed:
    """405 for anything but GET and HEAD."""
    return HttpResponseNotAllowed(
        list(_SAFE_METHODS), "Only GET and HEAD are allowed here.\n", content_type=TEXT
    )
