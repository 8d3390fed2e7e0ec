"""Catalog records in the client's wire form: every value a string (contract §6.5).

Full-catalog maps are built from one ``values()`` query and kept per process
until the catalog version moves, so ``get_file_info_map`` over ~15,000
files costs a dictionary walk, not 15,000 queries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
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

_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "records": {}, "encoded": {}}


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
        elif field in _LOWER:
            record[field] = str(value or "").lower() or ("none" if field != "derived_from" else "")
        else:
            record[field] = "" if value is None else str(value)
    return record


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
