"""The job log: status channels (jpoll) and their messages.

A channel is opened by a web session before it submits; the background job
that processes the submission writes progress lines to it, and the client
reads them with the `jpoll_pull_messages` RPC (no session needed: the key is
the secret).  The web page and the e-mails read the same log.
"""

from __future__ import annotations

from django.db import models


class Channel(models.Model):
    """One status channel: a key tied to the web session that opened it."""

    key = models.CharField(max_length=128, unique=True)
    session_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    user = models.CharField(max_length=150, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    aborted = models.BooleanField(default=False)
    done = models.BooleanField(default=False)


class Message(models.Model):
    """One message on a channel; ids increase strictly, so clients poll with `since_id`."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    type = models.CharField(max_length=32)
    data = models.JSONField()
    time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Lease(models.Model):
    """A lock that expires: held by `holder` until `expires`, renewed while its work runs.

    A consumer killed with its lease held blocks the work only until `expires`.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=64, blank=True, default="")
    expires = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.holder or 'free'})"


class Tick(models.Model):
    """The last schedule tick of one periodic task that some consumer's scheduler enqueued."""

    name = models.CharField(max_length=200, unique=True)
    last = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last:%Y-%m-%d %H:%M}"
