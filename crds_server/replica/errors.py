"""Domain errors of the replica.  The class name leads every RPC error message."""

from __future__ import annotations


class ReplicaError(Exception):
    """The source cannot be replicated now (down, slow, or it answered wrongly)."""

