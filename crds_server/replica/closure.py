"""Which files to fetch: everything the source serves, or the closure of some contexts.

For the closure, contexts are fetched level by level (.pmap, then their
.imap, then their .rmap, then their references), each level read with the
`crds` library from the verified files already in the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crds.core import config as crds_config
from crds.core import rmap
from django.conf import settings

from . import fetch
from .errors import ReplicaError
from .source import Source

GEIS_HEADER_SUFFIXES = (".r0h", ".r1h", ".r2h", ".r3h", ".r4h", ".r5h", ".r6h", ".r7h", ".r8h", ".r9h")


class Fetcher:
    """Fetches named files of one source into this store, counting what it downloaded."""

    def __init__(self, source: Source, info: dict[str, Any], catalog: dict[str, dict],
                 local: dict[str, dict[str, str]], workers: int, progress: bool) -> None:
        self.source, self.info, self.catalog, self.local = source, info, catalog, local
        self.metadata: dict[str, Any] = info["download_metadata"]
        self.workers, self.progress = workers, progress
        self.files = self.bytes = 0
        self.urls = {kind: source.download_url(info, kind, "") for kind in ("mapping", "reference")}

    def fetch_everything(self) -> set[str]:
        """Every file the source serves (its download metadata) that it also catalogues."""
        names = {n for n in self.metadata if n in self.catalog}
        self.fetch(names)
        return set(self.catalog)

    def fetch_closure(self, roots: set[str]) -> set[str]:
        """The contexts `roots` and every file they name, fetched level by level."""
        found: set[str] = set()
        level = set(roots)
        while level:
            level = {fetch.check_name(n) for n in level} - found
            self.fetch(level)
            found |= level
            level = {child for name in level for child in self._children(name)}
        return found

    def _children(self, name: str) -> list[str]:
        path = self._path(name)
        if not crds_config.is_mapping(name) or not path.exists():
            return []
        try:
            if name.endswith(".rmap"):
                refs = rmap.ReferenceMapping.from_file(str(path)).reference_names()
                partners = [r[:-1] + "d" for r in refs if r.endswith(GEIS_HEADER_SUFFIXES)]
                return [r for r in refs + partners if r in self.catalog]
            selector = rmap.Mapping.from_file(str(path)).selector
        except Exception as exc:  # the library's syntax and checksum errors
            raise ReplicaError(f"{name} from the source cannot be read by the rules library: {exc}") from exc
        # Keys in lower case, the last spelling winning, as the library's MappingSelectionsDict reads them.
        children = {str(key).lower(): value for key, value in selector.items()}.values()
        return [v for v in children if isinstance(v, str) and crds_config.is_mapping(v)]

    def fetch(self, names: set[str]) -> None:
        todo = [item for item in map(self._wanted, sorted(names)) if item is not None
                and not fetch.present(item, self._trusted(item.name))]
        if not todo:
            return
        bar = _bar(len(todo), self.progress)
        try:
            self.bytes += fetch.fetch_all(todo, workers=self.workers, timeout=self.source.timeout,
                                          tick=lambda _item: bar.update(1) if bar else None)
        finally:
            if bar:
                bar.close()
        self.files += len(todo)

    def _wanted(self, name: str) -> fetch.Wanted | None:
        meta = self.metadata.get(name)
        if not isinstance(meta, dict):
            return None  # catalogued but not served (e.g. archiving failed): the row only
        kind = "mapping" if crds_config.is_mapping(name) else "reference"
        size = str(meta.get("size", ""))
        if not size.isdigit():
            raise ReplicaError(f"The source announces {name} with size {size[:20]!r}.")
        sha1 = str(meta.get("sha1sum") or "").lower()
        return fetch.Wanted(name, self.urls[kind] + name, self._path(name), int(size),
                            "" if sha1 == "none" else sha1)

    def _path(self, name: str) -> Path:
        sub = "mappings" if crds_config.is_mapping(name) else "references"
        return settings.FILE_CACHE / sub / settings.OBSERVATORY / name

    def _trusted(self, name: str) -> str:
        """The sha1 this server's catalog already records for `name` ('' when not catalogued)."""
        sha1 = self.local.get(name, {}).get("sha1sum", "")
        return "" if sha1 in ("", "none") else sha1


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="downloads", unit=" files")
