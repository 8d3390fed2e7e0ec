"""jpoll methods: how `crds submit --monitor-processing` follows a submission (contract §5.8)."""

from __future__ import annotations

from typing import Any

from crds_server.jobs import jpoll
from crds_server.rpc.registry import InvalidParameters, method

from .common import check_string


@method
def jpoll_pull_messages(key: str, since_id: Any = "0") -> list[dict[str, Any]]:
    """Messages of status channel `key` with ids above `since_id` (a string of an integer), in order.

    Each is `{"id", "type", "data", "time"}`; the last one of a job has type
    `done` and data `{"status": 0|1|3, "result": url}`.  An unknown key is the
    error "ChannelNotFound: Channel '<key>' not found." (the client waits and polls again).
    """
    return jpoll.pull(check_string(key, "key", 128), _since_id(since_id))


@method
def jpoll_abort(key: str) -> bool:
    """Ask the job writing to status channel `key` to stop at its next message."""
    return jpoll.abort(check_string(key, "key", 128))


def _since_id(value: Any) -> Any:
    """Refuse numbers no database integer holds; jpoll reads anything unparsable as 0."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return value
    if abs(number) >= 2**63:
        raise InvalidParameters(f"since_id must be a message id below 2**63; got {str(value)[:40]}.")
    return value
