"""What a client's CRDS cache records about the server it was synced from.

`crds sync` writes, under ``config/<obs>/`` (contract §3.4, §4.4):

- ``server_config``: the server's `get_server_info` answer, as a Python
  literal: the latest, edit, versions and build contexts, the bad files,
  the context history (newest first), and every file's size and sha1sum;
- ``bad_files.txt``: the bad files again, one per line;
- ``ref_cache_subdir_mode``: ``flat`` or ``instrument`` (references under
  ``references/<obs>/<instrument>/``);
- ``crds_db.sqlite3`` (``crds sync --fetch-sqlite-db``): the server's whole
  catalog and context history as tables.

Everything is read and checked here before the importer changes anything;
a file that cannot be read is an ImportRefused naming it.
"""

from __future__ import annotations

import ast
import datetime
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crds.client import proxy
from crds.core import config as crds_config

from . import records
from .errors import ImportRefused

POINTERS = ("latest", "edit", "versions")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
_MAX_CONFIG_BYTES = 512 * 1024 * 1024


@dataclass
class CacheState:
    """The source server's state as the cache carries it (empty when it carries none)."""

    found: bool = False
    server: str = ""
    last_synced: datetime.datetime | None = None
    pointers: dict[str, str] = field(default_factory=dict)
    build: str = ""
    bad: set[str] = field(default_factory=set)
    history: list[tuple[datetime.datetime, str, str]] = field(default_factory=list)  # oldest first
    metadata: dict[str, tuple[int, str]] = field(default_factory=dict)  # name: (size, sha1sum or "")
    subdir_mode: str = ""
    catalog: dict[str, dict[str, Any]] | None = None  # crds_db.sqlite3 rows, wire form, by name


def read(cache_dir: Path, observatory: str) -> CacheState:
    """The state under `cache_dir`/config/`observatory`; `found` False without a server_config."""
    where = Path(cache_dir) / "config" / observatory
    state = CacheState(subdir_mode=_subdir_mode(where))
    config_path = where / "server_config"
    if config_path.is_file():
        _server_config(_literal(config_path), state, observatory, config_path)
    bad_list = where / "bad_files.txt"
    if bad_list.is_file():
        state.bad |= {_name(line.strip(), bad_list) for line in _text(bad_list).splitlines() if line.strip()}
    db = where / "crds_db.sqlite3"
    if db.is_file():
        state.catalog, sqlite_history = _sqlite(db, observatory)
        if not state.history:
            state.history = sqlite_history
    return state


def _text(path: Path) -> str:
    if path.stat().st_size > _MAX_CONFIG_BYTES:
        raise ImportRefused(f"{path} is larger than {_MAX_CONFIG_BYTES} bytes: not a CRDS cache file.")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"{path} cannot be read: {exc}") from exc


def _literal(path: Path) -> dict[str, Any]:
    try:
        info = ast.literal_eval(_text(path))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ImportRefused(f"{path} is not the Python literal the crds client writes: {exc}") from exc
    if not isinstance(info, dict):
        raise ImportRefused(f"{path} does not hold a dictionary of server information.")
    return info


def _server_config(info: dict[str, Any], state: CacheState, observatory: str, path: Path) -> None:
    if info.get("observatory") != observatory:
        raise ImportRefused(f"{path} is the configuration of observatory "
                            f"'{info.get('observatory')}', not '{observatory}'.")
    state.found = True
    state.server = str(info.get("server") or "")[:512]
    state.last_synced = records.parse_wire_date(str(info.get("last_synced") or ""))
    latest = info.get("latest_context") or info.get("operational_context") or ""
    state.pointers = {kind: _context(info.get(f"{kind}_context") or "", path) for kind in POINTERS}
    state.pointers["latest"] = _context(latest, path)
    state.build = _context(info.get("build_context") or "", path)
    bad = info.get("bad_files_list") or []
    if not isinstance(bad, list):
        raise ImportRefused(f"{path}: bad_files_list is not a list.")
    state.bad = {_name(str(name), path) for name in bad}
    state.history = _history(info.get("context_history") or [], path)
    state.metadata = _metadata(info.get("download_metadata"), path)


def _context(value: Any, path: Path) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or not crds_config.is_mapping(value) or not _NAME_RE.match(value):
        raise ImportRefused(f"{path} names a context {str(value)[:80]!r} that is not a mapping name.")
    return value


def _name(value: str, path: Path) -> str:
    if not _NAME_RE.match(value):
        raise ImportRefused(f"{path} lists a file name {value[:80]!r} that is not a CRDS name.")
    return value


def _history(rows: Any, path: Path) -> list[tuple[datetime.datetime, str, str]]:
    """The history oldest first (the client stores it newest first, contract §3.1)."""
    if not isinstance(rows, list):
        raise ImportRefused(f"{path}: context_history is not a list.")
    found = []
    for row in reversed(rows):  # oldest first; entries of the same second keep their order
        if not isinstance(row, (list, tuple)) or len(row) < 2:
            raise ImportRefused(f"{path}: a context_history entry is not [date, context, description].")
        stamp = records.parse_wire_date(str(row[0]))
        if stamp is None:
            raise ImportRefused(f"{path}: context_history has an unreadable date {str(row[0])[:40]!r}.")
        description = str(row[2]) if len(row) > 2 and row[2] is not None else ""
        found.append((stamp, _context(row[1], path), description))
    return sorted(found, key=lambda era: era[0])


def _metadata(encoded: Any, path: Path) -> dict[str, tuple[int, str]]:
    if encoded is None:
        return {}
    try:
        metadata = proxy.crds_decode(encoded)
    except Exception as exc:  # the library's decoder raises whatever zlib/base64/json raise
        raise ImportRefused(f"{path}: download_metadata cannot be decoded: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ImportRefused(f"{path}: download_metadata is not a map of files.")
    found = {}
    for name, entry in metadata.items():
        size = str(entry.get("size", "")) if isinstance(entry, dict) else ""
        sha1 = str(entry.get("sha1sum", "")).lower() if isinstance(entry, dict) else ""
        if not size.isdigit():
            raise ImportRefused(f"{path}: download_metadata gives {str(name)[:80]!r} no size.")
        found[_name(str(name), path)] = (int(size), "" if sha1 in ("", "none") else sha1)
    return found


def _subdir_mode(where: Path) -> str:
    path = where / crds_config.CRDS_SUBDIR_TAG_FILE
    if not path.is_file():
        return ""
    mode = _text(path).strip()
    if mode not in crds_config.CRDS_REF_SUBDIR_MODES:
        raise ImportRefused(f"{path} names an unknown reference layout {mode[:40]!r}.")
    return mode


def _sqlite(path: Path, observatory: str) -> tuple[dict[str, dict[str, Any]],
                                                   list[tuple[datetime.datetime, str, str]]]:
    """The catalog rows and history of a `crds_db.sqlite3`, opened read-only."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ImportRefused(f"{path} cannot be opened as SQLite: {exc}") from exc
    try:
        db.row_factory = sqlite3.Row
        catalog = {}
        for row in db.execute(f"SELECT * FROM crds_{observatory}_catalog"):
            record = dict(row)
            catalog[_name(str(record.get("name") or ""), path)] = record
        history = []
        for row in db.execute(f"SELECT * FROM crds_{observatory}_context_history ORDER BY start_date, id"):
            record = dict(row)
            stamp = records.parse_wire_date(str(record.get("start_date") or ""))
            if stamp is None:
                raise ImportRefused(f"{path}: the context history has an unreadable date.")
            history.append((stamp, _context(record.get("context") or "", path),
                            str(record.get("description") or "")))
    except sqlite3.Error as exc:
        raise ImportRefused(f"{path} is not the catalog database `crds sync --fetch-sqlite-db` "
                            f"writes: {exc}") from exc
    finally:
        db.close()
    return catalog, history
