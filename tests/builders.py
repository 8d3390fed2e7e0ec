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
        path.write_bytes(content)
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
