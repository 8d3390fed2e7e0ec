"""Loaded `crds` mappings, kept per process in a bounded LRU.

Loading a full HST context parses ~116 rules files (about a second); a
pickled context loads several times faster.  Each process loads a context
once and keeps the most recently used few.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from crds.core import config as crds_config
from crds.core import heavy_client, rmap
from django.conf import settings

from .errors import UnknownContextError

_lock = threading.Lock()
_loaded: OrderedDict[str, Any] = OrderedDict()


def get_mapping(name: str) -> Any:
    """Return the loaded `crds` mapping `name` (.pmap, .imap or .rmap)."""
    if not crds_config.is_mapping(name):
        raise UnknownContextError(f"'{name}' is not a CRDS mapping name.")
    with _lock:
        if name in _loaded:
            _loaded.move_to_end(name)
            return _loaded[name]
    mapping = _load(name)
    with _lock:
        _loaded[name] = mapping
        _loaded.move_to_end(name)
        while len(_loaded) > settings.CONTEXT_CACHE_SIZE:
            _loaded.popitem(last=False)
    return mapping


def _load(name: str) -> Any:
    path = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
    if not path.exists():
        raise UnknownContextError(f"Unknown context or mapping '{name}'.")
    try:
        if name.endswith(".pmap"):
            drop_stale_pickle(name)
            mapping = heavy_client.get_pickled_mapping.uncached(
                name, cached=False, use_pickles=True, save_pickles=True
            )
            if checksum(mapping) != checksum(rmap.Mapping.from_file(str(path), ignore_checksum=True)):
                _pickle(name).unlink(missing_ok=True)  # a pickle of other rules under this name
                mapping = heavy_client.get_pickled_mapping.uncached(
                    name, cached=False, use_pickles=False, save_pickles=True
                )
            return mapping
        return rmap.load_mapping(name)
    except Exception as exc:
        raise UnknownContextError(f"Mapping '{name}' could not be loaded: {exc}") from exc


def _pickle(name: str):
    return settings.FILE_CACHE / "pickles" / settings.OBSERVATORY / f"{name}.pkl"


def checksum(mapping: Any) -> str:
    """The sha1sum a loaded mapping's header records ('' if none)."""
    return str(mapping.header.get("sha1sum", ""))


def drop_stale_pickle(name: str) -> None:
    """A pickle older than its .pmap (a name reused after a restore) must not be loaded or served;
    `_load` also checks the loaded rules' checksum against the file's, whatever the times say."""
    pickle = _pickle(name)
    path = settings.FILE_CACHE / "mappings" / settings.OBSERVATORY / name
    try:
        if pickle.stat().st_mtime < path.stat().st_mtime:
            pickle.unlink()
    except FileNotFoundError:
        pass


def reference_path(name: str):
    """Where reference `name` lives in the file store."""
    return settings.FILE_CACHE / "references" / settings.OBSERVATORY / name


def forget(name: str | None = None) -> None:
    """Drop one loaded mapping, or all of them (after a restore)."""
    with _lock:
        if name is None:
            _loaded.clear()
        else:
            _loaded.pop(name, None)
