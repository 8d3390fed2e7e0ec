"""Status channels (jpoll): open, write, pull, abort.

Every background job that reports to a client writes here; every path of a
job, failures included, must end with :func:`done`.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from .errors import ChannelNotFound, JobAborted
from .models import Channel, Message

ABORT_TEXT = "External agent requested calling process termination."
DONE_OK, DONE_FAILED, DONE_CANCELLED = 0, 1, 3


def open_channel(session_key: str, user: str) -> str:
    """A new channel tied to a web session; returns its key."""
    key = f"{secrets.token_hex(8)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(8)}"
    Channel.objects.create(key=key, session_key=session_key, user=user)
    return key


def session_channel(session_key: str) -> str:
    """The newest open channel of a session, or '' (the submission POST names none)."""
    row = (Channel.objects.filter(session_key=session_key, done=False)
           .order_by("-created", "-id").first())
    return row.key if row else ""


def _channel(key: str) -> Channel:
    row = Channel.objects.filter(key=key).first() if isinstance(key, str) else None
    if row is None:
        raise ChannelNotFound(f"Channel '{key}' not found.")
    return row


def log(key: str, text: str, kind: str = "log_message") -> None:
    """Write one progress line (kinds: log_message, warning, error, verbose)."""
    if not key:
        return
    channel = _channel(key)
    if channel.aborted:
        raise JobAborted(ABORT_TEXT)
    Message.objects.create(channel=channel, type=kind, data=str(text))


def done(key: str, status: int, result: str) -> None:
    """The last message of a channel: status 0 completed, 1 failed, 3 cancelled."""
    if not key:
        return
    with transaction.atomic():
        channel = _channel(key)
        Message.objects.create(channel=channel, type="done", data={"status": status, "result": str(result)})
        Channel.objects.filter(pk=channel.pk).update(done=True)


def pull(key: str, since_id: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Messages of channel `key` with ids greater than `since_id`, in order (the first
    `limit` of them when given, so a web page can read a long log in pages)."""
    channel = _channel(key)
    try:
        since = int(since_id or 0)
    except (TypeError, ValueError):
        since = 0
    rows = channel.messages.filter(id__gt=since)
    if limit is not None:
        rows = rows[:limit]
    return [
        {"id": m.id, "type": m.type, "data": m.data, "time": m.time.strftime("%Y-%m-%d %H:%M:%S")}
        for m in rows
    ]


def abort(key: str) -> bool:
    """Ask the job writing to `key` to stop at its next message."""
    return Channel.objects.filter(key=_channel(key).key).update(aborted=True) == 1
