"""Catalog rows of the files of a synced cache: what each file's bytes, rules and header say.

A reference's instrument, type and earliest useafter come from the rmaps
that name it; its pedigree and description from its own header.  When the
cache carries the source's catalog (`crds_db.sqlite3`), its record is taken
instead of the header, field for field, and its size and sha1sum must be
those of the bytes.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crds import data_file
from crds.core import config as crds_config
from crds.core import rmap, utils
from django.conf import settings

from crds_server.lib import fitscards

from . import records
from .errors import ImportRefused
from .models import File

GEIS_HEADER_RE = re.compile(r"\.r\dh$")
GEIS_DATA_RE = re.compile(r"\.r\dd$")
WANTED = ("USEAFTER", "PEDIGREE", "DESCRIP")  # what a reference's row takes from its header
_BLOCK = 2880
_MAX_HEADER_BLOCKS = 1000  # 2.8 MB of cards: far beyond any real primary header
_HEAD = _BLOCK * _MAX_HEADER_BLOCKS  # what is kept of a FITS or GEIS header file's bytes
_CHUNK = 1 << 20
_ISO_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
Rules = dict[str, tuple[str, str, str]]  # reference: (instrument, filekind, earliest useafter)
FileFacts = tuple[os.stat_result, str, bytes]  # stat, sha1sum, first bytes


def mapping_row(name: str, path: Path, parsed: rmap.Mapping, source: dict[str, Any] | None) -> File:
    """The row of mapping `name` at `path` (`parsed` by the library); `source` is the source's
    record of it, if any."""
    if source is not None:
        return _sourced_row(name, path, File.MAPPING, source)
    return _mapping_row(name, path, parsed.header)


def reference_row(name: str, path: Path, rules: Rules, source: dict[str, Any] | None) -> File:
    """The row of reference `name` at `path` (see `mapping_row`)."""
    if source is not None:
        return _sourced_row(name, path, File.REFERENCE, source)
    return _reference_row(name, path, rules)


def _sourced_row(name: str, path: Path, kind: str, source: dict[str, Any]) -> File:
    row = _new_row(name, path, kind)
    values = records.from_wire(source)
    for field in ("size", "sha1sum"):
        if field in values and values[field] not in ("", 0) and values[field] != getattr(row, field):
            raise ImportRefused(f"{path} differs from the source's catalog record of {name} "
                                f"({field} {getattr(row, field)} here, {values[field]} there).")
    values.pop("observatory", None)
    values.pop("type", None)
    for field, value in values.items():
        setattr(row, field, value)
    return row


def _mapping_row(name: str, path: Path, header: dict[str, Any]) -> File:
    return _new_row(
        name, path, File.MAPPING,
        instrument=str(header.get("instrument", "")).lower() if name.endswith((".imap", ".rmap")) else "",
        filekind=str(header.get("filekind", "")).lower() if name.endswith(".rmap") else "",
        derived_from=str(header.get("derived_from", ""))[:128],
        description=str(header.get("description", "")),
    )


def _new_row(name: str, path: Path, kind: str, facts: FileFacts | None = None, **fields: Any) -> File:
    stat, sha1sum, _ = facts or read_file(path, 0)
    return _file(
        name=name, type=kind, observatory=settings.OBSERVATORY, state="archived",
        size=stat.st_size, sha1sum=sha1sum, uploaded_as=name,
        delivery_date=datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC),
        **fields,
    )


@functools.cache
def _defaults() -> tuple[list[Any], dict[str, int]]:
    """Every concrete field's default, in field order, and each field's position."""
    fields = File._meta.concrete_fields
    return [f.get_default() for f in fields], {f.attname: i for i, f in enumerate(fields)}


def _file(**values: Any) -> File:
    """File(**values), built the way Django builds rows it reads (all values in field order),
    several times faster than matching keywords to fields for each of ~18,000 rows."""
    defaults, index = _defaults()
    row = list(defaults)
    for attname, value in values.items():
        row[index[attname]] = value
    return File(*row)


def read_file(path: Path, keep: int) -> FileFacts:
    """(stat, sha1 hex digest, first `keep` bytes) of the file at `path`, read once.

    The digest is the one `crds.core.utils.checksum` gives (sha1 of the bytes).
    """
    digest, head = hashlib.sha1(), bytearray()
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if len(head) < keep:
                head += chunk[:keep - len(head)]
    return stat, digest.hexdigest(), bytes(head)


def rules_metadata(mapping_rows: Iterable[File], parsed: dict[str, rmap.Mapping]) -> Rules:
    """{reference: (instrument, filekind, earliest useafter)} from the cache's rmaps (`parsed`).

    Walks the library's own nested form of each selector (`Selector.todict`), so
    every shape it parses is read alike: Match -> UseAfter, Match -> N/A or OMIT
    (rows without a date column), plain UseAfter, ClosestTime, VersionAfter,
    SelectVersion, Bracket, GeometricallyNearest and any nesting of them.
    """
    found: dict[str, tuple[str, str, str]] = {}
    for row in mapping_rows:
        if not row.name.endswith(".rmap"):
            continue
        selector = parsed[row.name].selector
        for ref, useafter in _selected_files(selector.todict(), ""):
            old = found.get(ref)
            if old is None or (useafter and (not old[2] or useafter < old[2])):
                found[ref] = (row.instrument, row.filekind, useafter)
    return found


def _selected_files(node: Any, useafter: str) -> Iterable[tuple[str, str]]:
    """(reference, useafter date on its path or "") for every file a selector tree names."""
    if isinstance(node, dict) and "selections" in node:
        dated = tuple(node.get("parameters") or ()) == ("USEAFTER",)  # UseAfter, ClosestTime
        for key, choice in node["selections"]:
            date = str(key[0] if isinstance(key, (tuple, list)) else key) if dated else useafter
            yield from _selected_files(choice, date)
    elif isinstance(node, (tuple, list)):  # a choice naming several files
        for item in node:
            yield from _selected_files(item, useafter)
    elif isinstance(node, str) and node.upper() not in ("N/A", "OMIT") and crds_config.is_reference(node):
        yield node, useafter


def _reference_row(name: str, path: Path, rules: Rules) -> File:
    facts = read_file(path, _HEAD if name.endswith(".fits") or GEIS_HEADER_RE.search(name) else 0)
    header = _read_header(path, facts)
    partner = GEIS_DATA_RE.sub(lambda m: m.group(0)[:-1] + "h", name)
    instrument, filekind, useafter = rules.get(name) or rules.get(partner) or _properties(path)
    return _new_row(
        name, path, File.REFERENCE, facts, instrument=instrument, filekind=filekind,
        useafter_date=_parse_useafter(useafter or header.get("USEAFTER", "")),
        pedigree=str(header.get("PEDIGREE", ""))[:128],
        description=str(header.get("DESCRIP", "")),
        reference_file_type=filekind,
    )


def _read_header(path: Path, facts: FileFacts) -> dict[str, Any]:
    """The keywords a row takes (`WANTED`) from a reference's header, or {} if it cannot be read.

    FITS: only the primary header's blocks are read, and astropy parses only
    the few cards that can hold a wanted keyword (`lib.fitscards`; the same
    values as astropy's whole header, a tenth of the time). GEIS headers
    likewise; ASDF, JSON and YAML references carry a ``meta`` tree,
    read without building data models, whose keys are given their FITS-like names.
    FITS and GEIS headers come from the bytes read for the checksum (`facts`).
    """
    name = path.name
    try:
        if name.endswith(".fits"):
            return fitscards.values(primary_header(facts[2], name), WANTED)
        if GEIS_HEADER_RE.search(name):
            text = (facts[2] if facts[0].st_size <= _HEAD else path.read_bytes()).decode("ascii", "replace")
            with warnings.catch_warnings():  # GEIS cards are not all valid FITS
                warnings.simplefilter("ignore")
                return fitscards.values(text, WANTED)
        if name.endswith((".asdf", ".json", ".yaml")):
            return _meta_keywords(_load_tree(path).get("meta", {}))
        if GEIS_DATA_RE.search(name):
            return {}
        return dict(data_file.get_free_header(str(path), observatory=settings.OBSERVATORY))
    except Exception:
        return {}


def primary_header(data: bytes, name: str) -> str:
    """The text of a FITS file's primary header from its first bytes `data`: the 2,880-byte
    blocks up to the one holding the END card."""
    for end in range(_BLOCK, min(len(data), _HEAD) + 1, _BLOCK):
        block = data[end - _BLOCK:end]
        if any(block[i:i + 8] == b"END     " for i in range(0, _BLOCK, 80)):
            return data[:end].decode("ascii", "replace")
    raise ValueError(f"{name}: no END card in its first blocks")


def _load_tree(path: Path) -> dict[str, Any]:
    if path.name.endswith(".asdf"):
        import asdf

        with asdf.open(str(path), lazy_load=True, memmap=False) as handle:
            return {"meta": dict(handle.tree.get("meta", {}))}
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        return json.loads(text)
    import yaml

    return yaml.safe_load(text) or {}


def _meta_keywords(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    found = {"USEAFTER": meta.get("useafter", ""), "PEDIGREE": meta.get("pedigree", ""),
             "DESCRIP": meta.get("description", "")}
    return {k: str(v) for k, v in found.items() if v}


def _properties(path: Path) -> tuple[str, str, str]:
    try:
        instrument, filekind = utils.get_file_properties(settings.OBSERVATORY, str(path))
        return str(instrument).lower(), str(filekind).lower(), ""
    except Exception:
        return "", "", ""


def _parse_useafter(text: Any) -> datetime.datetime | None:
    return _parse_date(str(text).strip())


@functools.lru_cache(maxsize=4096)  # a cache's rules repeat the same dates
def _parse_date(text: str) -> datetime.datetime | None:
    text = text[:24].strip()
    if _ISO_SECONDS.fullmatch(text):  # the rules' own form: the first format, read without strptime
        try:
            return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%b %d %Y %H:%M:%S", "%Y-%m-%d"):
        try:
            stamp = datetime.datetime.strptime(text, fmt)
            return stamp.replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None


