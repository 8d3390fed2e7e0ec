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

The answers themselves (open file, status, headers, body) are built by
`served`, conditional requests and byte ranges are read by `ranges`.

Under gunicorn, mappings and references are answered by the WSGI fast path
in `fastfiles.py`, which uses this module's catalog lookups (`find_entry`,
`entry`, `valid_name`) and the names re-exported from `served`; these views
answer the rest and whatever the fast path passes on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from crds_server.catalog.models import File

from .ranges import etag_matches
from .served import (
    BINARY,
    CHUNK_SIZE,
    IMMUTABLE,
    TEXT,
    Entry,
    Headers,
    Served,
    Slice,
    file_headers,
    open_catalogued,
    open_regular,
    plan,
    respond,
    text,
    unsatisfiable_headers,
    unsatisfiable_message,
)

# Used by the WSGI fast path (`fastfiles`) as `files.<name>`.
__all__ = ["CHUNK_SIZE", "IMMUTABLE", "TEXT", "Entry", "Headers", "Served", "Slice", "checked_get",
           "entry", "file_headers", "find_entry", "inconsistent_message", "open_catalogued", "plan",
           "unchecked_get", "unknown_message", "unsatisfiable_headers", "unsatisfiable_message",
           "valid_name"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_KIND_TYPES = {"mappings": File.MAPPING, "references": File.REFERENCE}
_CONFIG_TEXTS = {"server_config": "server_config_text", "bad_files.txt": "bad_files_text"}
_SAFE_METHODS = ("GET", "HEAD")

PICKLE_CACHE_CONTROL = "public, max-age=3600"
CONFIG_CACHE_CONTROL = "public, max-age=60"


@csrf_exempt
def unchecked_get(request: HttpRequest, kind: str, observatory: str, name: str) -> HttpResponseBase:
    """Serve one file of the `unchecked_get` tree (GET and HEAD only)."""
    if request.method not in _SAFE_METHODS:
        return _not_allowed()
    if not valid_name(name) or observatory != settings.OBSERVATORY:
        return text(404, unknown_message(name))
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
        return text(404, unknown_message(name))
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
        return text(404, unknown_message(name))
    served = open_catalogued(found)
    if served is None:
        return text(503, inconsistent_message(name))
    return respond(request, served)

def _serve_pickle(request: HttpRequest, observatory: str, name: str) -> HttpResponseBase:
    """A context pickle, generated on first request for a catalogued .pmap."""
    if not name.endswith(".pmap.pkl"):
        return text(404, f"'{name}' is not a context pickle name.")
    context = name.removesuffix(".pkl")
    if _find(context, File.MAPPING, observatory) is None:
        return text(404, f"No pickle is available for '{context}': it is not a served context.")
    from crds_server.catalog import loader

    loader.drop_stale_pickle(context)
    path = settings.FILE_CACHE / "pickles" / observatory / name
    if not path.is_file():
        _generate_pickle(context, observatory, path)
    file = open_regular(path)
    if file is None:
        return text(404, f"No pickle is available for '{name.removesuffix('.pkl')}'.")
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
    return respond(request, served)

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
        return text(404, unknown_message(name))
    try:
        from crds_server.catalog import serverinfo

        body = getattr(serverinfo, function_name)().encode("utf-8")
    except Exception:
        logger.exception("Could not build %s.", name)
        return text(503, f"'{name}' is not available right now; try again later.")
    etag = f'"{hashlib.sha1(body).hexdigest()}"'
    not_modified = etag_matches(request.headers.get("If-None-Match") or "", etag)
    send_body = request.method == "GET" and not not_modified
    response = HttpResponse(body if send_body else b"", status=304 if not_modified else 200,
                            content_type=TEXT)
    response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    response["Cache-Control"] = CONFIG_CACHE_CONTROL
    return response

def _not_allowed() -> HttpResponseNotAllowed:
    """405 for anything but GET and HEAD."""
    return HttpResponseNotAllowed(
        list(_SAFE_METHODS), "Only GET and HEAD are allowed here.\n", content_type=TEXT
    )
