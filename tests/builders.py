"""A tiny catalog builder shared by the tests: real files, real rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.utils import timezone

from crds_server.catalog.models import File


class CatalogBuilder:
    """Creates catalogued files whose bytes live in the server's file store."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def add_file(self, name: str, content: bytes = b"reference bytes", **fields) -> File:
        is_mapping = name.endswith((".pmap", ".imap", ".rmap"))
        kind = File.MAPPING if is_mapping else File.REFERENCE
        obs = fields.pop("observatory", self.settings.OBSERVATORY)
        path = Path(self.settings.FILE_CACHE) / ("mappings" if is_mapping else "references") / obs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write through a new inode, as the server does: store files may be
        # hard links to an imported cache, which an in-place write would change.
        temp = path.with_name(f".tmp-{name}")
        temp.write_bytes(content)
        temp.replace(path)
        defaults = dict(
            type=kind,
            observatory=obs,
            state="archived",
            size=len(content),
            sha1sum=hashlib.sha1(content).hexdigest(),
            delivery_date=timezone.now(),
        )
        defaults.update(fields)
        row, _ = File.objects.update_or_create(name=name, defaults=defaults)
        return row

    def add_derived_mapping(self, source: str, name: str, selections: dict | None = None,
                            header: dict | None = None, **fields) -> File:
        """Catalog `name`: a copy of the mapping `source` in the file store under a new name.

        `selections` and `header` update the copy's .pmap/.imap selector and
        header; `derived_from` is `source` and the sha1sum is the one the crds
        library computes, so the copy loads like any mapping.  The library
        caches loaded mappings by name: give different contents different names.
        """
        from crds.core import rmap

        store = Path(self.settings.FILE_CACHE) / "mappings" / self.settings.OBSERVATORY
        mapping = rmap.Mapping.from_file(str(store / source), ignore_checksum=True)
        for key, value in dict(header or {}, name=name, derived_from=source).items():
            mapping.header[key] = value
        for key, value in (selections or {}).items():
            mapping.selector[key] = value
        mapping.write(str(store / name))
        return self.add_file(name, (store / name).read_bytes(), **fields)
