"""The catalog version: one counter that moves on every catalog or context change.

Per-process caches (records, server info) are keyed by it, so a change made
by any process (a command, a job, another web worker) is seen by all.
"""

from __future__ import annotations

from django.db.models import F

from .models import CatalogVersion


def current() -> int:
    row = CatalogVersion.objects.filter(pk=1).values_list("counter", flat=True).first()
    return row or 0


def bump() -> int:
    """Move the version on; call inside the transaction that changed the catalog."""
    if not CatalogVersion.objects.filter(pk=1).update(counter=F("counter") + 1):
        CatalogVersion.objects.get_or_create(pk=1, defaults={"counter": 1})
    return current()
