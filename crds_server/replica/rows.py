"""Catalog records of the source (the client's string form, contract §6.5) as catalog rows."""

from __future__ import annotations

import datetime
from typing import Any

from crds_server.catalog import records
from crds_server.catalog.models import File

_DATES = {"delivery_date", "activation_date", "useafter_date"}
_FLAGS = {"rejected", "blacklisted"}
# Fields `records.to_wire` shows as "none" when empty.
_NONE_WHEN_EMPTY = {"description", "comment", "history", "pedigree", "aperture", "creator_name",
                    "reference_file_type", "instrument", "filekind", "observatory"}
_LENGTHS = {f.name: f.max_length for f in File._meta.concrete_fields if f.max_length}
# What a row holds for a field the source does not send.
_DEFAULTS = {f.name: f.get_default() for f in File._meta.concrete_fields if f.name in records.FIELDS}


def values(record: dict[str, Any]) -> dict[str, Any]:
    """The model values of one source record (unknown fields ignored, missing ones left default)."""
    found: dict[str, Any] = {}
    for field in records.FIELDS:
        if field == "name" or field not in record:
            continue
        value = record[field]
        text = "" if value is None else str(value)
        if field in _FLAGS:
            found[field] = text.lower() == "true"
        elif field in _DATES:
            found[field] = parse_date(text)
        elif field == "size":
            found[field] = int(text) if text.isdigit() else 0
        elif field == "sha1sum":
            found[field] = "" if text.lower() in ("", "none") else text.lower()
        elif field in _NONE_WHEN_EMPTY and text.lower() == "none":
            found[field] = ""
        else:
            found[field] = text[:_LENGTHS[field]] if field in _LENGTHS else text
    return found


def parse_date(text: str) -> datetime.datetime | None:
    """A date of the client's form (`YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]`), or None."""
    try:
        stamp = datetime.datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def wire(name: str, record: dict[str, Any]) -> dict[str, str]:
    """How this server would answer for `record` once stored: the form compared between runs."""
    return records.to_wire({**_DEFAULTS, "name": name, **values(record)})


def changed(source: dict[str, dict[str, Any]], local: dict[str, dict[str, str]]) -> list[str]:
    """Names whose stored record would differ from the source's (new names included).

    A record equal to ours as sent (a source of ours sends this very form) is
    unchanged without converting it: a follow run compares ~19,000 records.
    """
    return sorted(name for name, record in source.items()
                  if local.get(name) != record and local.get(name) != wire(name, record))
