"""Catalog methods: names in a context, listings, file records, SQLite export."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from django.conf import settings

from crds_server.catalog import export, loader, records, serverinfo
from crds_server.catalog.errors import UnknownFileError
from crds_server.catalog.models import File
from crds_server.rpc.registry import InvalidParameters, method
from crds_server.security import limits

from .common import (
    check_list,
    check_observatory,
    check_string,
    resolve,
    resolve_observatory_or_context,
)

GLOB_RE = re.compile(r"[A-Za-z0-9_.*+()\-\[\]?]+")  # fullmatch: no trailing newline
ENCODE_OVER = 1000


@method
def get_mapping_names(context: str) -> list[str]:
    """Every mapping in the closure of `context`, itself included, sorted."""
    return sorted(loader.get_mapping(resolve(context)).mapping_names())


@method
def get_reference_names(context: str) -> list[str]:
    """Every reference named in the closure of `context`, sorted (no N/A or OMIT)."""
    names = loader.get_mapping(resolve(context)).reference_names()
    return sorted(n for n in names if n.upper() not in ("N/A", "OMIT") and "NOT FOUND" not in n)


def _list(kind: str, glob_pattern: Any) -> list[str]:
    if not isinstance(glob_pattern, str) or not glob_pattern:
        raise InvalidParameters("glob_pattern must be a non-empty string.")
    limits.check_glob(glob_pattern)
    if not GLOB_RE.fullmatch(glob_pattern):
        raise InvalidParameters(f"Invalid glob pattern '{glob_pattern}'.")
    # fnmatch's own translation (atomic groups: no exponential backtracking), compiled here
    # rather than through fnmatch.filter, whose cache would keep 32,768 callers' patterns.
    match = re.compile(fnmatch.translate(glob_pattern)).match
    names = File.objects.distributable().filter(type=kind).values_list("name", flat=True)
    return sorted(name for name in names if match(name))


@method
def list_mappings(observatory: str, glob_pattern: str) -> list[str]:
    """Distributable mapping names matching an fnmatch `glob_pattern`."""
    check_observatory(observatory)
    return _list(File.MAPPING, glob_pattern)


@method
def list_references(observatory: str, glob_pattern: str) -> list[str]:
    """Distributable reference names matching an fnmatch `glob_pattern`."""
    check_observatory(observatory)
    return _list(File.REFERENCE, glob_pattern)


@method
def get_file_info(context_or_observatory: str, filename: str) -> dict[str, str]:
    """The full catalog record of one file (all values strings)."""
    resolve_observatory_or_context(context_or_observatory)
    found = records.record(check_string(filename, "filename", 128))
    if found is None:
        raise UnknownFileError(f"File '{filename}' is not known to this CRDS server.")
    return found


@method
def get_file_info_map(observatory: str, files: list[str] | None = None,
                      fields: list[str] | None = None) -> Any:
    """{name: record or "NOT FOUND"}; null files means the whole catalog, null fields all fields."""
    check_observatory(observatory)
    if files is not None:
        limits.check_count("file names", check_list(files, "files"), "max_files_per_rpc")
        files = [check_string(f, "file name", 256) for f in files]
    if fields is not None:
        limits.check_count("fields", check_list(fields, "fields"), "max_fields_per_rpc")
        fields = [check_string(f, "field", 64) for f in fields]
    if files is None:  # the whole catalog is always large
        return records.whole_catalog_encoded(fields, serverinfo.crds_encode)
    result = records.info_map(files, fields)
    return serverinfo.crds_encode(result) if len(result) > ENCODE_OVER else result


@method
def get_sqlite_db(observatory: str) -> str:
    """The catalog and context history as an SQLite file: base64 of zlib."""
    check_observatory(observatory)
    return export.sqlite_db_encoded()


def _url(filename: str) -> str:
    row = File.objects.distributable().filter(name=check_string(filename, "filename", 128)).first()
    if row is None:
        raise UnknownFileError(f"File '{filename}' is not known to this CRDS server.")
    kind = "mappings" if row.is_mapping() else "references"
    return f"{settings.PUBLIC_URL}/unchecked_get/{kind}/{settings.OBSERVATORY}/{row.name}"


@method
def get_mapping_url(context: str, mapping: str) -> str:
    """Deprecated: the download URL of a mapping."""
    return _url(mapping)


@method
def get_reference_url(context: str, reference: str) -> str:
    """Deprecated: the download URL of a reference."""
    return _url(reference)


@method
def get_url(context: str, filename: str) -> str:
    """Deprecated: the download URL of any file."""
    return _url(filename)


@method
def file_exists(filename: str) -> bool:
    """Legacy: whether `filename` is catalogued."""
    return records.record(check_string(filename, "filename", 128)) is not None
