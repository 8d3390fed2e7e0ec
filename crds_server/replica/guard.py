"""Is this server a replica?  Read by the actions a replica refuses (submissions, context changes).

Imports nothing but settings and this app's model, so `catalog` and
`submissions` can call it without an import cycle.
"""

from __future__ import annotations

from django.conf import settings

from .models import ReplicaState


def source() -> str:
    """The URL of the server this one replicates ('' when it is not a replica).

    Configured (`CRDS_SERVER_REPLICA_OF`) or recorded by a first `crds-server replicate`.
    """
    if settings.REPLICA_OF:
        return settings.REPLICA_OF
    return ReplicaState.objects.values_list("source", flat=True).first() or ""


def refuse_if_replica(error: type[Exception]) -> None:
    """Raise `error` (a domain error class) naming the source when this server is a replica."""
    url = source()
    if url:
        raise error(f"This server is a read-only replica of {url}: make submissions and "
                    f"context changes on {url}; they reach this replica at its next catch-up.")
