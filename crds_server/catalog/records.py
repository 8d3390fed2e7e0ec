"""Catalog records in the client's wire form: every value a string (contract §6.5).

Full-catalog maps are built from one ``values()`` query and kept per process
until the catalog version moves, so ``get_file_info_map`` over ~15,000
files costs a dictionary walk, not 15,000 queries.
"""

from __future__ import annotations

import datetime
import functools
import threading
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from . import versioning
from .contexts import format_date
from .models import File

FIELDS = (
    "name", "uploaded_as", "type", "observatory", "instrument", "filekind", "state",
    "rejected", "blacklisted", "size", "sha1sum", "delivery_date", "activation_date",
    "useafter_date", "change_level", "description", "comment", "history", "pedigree",
    "aperture", "creator_name", "reference_file_type", "derived_from", "deliverer_user",
    "deliverer_email", "replaced_by_filename", "catalog_link",
)
_DATES = {"delivery_date", "activation_date", "useafter_date"}
_FLAGS = {"rejected", "blacklisted"}
_LOWER = {"description", "comment", "history", "pedigree", "aperture", "creator_name",
          "reference_file_type", "derived_from", "instrument", "filekind", "observatory"}

# Fields `to_wire` shows as "none" when empty.
_NONE_WHEN_EMPTY = _LOWER - {"derived_from"}
_TRUE = ("true", "1", "yes")

_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "records": {}, "encoded": {}}


def catalog_name(link: Any) -> str:
    """The delivery catalog's name (`hst_0007.cat`) of a stored `catalog_link`, which may be
    the catalog's path in the server's file system: that layout is never shown."""
    return PurePosixPath(str(link or "").replace("\\", "/")).name


def to_wire(values: dict[str, Any]) -> dict[str, str]:
    """One catalog row (as a dict of model values) in the client's string form."""
    record = {}
    for field in FIELDS:
        value = values.get(field)
        if field in _FLAGS:
            record[field] = "true" if value else "false"
        elif field in _DATES:
            record[field] = format_date(value)
        elif field == "sha1sum":
            record[field] = value or "none"
        elif field == "catalog_link":
            record[field] = catalog_name(value)
        elif field in _LOWER:
            record[field] = str(value or "").lower() or ("none" if field != "derived_from" else "")
        else:
            record[field] = "" if value is None else str(value)
    return record


def from_wire(record: dict[str, Any]) -> dict[str, Any]:
    """The model values of one record in the client's string form (another server's
    `get_file_info_map`, a `crds_db.sqlite3` row): unknown fields ignored, missing ones left out."""
    lengths = _lengths()
    found: dict[str, Any] = {}
    for field in FIELDS:
        if field == "name" or field not in record:
            continue
        value = record[field]
        text = "" if value is None else str(value)
        if field in _FLAGS:
            found[field] = text.strip().lower() in _TRUE
        elif field in _DATES:
            found[field] = parse_wire_date(text)
        elif field == "size":
            found[field] = int(text) if text.isdigit() else 0
        elif field == "sha1sum":
            found[field] = "" if text.lower() in ("", "none") else text.lower()
        elif field in _NONE_WHEN_EMPTY and text.lower() == "none":
            found[field] = ""
        else:
            found[field] = text[:lengths[field]] if field in lengths else text
    return found


def parse_wire_date(text: str) -> datetime.datetime | None:
    """A date of the client's form (`YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`), or None."""
    try:
        stamp = datetime.datetime.fromisoformat(str(text).strip().replace("T", " "))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def stored_form(name: str, record: dict[str, Any]) -> dict[str, str]:
    """How this server answers for `record` once stored (fields it lacks at their defaults)."""
    return to_wire({**_defaults(), "name": name, **from_wire(record)})


@functools.cache
def _defaults() -> dict[str, Any]:
    return {f.name: f.get_default() for f in File._meta.concrete_fields if f.name in FIELDS}


@functools.cache
def _lengths() -> dict[str, int]:
    return {f.name: f.max_length for f in File._meta.concrete_fields if f.max_length}


def all_records() -> dict[str, dict[str, str]]:
    """Every public file's record (pending rows left out: clients never see them), cached per version."""
    version = versioning.current()
    with _lock:
        if _cache["version"] == version:
            return _cache["records"]
    rows = File.objects.public().values(*FIELDS).order_by()
    records = {row["name"]: to_wire(row) for row in rows.iterator(chunk_size=5000)}
    with _lock:
        _cache.update(version=version, records=records, encoded={})
    return records


def whole_catalog_encoded(fields: list[str] | None, encode) -> Any:
    """The whole-catalog info map for `fields`, encoded once per catalog version.

    `crds sync` and certify ask for the whole catalog; encoding ~19,000
    records takes ~150 ms, so the encoded answer is kept until the catalog changes.
    """
    records = all_records()
    key = tuple(sorted(fields)) if fields else None
    with _lock:
        cached = _cache["encoded"].get(key)
    if cached is None:
        cached = encode(info_map(None, fields))
        with _lock:
            if _cache["records"] is records:
                _cache["encoded"][key] = cached
    return cached


def record(name: str) -> dict[str, str] | None:
    """One file's record, or None if unknown."""
    return all_records().get(name)


def info_map(files: Iterable[str] | None, fields: list[str] | None) -> dict[str, Any]:
    """{name: record or "NOT FOUND"} for `files` (None: all), restricted to `fields`."""
    records = all_records()
    names = records.keys() if files is None else files
    wanted = [f for f in fields if f in FIELDS] if fields else None
    result: dict[str, Any] = {}
    for name in names:
        rec = records.get(name)
        if rec is None:
            result[name] = "NOT FOUND"
        elif wanted is None:
            result[name] = rec
        else:
            result[name] = {f: rec[f] for f in wanted}
    return result
